//! `/api`: the shop's backend tells paywatch-server about its orders
//! (CONTRACT §5), with a Bearer key from `--api-key-file` or
//! `PAYWATCH_API_KEYS`.
//!
//! * `POST /api/orders` `{order_no?, ttl_ms?, amount?}` → `201`, or `200`
//!   for the same order again, or `409` for the same number with other fields;
//!   with `--watch-secret-file` the answer carries the order's `watch_token`;
//! * `PUT /api/orders/{no}/status` `{status}` → `200 {order_no, status,
//!   changed}`; a final status never changes (`409`); an order never seen is
//!   recorded with that status;
//! * `GET /api/orders/{no}` → `200 {order_no, status, expires_at, amount?,
//!   paid_at?, source?}`.
//!
//! Without a configured key every `/api` path answers `404`; with one, a
//! missing or wrong key is `401`.

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::OrderNo;
use crate::error::ApiError;
use crate::store::{SetStatus, Source, Status};
use crate::AppState;

/// How long a minted watch token outlives its order's `expires_at`.
pub const WATCH_TOKEN_GRACE_SECS: u64 = 24 * 3600;

/// The key check in front of every `/api` route.
pub async fn authorize(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let keys = &state.sources.api_keys;
    if keys.is_empty() {
        return ApiError::NotFound("not found").into_response();
    }
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(key) if keys.accepts(key) => next.run(req).await,
        _ => ApiError::Unauthorized.into_response(),
    }
}

/// `POST /api/orders`.
pub async fn create(State(state): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let new = super::orders::new_order(&state, &body)?;
    let created = state.store.create(new).await?;
    let code = if created.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut body = created.snapshot.api_body();
    if let Some(tokens) = &state.watch {
        // Valid a day past the order's own expiry: the page may still ask
        // after the order ended.
        let exp = created.snapshot.expires_at / 1000 + WATCH_TOKEN_GRACE_SECS;
        body["watch_token"] = tokens.mint(&created.snapshot.order_no, exp).into();
    }
    Ok((code, Json(body)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusRequest {
    status: String,
}

/// `PUT /api/orders/{no}/status`.
pub async fn set_status(
    State(state): State<AppState>,
    OrderNo(no): OrderNo,
    body: Bytes,
) -> Result<Response, ApiError> {
    const EXPECTED: &str = r#"expected {"status": "paid"|"closed"|"expired"}"#;
    let req: StatusRequest = serde_json::from_slice(&body)
        .map_err(|_| ApiError::bad_request(format!("bad JSON body: {EXPECTED}")))?;
    let target = match Status::parse(&req.status) {
        Some(s) if s.is_final() => s,
        _ => return Err(ApiError::bad_request(format!("unknown status: {EXPECTED}"))),
    };
    let set = SetStatus {
        target,
        source: Source::Api,
        record_unknown: true,
    };
    let change = state.set_status(&no, set).await?;
    Ok(Json(json!({
        "order_no": change.snapshot.order_no,
        "status": change.snapshot.status.as_str(),
        "changed": change.changed,
    }))
    .into_response())
}

/// `GET /api/orders/{no}`.
pub async fn get(
    State(state): State<AppState>,
    OrderNo(no): OrderNo,
) -> Result<Response, ApiError> {
    Ok(Json(state.order(&no).await?.api_body()).into_response())
}
