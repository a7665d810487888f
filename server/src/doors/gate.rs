//! [`Gate`]: the one layer per API route that applies the doors (origin,
//! rate, waiter cap) and reads the request body whole, within its deadline
//! and size.
//!
//! A tower `Layer`/`Service` rather than `axum::middleware::from_fn`: the
//! gate sits in front of every held long-poll, and `from_fn` keeps a boxed
//! clone of the route's service in each request's future, about 2 KB a held
//! request at 10k waiters (`paywatch-bench mix`, measured with the request
//! log layer that now lives in `observe.rs`). Requests without a body pass
//! straight to the route's own future.

use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use tower::{Layer, Service};

use super::origin::{origin_allowed, same_origin};
use super::rate::{too_many, Group};
use super::waiters::{asks_to_wait, too_many_waiters, WaiterSlot};
use super::ClientAddr;
use crate::error::ApiError;
use crate::limits::MAX_BODY_BYTES;
use crate::AppState;

/// Whose browser pages may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origins {
    /// The server's own origin and the `--allow-origin` list.
    AllowList,
    /// The server's own origin only (the demo's pay/close).
    SameOnly,
}

/// When a request holds a waiter place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Holds {
    Never,
    /// A `/pay` check with a `wait` (a long-poll).
    WhenWaiting,
    /// Every request (an SSE stream).
    Always,
}

/// What [`Gate`] enforces on one route.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub origins: Origins,
    pub rate: Option<Group>,
    pub holds: Holds,
}

impl Policy {
    /// Origin check and body bounds only.
    pub const API: Policy = Policy {
        origins: Origins::AllowList,
        rate: None,
        holds: Holds::Never,
    };
}

/// The layer in front of every API route: refuses a foreign `Origin` (403),
/// charges the rate limit (429), takes a waiter place (429) and keeps it as
/// long as the response body lives, and reads a request body whole within
/// the body deadline and size cap (408, 413). One layer rather than a
/// middleware each: a held long-poll carries this state for its whole wait,
/// and requests without a body get through without a heap allocation.
#[derive(Clone)]
pub struct GateLayer {
    shared: Arc<GateShared>,
}

/// What every clone of a [`Gate`] shares (axum clones the service for every
/// request: one reference count, not one per field of [`AppState`]).
struct GateShared {
    state: AppState,
    policy: Policy,
}

pub fn gate(state: &AppState, policy: Policy) -> GateLayer {
    GateLayer {
        shared: Arc::new(GateShared {
            state: state.clone(),
            policy,
        }),
    }
}

impl<S> Layer<S> for GateLayer {
    type Service = Gate<S>;

    fn layer(&self, inner: S) -> Gate<S> {
        Gate {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// See [`GateLayer`].
#[derive(Clone)]
pub struct Gate<S> {
    inner: S,
    shared: Arc<GateShared>,
}

impl GateShared {
    /// The checks that need no body; `Ok` carries the waiter place, if any.
    fn admit(&self, req: &Request) -> Result<Option<WaiterSlot>, Refusal> {
        let headers = req.headers();
        let limits = &self.state.config.limits;
        let origin_ok = match self.policy.origins {
            Origins::AllowList => origin_allowed(limits, headers),
            Origins::SameOnly => same_origin(headers),
        };
        if !origin_ok {
            return Err(Refusal::Origin(self.policy.origins));
        }
        let ip = req
            .extensions()
            .get::<ClientAddr>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        if let Some(group) = self.policy.rate {
            if let Err(wait) = self.state.doors.rate.check(ip, group, Instant::now()) {
                return Err(Refusal::Rate(wait));
            }
        }
        let holds = match self.policy.holds {
            Holds::Never => false,
            Holds::WhenWaiting => asks_to_wait(req.uri().query().unwrap_or("")),
            Holds::Always => true,
        };
        if !holds {
            return Ok(None);
        }
        match self.state.doors.waiters.acquire(ip) {
            Some(slot) => Ok(Some(slot)),
            None => Err(Refusal::Waiters),
        }
    }
}

/// Why [`Gate`] turned a request away.
enum Refusal {
    Origin(Origins),
    Rate(Duration),
    Waiters,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Origin(Origins::AllowList) => {
                ApiError::Forbidden("origin not allowed").into_response()
            }
            Refusal::Origin(Origins::SameOnly) => {
                ApiError::Forbidden("same-origin requests only").into_response()
            }
            Refusal::Rate(wait) => too_many("rate limit exceeded", wait),
            Refusal::Waiters => too_many_waiters(),
        }
    }
}

/// Whether a request carries a body to read.
fn has_body(req: &Request) -> bool {
    let h = req.headers();
    h.contains_key(header::TRANSFER_ENCODING)
        || h.get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
        || !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
            && h.get(header::CONTENT_LENGTH).is_none()
}

impl<S> Service<Request> for Gate<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = GateFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let slot = match self.shared.admit(&req) {
            Ok(slot) => slot,
            Err(refused) => {
                return GateFuture::Refused {
                    res: Some(refused.into_response()),
                }
            }
        };
        if !has_body(&req) {
            return GateFuture::Inner {
                inner: self.inner.call(req),
                slot,
            };
        }
        // The inner service was made ready for this call; keep that one.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let deadline = self.shared.state.config.limits.body_timeout;
        GateFuture::Body {
            fut: Box::pin(async move {
                match read_body(req, deadline).await {
                    Ok(req) => hold(ok(inner.call(req).await), slot),
                    Err(refused) => refused,
                }
            }),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Gate`].
    #[project = GateProj]
    pub enum GateFuture<F> {
        Refused { res: Option<Response> },
        Inner {
            #[pin]
            inner: F,
            slot: Option<WaiterSlot>,
        },
        Body { fut: Pin<Box<dyn Future<Output = Response> + Send>> },
    }
}

impl<F> Future for GateFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GateProj::Refused { res } => Poll::Ready(Ok(res.take().expect("polled after ready"))),
            GateProj::Inner { inner, slot } => {
                inner.poll(cx).map(|res| Ok(hold(ok(res), slot.take())))
            }
            GateProj::Body { fut } => fut.as_mut().poll(cx).map(Ok),
        }
    }
}

fn ok(res: Result<Response, Infallible>) -> Response {
    match res {
        Ok(res) => res,
        Err(never) => match never {},
    }
}

/// Moves the waiter place into the response body, so it is given back when
/// hyper drops the body: when the stream ends or the client goes away.
fn hold(res: Response, slot: Option<WaiterSlot>) -> Response {
    let Some(slot) = slot else {
        return res;
    };
    res.map(|body| {
        Body::new(body.map_frame(move |frame| {
            let _ = &slot;
            frame
        }))
    })
}

/// Reads the body whole within `deadline` and [`MAX_BODY_BYTES`]: a slow
/// body gets 408, a big one 413 — and the connection is closed after either.
async fn read_body(req: Request, deadline: Duration) -> Result<Request, Response> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let too_large = || {
        ApiError::BodyTooLarge {
            max: MAX_BODY_BYTES,
        }
        .into_response()
    };
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let (parts, body) = req.into_parts();
    match tokio::time::timeout(deadline, axum::body::to_bytes(body, MAX_BODY_BYTES)).await {
        Ok(Ok(bytes)) => Ok(Request::from_parts(parts, Body::from(bytes))),
        Ok(Err(_)) => Err(too_large()),
        Err(_) => Err(ApiError::BodyTooSlow.into_response()),
    }
}
