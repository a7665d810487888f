//! `GET /pay?action=check_pay_status_by_order&order_no=…&t=…[&wait=N]`
//!
//! The one endpoint behind the `interval`, `poll` and `long-poll` strategies
//! (and the catch-up check the push strategies make on (re)connect).
//!
//! * no `wait` (or `wait=0`): answer the status body at once;
//! * `wait=N` (seconds, capped at 60): if the order is still pending, hold the
//!   request until its status changes — a `watch` channel wakes it the moment
//!   `pay`, `close` or the expiry timer runs — or until N seconds pass; then
//!   answer the current status body.
//!
//! Every answer carries `Cache-Control: no-store`.

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::ApiError;
use crate::hooks::{Control, FailKind, GaugeKind};
use crate::metrics::Transport;
use crate::store::{now_ms, wait_final};
use crate::AppState;
use tokio::sync::broadcast::error::RecvError;

/// The only `action` this endpoint knows.
pub const ACTION: &str = "check_pay_status_by_order";
/// Longest hold a client may ask for.
pub const MAX_WAIT_SEC: f64 = 60.0;

pub async fn check(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let mut res = answer(&state, raw.unwrap_or_default()).await;
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

struct Query {
    action: Option<String>,
    order_no: Option<String>,
    wait: Option<String>,
    /// The order's watch token (`--watch-secret-file`).
    token: Option<String>,
}

fn parse_query(raw: &str) -> Query {
    let mut q = Query {
        action: None,
        order_no: None,
        wait: None,
        token: None,
    };
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        let slot = match &*k {
            "action" => &mut q.action,
            "order_no" => &mut q.order_no,
            "wait" => &mut q.wait,
            "token" => &mut q.token,
            _ => continue,
        };
        // First occurrence wins.
        slot.get_or_insert_with(|| v.into_owned());
    }
    q
}

async fn answer(state: &AppState, raw: String) -> Response {
    let q = parse_query(&raw);
    match q.action.as_deref() {
        Some(ACTION) => {}
        Some(other) => {
            return ApiError::bad_request(format!("unknown action {other:?}")).into_response()
        }
        None => return ApiError::bad_request("missing action").into_response(),
    }
    let order_no = match q.order_no {
        Some(no) if !no.is_empty() => no,
        _ => return ApiError::bad_request("missing order_no").into_response(),
    };
    if let Err(e) = super::check_order_no(&order_no) {
        return e.into_response();
    }
    if let Err(e) = state.may_watch(&order_no, q.token.as_deref()) {
        return e.into_response();
    }
    let mut wait = match q.wait.as_deref().map(str::parse::<f64>) {
        None => 0.0,
        Some(Ok(w)) if w.is_finite() && w >= 0.0 => w.min(MAX_WAIT_SEC),
        Some(_) => {
            return ApiError::bad_request("wait must be a non-negative number of seconds")
                .into_response()
        }
    };

    // Test hooks: count the check, hold it in flight, maybe delay or fail it.
    let mut _in_flight = None;
    if let Some(hooks) = &state.hooks {
        let (gauge, behavior) = hooks.begin_check(&order_no, &raw);
        _in_flight = Some(gauge);
        if behavior.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(behavior.delay_ms)).await;
        }
        if let Some(kind) = hooks.take_failure(&order_no) {
            return injected_failure(kind, &behavior.retry_after);
        }
        if behavior.ignore_wait {
            wait = 0.0;
        }
    }

    let mut rx = match state.store.subscribe(&order_no).await {
        Ok(Some(rx)) => rx,
        Ok(None) => return ApiError::unknown_order().into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let pending = !rx.borrow().status.is_final();
    let held = wait > 0.0 && pending;
    if held {
        let _waiting = state
            .hooks
            .as_ref()
            .map(|h| h.gauge(&order_no, GaugeKind::LongPollWaiting));
        let _counted = state.metrics.waiting(Transport::LongPoll);
        let mut control = state.hooks.as_ref().map(|h| h.long_poll_control(&order_no));
        tokio::select! {
            _ = wait_final(&mut rx) => {
                state.metrics.told(rx.borrow().details.paid_at, now_ms());
            }
            _ = tokio::time::sleep(Duration::from_secs_f64(wait)) => {}
            _ = state.shutting_down() => {}
            () = dropped(control.as_mut()) => return cut_connection(),
        }
    }
    let snapshot = rx.borrow().clone();
    if held && !snapshot.status.is_final() && !state.store.healthy() {
        // Held through an outage of the store: "pending" might be stale.
        return ApiError::StoreUnavailable.into_response();
    }
    super::status_response(&snapshot)
}

fn injected_failure(kind: FailKind, retry_after: &str) -> Response {
    let busy = |code: StatusCode| {
        let mut res = (code, Json(json!({ "error": "injected failure" }))).into_response();
        if let Ok(v) = HeaderValue::from_str(retry_after) {
            if !retry_after.is_empty() {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        res
    };
    match kind {
        FailKind::TooMany => busy(StatusCode::TOO_MANY_REQUESTS),
        FailKind::Unavailable => busy(StatusCode::SERVICE_UNAVAILABLE),
        FailKind::ServerError => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({ "error": "injected failure" })),
        )
            .into_response(),
        FailKind::Html => (
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            "<html>oops</html>",
        )
            .into_response(),
        FailKind::NonJson => (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "not json",
        )
            .into_response(),
        FailKind::OtherJson => Json(json!({ "hello": "world" })).into_response(),
    }
}

/// Resolves when the test hook `POST /_test/orders/{no}/drop` fires; never
/// without `--test-hooks`.
async fn dropped(control: Option<&mut tokio::sync::broadcast::Receiver<Control>>) {
    let Some(control) = control else {
        return std::future::pending().await;
    };
    loop {
        match control.recv().await {
            Ok(Control::Drop) => return,
            Ok(Control::Push(_) | Control::Blackhole) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return std::future::pending().await,
        }
    }
}

/// A response cut mid-body, as when a proxy kills a held request: the
/// headers and one byte go out, then the body fails and hyper resets the
/// connection. (Failing before any byte would let the browser silently retry
/// the GET on a fresh connection, hiding the cut.)
fn cut_connection() -> Response {
    use futures_util::{stream, StreamExt};
    let head = stream::once(async { Ok(axum::body::Bytes::from_static(b"{")) });
    // A pause, so that hyper flushes the headers and the byte before failing.
    let cut = stream::once(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Err(std::io::Error::other("dropped by a test hook"))
    });
    axum::body::Body::from_stream(head.chain(cut)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_decoding() {
        let q = parse_query("action=check_pay_status_by_order&order_no=A%26B%20%231%2F%E6%B5%8B%E8%AF%95&t=1&wait=25");
        assert_eq!(q.action.as_deref(), Some(ACTION));
        assert_eq!(q.order_no.as_deref(), Some("A&B #1/测试"));
        assert_eq!(q.wait.as_deref(), Some("25"));
        let q = parse_query("order_no=a&order_no=b");
        assert_eq!(q.order_no.as_deref(), Some("a"));
        assert!(q.action.is_none());
    }
}
