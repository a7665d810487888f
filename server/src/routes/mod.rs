//! HTTP routes and the small helpers they share.

pub mod api;
pub mod notify;
pub mod orders;
pub mod pages;
pub mod poll;
pub mod sse;
pub mod testing;
pub mod ws;

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use axum::Router;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::doors::{self, Group, Holds, Origins, Policy};
use crate::error::ApiError;
use crate::limits::MAX_ORDER_NO_BYTES;
use crate::AppState;

/// The public routes (everything but static files and test hooks), each
/// behind one [`Gate`](doors::Gate): the Origin check, its rate-limit group,
/// and for long-polls and SSE streams a place under the client's waiter cap.
/// `POST /orders`, `POST /orders/{no}/pay` and `/close` exist only with
/// `--demo-endpoints` (pay and close answer same-origin requests only).
/// `/api` and `/notify` are server to server.
pub fn router(state: &AppState) -> Router<AppState> {
    let gate = |rate, holds| {
        doors::gate(
            state,
            Policy {
                origins: Origins::AllowList,
                rate: Some(rate),
                holds,
            },
        )
    };
    let hot = Router::new()
        .route(
            "/pay",
            get(poll::check).layer(gate(Group::Check, Holds::WhenWaiting)),
        )
        .route(
            "/payment-status",
            get(sse::stream).layer(gate(Group::Push, Holds::Always)),
        )
        .route(
            "/ws",
            get(ws::upgrade).layer(gate(Group::Push, Holds::Never)),
        );
    let rest = Router::new()
        .route("/orders/{no}", get(orders::get))
        .route("/orders/{no}/qr.svg", get(pages::qr_svg))
        .route("/pay-link/{no}", get(pages::pay_link))
        .route_layer(doors::gate(state, Policy::API));
    // Server to server: no Origin (a browser's is refused), no rate limit.
    let backend = || {
        doors::gate(
            state,
            Policy {
                origins: Origins::SameOnly,
                rate: None,
                holds: Holds::Never,
            },
        )
    };
    let api = Router::new()
        .route("/api/orders", post(api::create))
        .route("/api/orders/{no}", get(api::get))
        .route("/api/orders/{no}/status", put(api::set_status))
        .route("/api/{*rest}", any(not_found))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            api::authorize,
        ))
        .route_layer(backend());
    let notify = Router::new()
        .route("/notify/wechatpay", post(notify::wechatpay))
        .route("/notify/alipay", post(notify::alipay))
        .route_layer(backend());
    let demo = if state.config.limits.demo_endpoints {
        let create = Router::new().route(
            "/orders",
            post(orders::create).layer(gate(Group::Write, Holds::Never)),
        );
        Router::new()
            .route("/orders/{no}/pay", post(orders::pay))
            .route("/orders/{no}/close", post(orders::close))
            .route_layer(doors::gate(
                state,
                Policy {
                    origins: Origins::SameOnly,
                    rate: Some(Group::Write),
                    holds: Holds::Never,
                },
            ))
            .merge(create)
    } else {
        Router::new()
            .route("/orders", post(not_found))
            .route("/orders/{no}/pay", any(not_found))
            .route("/orders/{no}/close", any(not_found))
    };
    hot.merge(rest).merge(api).merge(notify).merge(demo)
}

/// Refuses an empty or over-long order number. The error never repeats the
/// number: it may be megabytes long, or someone else's markup.
pub fn check_order_no(no: &str) -> Result<(), ApiError> {
    if no.is_empty() {
        Err(ApiError::bad_request("empty order_no"))
    } else if no.len() > MAX_ORDER_NO_BYTES {
        Err(ApiError::bad_request(format!(
            "order_no longer than {MAX_ORDER_NO_BYTES} bytes"
        )))
    } else {
        Ok(())
    }
}

/// `200` with a status body (the hot path of `/pay`).
pub fn status_response(s: &crate::store::Snapshot) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        s.body_text(),
    )
        .into_response()
}

/// `404 {"error":"not found"}`.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("not found")
}

/// The `{no}` path segment, percent-decoded (so `%2F` inside it is a `/` of
/// the order number, not a path separator). Rejections answer JSON.
pub struct OrderNo(pub String);

impl<S: Send + Sync> FromRequestParts<S> for OrderNo {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(no)) => check_order_no(&no).map(|()| OrderNo(no)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => {
                Err(ApiError::bad_request("bad order_no in path"))
            }
            Err(e) => Err(ApiError::Internal(e.to_string().into())),
        }
    }
}

/// Characters escaped in a path segment: everything but RFC 3986 unreserved.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes one path segment (`A&B #1/测试` → `A%26B%20%231%2F%E6…`).
pub fn encode_segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// Base URL for links handed to other devices: `--public-url` if given, else
/// `http://{Host header}`, else the bound address.
pub fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.clone();
    }
    match headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && h.len() <= 255 && !h.contains(['/', ' ', '"', '<', '>', '\\']))
    {
        Some(host) => format!("http://{host}"),
        None => format!("http://{}", state.local_addr),
    }
}

/// Absolute URL of the pay-link page for an order.
pub fn pay_url(state: &AppState, headers: &HeaderMap, order_no: &str) -> String {
    format!(
        "{}/pay-link/{}",
        public_base(state, headers),
        encode_segment(order_no)
    )
}
