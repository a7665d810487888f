//! One HTTP GET with a deadline. The fetch is aborted (AbortController) when
//! the deadline passes or when the future is dropped, so a stopped watch
//! leaves no request behind.

use super::sleep_ms;
use futures::{select, FutureExt};
use gloo_net::http::Request;
use web_sys::{AbortController, RequestCache};

/// Aborts its fetch when dropped; a no-op once the fetch has finished.
struct AbortOnDrop(AbortController);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The status code and body text of `url`, or why there is none.
pub async fn get_text(url: &str, deadline_ms: u32) -> Result<(u16, String), String> {
    let abort = AbortOnDrop(AbortController::new().map_err(|e| crate::hooks::describe(&e))?);
    let signal = abort.0.signal();
    let fetch = async {
        let response = Request::get(url)
            .abort_signal(Some(&signal))
            .cache(RequestCache::NoStore)
            .send()
            .await
            .map_err(|e| format!("status check failed: {e}"))?;
        let code = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| format!("status answer could not be read: {e}"))?;
        Ok((code, text))
    };
    select! {
        answer = fetch.fuse() => answer,
        _ = sleep_ms(deadline_ms).fuse() => {
            Err(format!("status check took longer than {deadline_ms} ms and was aborted"))
        }
    }
}
