//! Order management: create, read, pay, close.
//!
//! In a real shop these come from the checkout and from the payment
//! provider's callback; here they let the demo and the tests drive an order.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::{pay_url, ApiError, OrderNo};
use crate::limits::{MAX_ORDER_NO_BYTES, MAX_ORDER_TTL};
use crate::store::CreateError;
use crate::AppState;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    order_no: Option<String>,
    ttl_ms: Option<u64>,
}

/// `POST /orders` with an optional JSON body `{"order_no"?, "ttl_ms"?}` →
/// 201 `{"order_no","expires_at","pay_url","status"}`.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let req: CreateRequest = if body.iter().all(u8::is_ascii_whitespace) {
        CreateRequest::default()
    } else {
        // serde's message can quote the input; say where instead.
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request(format!(
                "bad JSON body (line {}, column {})",
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
    let order = state
        .store
        .create(req.order_no, ttl)
        .await
        .map_err(|e| match e {
            CreateError::Empty => ApiError::bad_request("empty order_no"),
            CreateError::TooLong => {
                ApiError::bad_request(format!("order_no longer than {MAX_ORDER_NO_BYTES} bytes"))
            }
            CreateError::Exists => ApiError::new(StatusCode::CONFLICT, "order_no already exists"),
            CreateError::Full => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "order store full"),
            CreateError::Unavailable => ApiError::store_unavailable(),
            CreateError::NoRandomness => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "no random source for an order number",
            ),
        })?;
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
    let order = state
        .store
        .get(&no)
        .await?
        .ok_or_else(ApiError::unknown_order)?;
    Ok(Json(order.body()).into_response())
}

/// `POST /orders/{no}/pay` → status body. Paying a paid order is a no-op;
/// a closed or expired order answers 409.
pub async fn pay(
    State(state): State<AppState>,
    OrderNo(no): OrderNo,
) -> Result<Response, ApiError> {
    Ok(Json(state.store.pay(&no).await?.body()).into_response())
}

/// `POST /orders/{no}/close` → status body. A paid order answers 409.
pub async fn close(
    State(state): State<AppState>,
    OrderNo(no): OrderNo,
) -> Result<Response, ApiError> {
    Ok(Json(state.store.close(&no).await?.body()).into_response())
}
