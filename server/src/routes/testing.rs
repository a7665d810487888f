//! `/_test/…` routes, mounted only with `--test-hooks`. They let the
//! client's test suite observe the server (stats) and misbehave on purpose
//! (delays, bad answers, dropped or refused push connections, foreign
//! frames). Never enable them in production.

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use super::OrderNo;
use crate::error::ApiError;
use crate::hooks::{BehaviorPatch, Control, Hooks};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orders/{no}/stats", get(stats))
        .route("/orders/{no}/behavior", post(behavior))
        .route("/orders/{no}/drop", post(drop_streams))
        .route("/orders/{no}/blackhole", post(blackhole))
        .route("/orders/{no}/push", post(push))
        .route("/orders/{no}/expire", post(expire))
        .route("/hang", get(hang))
        .route("/orders/{no}/pay", post(pay))
        .route("/orders/{no}/close", post(close))
}

fn hooks(state: &AppState) -> &Hooks {
    // The router is only mounted when hooks exist.
    state.hooks.as_deref().expect("test hooks enabled")
}

/// `GET /_test/orders/{no}/stats`
async fn stats(State(state): State<AppState>, OrderNo(no): OrderNo) -> Response {
    Json(hooks(&state).stats_json(&no)).into_response()
}

/// `POST /_test/orders/{no}/behavior` with
/// `{"delay_ms","ignore_wait","fail_next","fail_kind","refuse_push",
/// "retry_after","changes_only","no_heartbeat"}` (all
/// optional; each given field replaces its setting) → `{}`.
async fn behavior(
    State(state): State<AppState>,
    OrderNo(no): OrderNo,
    body: Bytes,
) -> Result<Response, ApiError> {
    let patch: BehaviorPatch = if body.iter().all(u8::is_ascii_whitespace) {
        BehaviorPatch::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("bad behavior: {e}")))?
    };
    hooks(&state).patch_behavior(&no, patch);
    Ok(Json(json!({})).into_response())
}

/// `POST /_test/orders/{no}/drop` → `{"dropped": n}`: ends every open SSE
/// stream and closes every WebSocket subscribed to the order.
async fn drop_streams(State(state): State<AppState>, OrderNo(no): OrderNo) -> Response {
    let n = hooks(&state).control(&no, Control::Drop);
    Json(json!({ "dropped": n })).into_response()
}

/// `POST /_test/orders/{no}/blackhole` → `{"silenced": n}`: every open SSE
/// stream and WebSocket of the order goes silent (no status, heartbeat or
/// ping) but stays open, like a half-open TCP connection.
async fn blackhole(State(state): State<AppState>, OrderNo(no): OrderNo) -> Response {
    let n = hooks(&state).control(&no, Control::Blackhole);
    Json(json!({ "silenced": n })).into_response()
}

/// `POST /_test/orders/{no}/push` with a raw text body → `{"sent": n}`:
/// sends the text verbatim to every open subscription of the order.
async fn push(
    State(state): State<AppState>,
    OrderNo(no): OrderNo,
    body: Bytes,
) -> Result<Response, ApiError> {
    let text = String::from_utf8(body.to_vec())
        .map_err(|_| ApiError::bad_request("body must be UTF-8"))?;
    let n = hooks(&state).control(&no, Control::Push(text));
    Ok(Json(json!({ "sent": n })).into_response())
}

/// `GET /_test/hang`: never answers (until the server shuts down), like a
/// proxy that swallows a WebSocket upgrade. The client's connect deadline
/// must notice.
async fn hang(State(state): State<AppState>) -> Response {
    state.shutting_down().await;
    ApiError::Unavailable("shutting down").into_response()
}

/// `POST /_test/orders/{no}/expire` → status body: expires a pending order now.
async fn expire(State(state): State<AppState>, OrderNo(no): OrderNo) -> Result<Response, ApiError> {
    Ok(Json(
        super::orders::demo_set(&state, &no, crate::store::Status::Expired)
            .await?
            .body(),
    )
    .into_response())
}

/// `POST /_test/orders/{no}/pay` → status body: pays the order like the demo
/// endpoint does, for tests whose page is on another origin (the demo
/// endpoint answers same-origin requests only).
async fn pay(State(state): State<AppState>, OrderNo(no): OrderNo) -> Result<Response, ApiError> {
    Ok(Json(
        super::orders::demo_set(&state, &no, crate::store::Status::Paid)
            .await?
            .body(),
    )
    .into_response())
}

/// `POST /_test/orders/{no}/close` → status body.
async fn close(State(state): State<AppState>, OrderNo(no): OrderNo) -> Result<Response, ApiError> {
    Ok(Json(
        super::orders::demo_set(&state, &no, crate::store::Status::Closed)
            .await?
            .body(),
    )
    .into_response())
}
