//! `POST /notify/wechatpay` and `POST /notify/alipay`: the payment
//! platforms tell paywatch-server directly (CONTRACT §5).
//!
//! The verifiers are pure ([`crate::notify`]); this module answers the way
//! each platform expects and applies what an authentic notification says,
//! at most once: a resend finds the order final already and tells nobody.
//! Each refusal is logged with its cause (never the body or a signature).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::notify::{Event, Refusal};
use crate::store::{ChangeError, SetStatus, Source, Status};
use crate::AppState;

/// What became of one authentic notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The order moved to the status it names.
    Accepted,
    /// The order already had that status (a resend).
    Duplicate,
    /// Authentic, about nothing we track, or already final otherwise.
    Ignored,
    /// The amount differs from the order's: nothing is marked.
    AmountMismatch,
}

/// The store could not be reached: the platform must send again.
struct Retry;

/// `POST /notify/wechatpay`: `204` for every authentic notification
/// (resends included), `401`/`400` `{"code":"FAIL","message":…}` otherwise.
pub async fn wechatpay(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(verifier) = &state.sources.wechatpay else {
        return super::not_found().await.into_response();
    };
    let fail = |code: StatusCode, message: &str| {
        (code, Json(json!({ "code": "FAIL", "message": message }))).into_response()
    };
    match verifier.verify(
        &headers,
        &body,
        state.config.notify_clock.unwrap_or_else(now_secs),
    ) {
        Ok(event) => match apply(&state, event, Source::Wechatpay).await {
            Ok(_) => StatusCode::NO_CONTENT.into_response(),
            Err(Retry) => fail(StatusCode::SERVICE_UNAVAILABLE, "order store unavailable"),
        },
        Err(refusal) => {
            refused(&state, "wechatpay", &refusal);
            let code = match refusal {
                Refusal::Forged(_) => StatusCode::UNAUTHORIZED,
                Refusal::Malformed(_) => StatusCode::BAD_REQUEST,
            };
            fail(code, refusal.reason())
        }
    }
}

/// `POST /notify/alipay`: `200 success` for every authentic notification
/// (resends included), `400 fail` otherwise.
pub async fn alipay(State(state): State<AppState>, body: Bytes) -> Response {
    let Some(verifier) = &state.sources.alipay else {
        return super::not_found().await.into_response();
    };
    let reply = |code: StatusCode, text: &'static str| {
        (
            code,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            text,
        )
            .into_response()
    };
    match verifier.verify(&body) {
        Ok(event) => match apply(&state, event, Source::Alipay).await {
            Ok(_) => reply(StatusCode::OK, "success"),
            Err(Retry) => reply(StatusCode::SERVICE_UNAVAILABLE, "fail"),
        },
        Err(refusal) => {
            refused(&state, "alipay", &refusal);
            reply(StatusCode::BAD_REQUEST, "fail")
        }
    }
}

fn refused(state: &AppState, platform: &'static str, refusal: &Refusal) {
    let kind = match refusal {
        Refusal::Forged(_) => "forged",
        Refusal::Malformed(_) => "malformed",
    };
    tracing::warn!(
        platform,
        result = kind,
        reason = refusal.reason(),
        "notification refused"
    );
    state.metrics.notification(platform, kind);
}

/// Applies an authentic event once.
async fn apply(state: &AppState, event: Event, source: Source) -> Result<Applied, Retry> {
    let platform = source.as_str();
    let (order_no, target, amount) = match event {
        Event::Paid { order_no, amount } => (order_no, Status::Paid, Some(amount)),
        Event::Closed { order_no } => (order_no, Status::Closed, None),
        Event::Ignored { what } => {
            tracing::info!(platform, event = %what, "notification acknowledged, nothing to change");
            state.metrics.notification(platform, "ignored");
            return Ok(Applied::Ignored);
        }
    };
    if super::check_order_no(&order_no).is_err() {
        tracing::warn!(
            platform,
            "notification names an order number out of bounds; ignored"
        );
        state.metrics.notification(platform, "malformed");
        return Ok(Applied::Ignored);
    }
    if let Some(paid) = amount {
        let order = state.store.get(&order_no).await.map_err(|_| Retry)?;
        if let Some(expected) = order.and_then(|o| o.details.amount) {
            if expected != paid {
                tracing::error!(
                    platform,
                    order_no = %order_no,
                    expected,
                    notified = paid,
                    "notification amount differs from the order's; nothing marked"
                );
                state.metrics.notification(platform, "amount_mismatch");
                return Ok(Applied::AmountMismatch);
            }
        }
    }
    let set = SetStatus {
        target,
        source,
        record_unknown: true,
    };
    let applied = match state.set_status(&order_no, set).await {
        Ok(change) if change.changed => Applied::Accepted,
        Ok(_) => Applied::Duplicate,
        Err(ChangeError::Conflict(current)) => {
            tracing::warn!(
                platform,
                order_no = %order_no,
                status = current.as_str(),
                wanted = target.as_str(),
                "notification for an order already final otherwise; nothing changed"
            );
            Applied::Ignored
        }
        Err(ChangeError::Unknown) => Applied::Ignored,
        Err(ChangeError::Unavailable | ChangeError::Full) => {
            tracing::error!(
                platform,
                "order store unavailable; the platform will resend"
            );
            return Err(Retry);
        }
    };
    let result = match applied {
        Applied::Accepted => "accepted",
        Applied::Duplicate => "duplicate",
        _ => "ignored",
    };
    state.metrics.notification(platform, result);
    Ok(applied)
}

fn now_secs() -> u64 {
    crate::store::now_ms() / 1_000
}
