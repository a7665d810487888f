//! Every refusal the server answers, as one enum: `{"error": "…"}` with
//! its status code, and the headers that belong to it (`Retry-After`,
//! `WWW-Authenticate`, `Connection: close`). A variant knows its code; no
//! caller compares message text.

use std::borrow::Cow;
use std::time::Duration;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::store::{ChangeError, CreateError, Unavailable};

/// The message of [`ApiError::StoreUnavailable`] (also a WebSocket refusal).
pub const STORE_UNAVAILABLE: &str = "order store unavailable";
/// `Retry-After` (seconds) sent with [`ApiError::StoreUnavailable`].
pub const STORE_RETRY_AFTER: u64 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// `400`: the request names what is wrong.
    BadRequest(Cow<'static, str>),
    /// `401`: `/api` without a valid `Authorization: Bearer` key.
    Unauthorized,
    /// `403`: an Origin, or a watch token, that may not come in.
    Forbidden(&'static str),
    /// `404`.
    NotFound(&'static str),
    /// `409`: the order is in a state that forbids the request.
    Conflict(Cow<'static, str>),
    /// `408`: the body did not arrive within its deadline (closes the connection).
    BodyTooSlow,
    /// `413`: the body is over the cap (closes the connection).
    BodyTooLarge { max: usize },
    /// `429` with `Retry-After`.
    TooMany {
        what: &'static str,
        retry_after: Duration,
    },
    /// `503` with `Retry-After`: the order store cannot be reached now.
    StoreUnavailable,
    /// `503` without `Retry-After` (the store is full, the server is going away).
    Unavailable(&'static str),
    /// `500`.
    Internal(Cow<'static, str>),
}

impl ApiError {
    pub fn bad_request(msg: impl Into<Cow<'static, str>>) -> Self {
        ApiError::BadRequest(msg.into())
    }

    pub fn unknown_order() -> Self {
        ApiError::NotFound("unknown order")
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::BodyTooSlow => StatusCode::REQUEST_TIMEOUT,
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::StoreUnavailable | ApiError::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The text of `{"error": …}`.
    pub fn message(&self) -> Cow<'static, str> {
        match self {
            ApiError::BadRequest(m) | ApiError::Conflict(m) | ApiError::Internal(m) => m.clone(),
            ApiError::Forbidden(m) | ApiError::NotFound(m) | ApiError::Unavailable(m) => {
                Cow::Borrowed(m)
            }
            ApiError::TooMany { what, .. } => Cow::Borrowed(what),
            ApiError::Unauthorized => "missing or wrong API key".into(),
            ApiError::BodyTooSlow => "request body too slow".into(),
            ApiError::BodyTooLarge { max } => format!("request body over {max} bytes").into(),
            ApiError::StoreUnavailable => STORE_UNAVAILABLE.into(),
        }
    }

    /// Whole seconds to wait before asking again, if the answer says so.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::TooMany { retry_after, .. } => {
                let secs = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                Some(secs.max(1))
            }
            ApiError::StoreUnavailable => Some(STORE_RETRY_AFTER),
            _ => None,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status().as_u16(), self.message())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (self.status(), Json(json!({ "error": self.message() }))).into_response();
        let headers = res.headers_mut();
        if let Some(secs) = self.retry_after() {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        match self {
            ApiError::Unauthorized => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::BodyTooSlow | ApiError::BodyTooLarge { .. } => {
                headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ => {}
        }
        res
    }
}

impl From<Unavailable> for ApiError {
    fn from(_: Unavailable) -> Self {
        ApiError::StoreUnavailable
    }
}

impl From<ChangeError> for ApiError {
    fn from(e: ChangeError) -> Self {
        match e {
            ChangeError::Unknown => ApiError::unknown_order(),
            ChangeError::Conflict(status) => {
                ApiError::Conflict(format!("order is already {}", status.as_str()).into())
            }
            ChangeError::Full => ApiError::Unavailable("order store full"),
            ChangeError::Unavailable => ApiError::StoreUnavailable,
        }
    }
}

impl From<CreateError> for ApiError {
    fn from(e: CreateError) -> Self {
        use crate::limits::MAX_ORDER_NO_BYTES;
        match e {
            CreateError::Empty => ApiError::bad_request("empty order_no"),
            CreateError::TooLong => {
                ApiError::bad_request(format!("order_no longer than {MAX_ORDER_NO_BYTES} bytes"))
            }
            CreateError::Exists => ApiError::Conflict("order_no already exists".into()),
            CreateError::Differs => {
                ApiError::Conflict("order_no already exists with other fields".into())
            }
            CreateError::Full => ApiError::Unavailable("order store full"),
            CreateError::Unavailable => ApiError::StoreUnavailable,
            CreateError::NoRandomness => {
                ApiError::Internal("no random source for an order number".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_belongs_to_the_variant() {
        let res = ApiError::StoreUnavailable.into_response();
        assert_eq!(res.status(), 503);
        assert_eq!(res.headers()[header::RETRY_AFTER], "1");
        let res = ApiError::Unavailable("order store unavailable").into_response();
        assert!(res.headers().get(header::RETRY_AFTER).is_none());
        let res = ApiError::TooMany {
            what: "slow down",
            retry_after: Duration::from_millis(1_200),
        }
        .into_response();
        assert_eq!(res.headers()[header::RETRY_AFTER], "2");
        let res = ApiError::Unauthorized.into_response();
        assert_eq!(res.status(), 401);
        assert_eq!(res.headers()[header::WWW_AUTHENTICATE], "Bearer");
    }
}
