//! `GET /payment-status?order_no=…` — Server-Sent Events.
//!
//! * Each status event is `id: <version>` + `data: <status body>` (the
//!   default `message` event type).
//! * On connect the current status is sent at once, unless the request's
//!   `Last-Event-ID` equals the current version (an `EventSource` reconnect
//!   that already saw it); then nothing is sent until the next change.
//! * Every change is pushed as it happens (`watch` channel, no polling).
//! * A heartbeat goes out after `--heartbeat-ms` of silence: one block with
//!   a `: heartbeat` comment (for proxies and older clients) and an
//!   `event: heartbeat` whose data is `{"heartbeat_ms":N}`. Browsers hide
//!   comments from scripts but deliver named events, so the client can tell
//!   a live connection from a silently dead one; an `EventSource` that only
//!   listens for `message` events never sees it.
//! * After a final status (paid/closed/expired) the stream stays open and
//!   idle but for heartbeats; the client is expected to close it. It ends
//!   when the client goes away or the server shuts down.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream::{self, Stream};
use serde::Deserialize;
use tokio::sync::{broadcast, watch};

use crate::error::ApiError;
use crate::hooks::{Control, Gauge, GaugeKind};
use crate::metrics::{Metrics, Transport, Waiting};
use crate::store::{now_ms, Snapshot};
use crate::{wait_shutdown, AppState};

#[derive(Deserialize)]
pub struct Params {
    order_no: Option<String>,
    /// The order's watch token (`--watch-secret-file`).
    token: Option<String>,
}

pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (order_no, token) = match query {
        Ok(Query(Params {
            order_no: Some(no),
            token,
        })) if !no.is_empty() => (no, token),
        Ok(_) => return ApiError::bad_request("missing order_no").into_response(),
        Err(_) => return ApiError::bad_request("bad query").into_response(),
    };
    if let Err(e) = super::check_order_no(&order_no) {
        return e.into_response();
    }
    if let Err(e) = state.may_watch(&order_no, token.as_deref()) {
        return e.into_response();
    }
    let last_event_id = headers
        .get("last-event-id")
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());

    let mut control = None;
    let mut gauge = None;
    if let Some(hooks) = &state.hooks {
        match hooks.push_connect(&order_no, Some(last_event_id.as_deref())) {
            Some(rx) => control = Some(rx),
            None => {
                return ApiError::Unavailable("refused").into_response();
            }
        }
    }
    let rx = match state.store.subscribe(&order_no).await {
        Ok(Some(rx)) => rx,
        Ok(None) => return ApiError::unknown_order().into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    if let Some(hooks) = &state.hooks {
        gauge = Some(hooks.gauge(&order_no, GaugeKind::SseOpen));
    }

    let behavior = state
        .hooks
        .as_ref()
        .map(|h| h.behavior(&order_no))
        .unwrap_or_default();
    let current = rx.borrow().version.to_string();
    let skip_initial = last_event_id.as_deref().map(str::trim) == Some(current.as_str());
    let events = events(EventState {
        rx,
        initial: !skip_initial && !behavior.changes_only,
        heartbeat: (!behavior.no_heartbeat).then_some(state.config.heartbeat),
        control,
        shutdown: state.shutdown.clone(),
        _gauge: gauge,
        _waiting: state.metrics.waiting(Transport::Sse),
        metrics: state.metrics.clone(),
    });
    let mut res = Sse::new(events).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
    res
}

struct EventState {
    rx: watch::Receiver<Snapshot>,
    /// Send the current status before waiting for changes.
    initial: bool,
    /// Gap of silence after which a heartbeat goes out; `None`: never.
    heartbeat: Option<Duration>,
    /// Test-hook control (drop / push), `None` without `--test-hooks`.
    control: Option<broadcast::Receiver<Control>>,
    shutdown: watch::Receiver<bool>,
    /// Holds `sse_open` up while the stream lives.
    _gauge: Option<Gauge>,
    /// Holds `paywatch_waiters{transport="sse"}` up while the stream lives.
    _waiting: Waiting,
    metrics: Arc<Metrics>,
}

fn status_event(s: &Snapshot) -> Event {
    Event::default()
        .id(s.version.to_string())
        .data(s.body_text())
}

fn heartbeat_event(every: Duration) -> Event {
    Event::default()
        .comment("heartbeat")
        .event("heartbeat")
        .data(heartbeat_body(every).to_string())
}

/// The data of an application heartbeat (SSE `event: heartbeat`, WebSocket
/// text frame): `{"heartbeat_ms":N}`, so a client can size its liveness
/// deadline from the server's own interval.
pub(crate) fn heartbeat_body(every: Duration) -> serde_json::Value {
    serde_json::json!({ "heartbeat_ms": every.as_millis() as u64 })
}

/// The event stream. It ends (and the response body with it) on a test-hook
/// drop, on server shutdown, or when the order disappears.
fn events(state: EventState) -> impl Stream<Item = Result<Event, Infallible>> {
    stream::unfold(state, |mut st| async move {
        if std::mem::take(&mut st.initial) {
            let event = status_event(&st.rx.borrow_and_update());
            return Some((Ok(event), st));
        }
        let silence = async {
            match st.heartbeat {
                Some(every) => tokio::time::sleep(every).await,
                None => std::future::pending().await,
            }
        };
        let event = tokio::select! {
            changed = st.rx.changed() => {
                changed.ok()?;
                let now = st.rx.borrow_and_update();
                st.metrics.told(now.details.paid_at, now_ms());
                status_event(&now)
            }
            msg = recv_control(&mut st.control) => match msg {
                Some(Control::Push(text)) => Event::default().data(text),
                Some(Control::Blackhole) => {
                    // Silent but open until the client or the server ends it.
                    wait_shutdown(&mut st.shutdown).await;
                    return None;
                }
                Some(Control::Drop) | None => return None,
            },
            () = silence => heartbeat_event(st.heartbeat.unwrap_or_default()),
            _ = wait_shutdown(&mut st.shutdown) => return None,
        };
        Some((Ok(event), st))
    })
}

/// Next control message; pends forever without test hooks. `None` means the
/// channel is gone.
pub(crate) async fn recv_control(
    control: &mut Option<broadcast::Receiver<Control>>,
) -> Option<Control> {
    let Some(rx) = control else {
        return std::future::pending().await;
    };
    loop {
        match rx.recv().await {
            Ok(msg) => return Some(msg),
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return None,
        }
    }
}
