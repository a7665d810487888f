//! One HTTP GET with a deadline. The fetch is aborted (AbortController) when
//! the deadline passes or when the future is dropped, so a stopped watch
//! leaves no request behind.
//!
//! A response cut mid-body (a proxy or load balancer killing a held
//! long-poll) is a failed check in every engine. Chromium and Firefox reject
//! `text()`; WebKit does too when the response declared a `Content-Length`,
//! but resolves a cut chunked response with the bytes that arrived, so a JSON
//! text that ends with a bracket still open counts as cut here as well.

use super::sleep_ms;
use crate::hooks::describe;
use crate::status::is_cut_json;
use futures::{select, FutureExt};
use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, RequestCache, RequestInit, Response};

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`: the same function on a window and in a worker.
    #[wasm_bindgen(js_name = fetch)]
    fn fetch_with_init(url: &str, init: &RequestInit) -> Promise;
}

/// Aborts its fetch when dropped; a no-op once the fetch has finished.
struct AbortOnDrop(AbortController);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One HTTP answer.
pub struct Answer {
    pub status: u16,
    pub text: String,
    /// The `Retry-After` header of a 429 or 503.
    pub retry_after: Option<String>,
}

/// The answer of `url`, or why there is none.
pub async fn get_text(url: &str, deadline_ms: u32) -> Result<Answer, String> {
    let abort = AbortOnDrop(AbortController::new().map_err(|e| describe(&e))?);
    let init = RequestInit::new();
    init.set_signal(Some(&abort.0.signal()));
    init.set_cache(RequestCache::NoStore);
    let fetch = async {
        let response: Response = JsFuture::from(fetch_with_init(url, &init))
            .await
            .map_err(|e| format!("status check failed: {}", error_text(&e)))?
            .unchecked_into();
        let code = response.status();
        let retry_after = match code {
            429 | 503 => response.headers().get("retry-after").ok().flatten(),
            _ => None,
        };
        let text = match response.text() {
            Ok(promise) => JsFuture::from(promise).await,
            Err(e) => Err(e),
        }
        .map_err(|e| format!("status answer could not be read: {}", error_text(&e)))?
        .as_string()
        .unwrap_or_default();
        if is_cut_json(&text) {
            return Err(format!(
                "status check failed: the answer was cut off after {} bytes",
                text.len()
            ));
        }
        Ok(Answer {
            status: code,
            text,
            retry_after,
        })
    };
    select! {
        answer = fetch.fuse() => answer,
        _ = sleep_ms(deadline_ms).fuse() => {
            Err(format!("status check took longer than {deadline_ms} ms and was aborted"))
        }
    }
}

/// A rejection as `String(error)`, e.g. `TypeError: Failed to fetch`.
fn error_text(e: &JsValue) -> String {
    match e.dyn_ref::<js_sys::Error>() {
        Some(err) => err.to_string().into(),
        None => describe(e),
    }
}
