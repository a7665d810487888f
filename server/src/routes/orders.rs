//! The demo's order doors (`--demo-endpoints`): create, read, pay, close,
//! open to the page itself. A shop uses `/api` ([`super::api`]) instead.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{pay_url, OrderNo};
use crate::error::ApiError;
use crate::limits::MAX_ORDER_TTL;
use crate::store::{CreateError, NewOrder, SetStatus, Snapshot, Source, Status};
use crate::AppState;

/// The body of `POST /orders` and `POST /api/orders`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    order_no: Option<String>,
    ttl_ms: Option<u64>,
    amount: Option<u64>,
}

/// Reads `{"order_no"?, "ttl_ms"?, "amount"?}` (an empty body is `{}`).
pub fn new_order(state: &AppState, body: &[u8]) -> Result<NewOrder, ApiError> {
    let req: CreateRequest = if body.iter().all(u8::is_ascii_whitespace) {
        CreateRequest::default()
    } else {
        // serde's message can quote the input; say where and what instead.
        serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!(
                "bad JSON body (line {}, column {}): expected {{\"order_no\"?: string, \"ttl_ms\"?: integer, \"amount\"?: integer}}",
                e.line(),
                e.column()
            ))
        })?
    };
    let ttl = req
        .ttl_ms
        .map(Duration::from_millis)
        .unwrap_or(state.config.order_ttl);
    if ttl > MAX_ORDER_TTL {
        return Err(ApiError::bad_request(format!(
            "ttl_ms above {}",
            MAX_ORDER_TTL.as_millis()
        )));
    }
    if let Some(no) = &req.order_no {
        super::check_order_no(no)?;
    }
    Ok(NewOrder {
        order_no: req.order_no,
        ttl,
        amount: req.amount,
    })
}

/// `POST /orders` with an optional JSON body `{"order_no"?, "ttl_ms"?,
/// "amount"?}` → 201 `{"order_no","expires_at","pay_url","status"}`; a
/// number that exists already is `409`.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let new = new_order(&state, &body)?;
    let created = state.store.create(new).await?;
    if !created.created {
        return Err(CreateError::Exists.into());
    }
    let order = created.snapshot;
    let body = json!({
        "order_no": order.order_no,
        "expires_at": order.expires_at,
        "pay_url": pay_url(&state, &headers, &order.order_no),
        "status": order.status.as_str(),
    });
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `GET /orders/{no}` → status body.
pub async fn get(
    State(state): State<AppState>,
    OrderNo(no): OrderNo,
) -> Result<Response, ApiError> {
    Ok(Json(state.order(&no).await?.body()).into_response())
}

/// `POST /orders/{no}/pay` → status body. Paying a paid order is a no-op;
/// a closed or expired order answers 409. With `--demo-payer` the payment
/// goes through a signed WeChat Pay notification, as a real one would.
pub async fn pay(
    State(state): State<AppState>,
    OrderNo(no): OrderNo,
) -> Result<Response, ApiError> {
    let order = match &state.demo_payer {
        Some(payer) => {
            payer.pay(&state, &no).await?;
            state.order(&no).await?
        }
        None => demo_set(&state, &no, Status::Paid).await?,
    };
    // The status body, and which door marked it (the demo page shows it).
    let mut body = order.body();
    if let Some(source) = order.details.source {
        body["source"] = source.as_str().into();
    }
    Ok(Json(body).into_response())
}

/// `POST /orders/{no}/close` → status body. A paid order answers 409.
pub async fn close(
    State(state): State<AppState>,
    OrderNo(no): OrderNo,
) -> Result<Response, ApiError> {
    Ok(Json(demo_set(&state, &no, Status::Closed).await?.body()).into_response())
}

/// The demo's change (and the test hooks'): known orders only.
pub async fn demo_set(state: &AppState, no: &str, target: Status) -> Result<Snapshot, ApiError> {
    let set = SetStatus {
        target,
        source: Source::Demo,
        record_unknown: false,
    };
    Ok(state.set_status(no, set).await?.snapshot)
}
