//! One HTTP GET, through gloo-net's `Request` and `Response`. The fetch is
//! aborted (an `AbortController` this module owns) when its future is
//! dropped: when the check's deadline passes ([`super::Ctx::check`] races
//! it), or when the watch stops, so a stopped watch leaves no request
//! behind.
//!
//! The request is made from a `web_sys::Request` rather than gloo-net's
//! `RequestBuilder`: the builder re-reads the URL and appends its own query
//! after an `&`, so a URL that has a query already (ours always has) gets a
//! stray `&` at the end; and the order number must be encoded as
//! `encodeURIComponent` does (`%20`, not the builder's `+`).
//!
//! A response cut mid-body (a proxy or load balancer killing a held
//! long-poll) is a failed check in every engine. Chromium and Firefox reject
//! `text()`; WebKit does too when the response declared a `Content-Length`,
//! but resolves a cut chunked response with the bytes that arrived, so a JSON
//! text that ends with a bracket still open counts as cut here as well.

use super::{because, num_in};
use crate::display::concat;
use crate::status::is_cut_json;
use crate::web::hooks::describe;
use crate::web::js::{get, set};
use gloo_net::http::Request;
use web_sys::{AbortController, RequestInit};

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

/// The answer of `url`, or why there is none. The caller races it against
/// its deadline; dropping it aborts the fetch.
pub async fn get_text(url: &str) -> Result<Answer, String> {
    let failed = "status check failed: ";
    let abort = AbortOnDrop(AbortController::new().map_err(|e| describe(&e))?);
    let init = RequestInit::new();
    // Read and set as plain properties: web-sys's accessors would each link
    // a glue function (and the cache one a table of every cache mode).
    set(&init, "signal", &get(&abort.0, "signal"));
    set(&init, "cache", &"no-store".into());
    let request = web_sys::Request::new_with_str_and_init(url, &init)
        .map(Request::from)
        .map_err(|e| concat(&[failed, &describe(&e)]))?;
    // gloo-net's errors read like `String(error)`: `TypeError: Failed to fetch`.
    let response = request.send().await.map_err(|e| because(failed, &e))?;
    let code = response.status();
    let retry_after = match code {
        429 | 503 => response.headers().get("retry-after"),
        _ => None,
    };
    let text = response
        .text()
        .await
        .map_err(|e| because("status answer could not be read: ", &e))?;
    if is_cut_json(&text) {
        let why = "status check failed: the answer was cut off after ";
        return Err(num_in(why, text.len() as u32, " bytes"));
    }
    Ok(Answer {
        status: code,
        text,
        retry_after,
    })
}
