//! Who may come in: the Origin allow-list, per-client-address rate limits
//! and the per-client-address cap on live waiters — small policy types, and
//! [`Gate`], the one layer per route that applies them (and bounds the
//! request body).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use tower::{Layer, Service};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::error::ApiError;
use crate::limits::{Limits, MAX_BODY_BYTES};
use crate::AppState;

/// The peer address of the connection a request came in on (set by
/// [`serve`](crate::serve) for every connection).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<ClientAddr>()
            .copied()
            .unwrap_or(ClientAddr(SocketAddr::from(([0, 0, 0, 0], 0)))))
    }
}

/// The key limits are counted under: the IPv4 address, or the /64 prefix of
/// an IPv6 address (one subscriber line usually owns a whole /64).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

// ------------------------------------------------------------------ origins

/// The CORS layer for the allow-list: no `Access-Control-Allow-Origin` at all
/// when the list is empty (same origin only).
pub fn cors(limits: &Limits) -> CorsLayer {
    let origins: Vec<HeaderValue> = limits
        .allow_origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
        .allow_headers([header::CONTENT_TYPE, "last-event-id".parse().unwrap()])
        // Scripts of allowed origins may read how long to back off (a 429 or
        // 503's `Retry-After`); the client obeys it.
        .expose_headers([header::RETRY_AFTER])
        .max_age(Duration::from_secs(600))
}

/// Is the request's `Origin` the server's own (same scheme-less host as the
/// `Host` header)? A request without `Origin` does not come from a browser
/// page of another site and counts as same-origin.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let (Ok(origin), Some(host)) = (
        origin.to_str(),
        headers.get(header::HOST).and_then(|h| h.to_str().ok()),
    ) else {
        return false;
    };
    let origin = origin.to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    origin.strip_prefix("http://") == Some(host.as_str())
        || origin.strip_prefix("https://") == Some(host.as_str())
}

/// Same-origin, or an `Origin` on the `--allow-origin` list.
pub fn origin_allowed(limits: &Limits, headers: &HeaderMap) -> bool {
    if same_origin(headers) {
        return true;
    }
    headers
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .is_some_and(|o| {
            let o = o.to_ascii_lowercase();
            limits.allow_origins.contains(&o)
        })
}

// -------------------------------------------------------------- rate limits

/// Route groups with a rate budget each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Group {
    /// `GET /pay` (check, poll, long-poll).
    Check,
    /// Opening an SSE stream or a WebSocket.
    Push,
    /// `POST /orders`, and the demo's pay/close.
    Write,
}

/// Most client keys tracked at once; beyond it new clients are refused
/// until old entries age out (the map never grows without bound).
const MAX_TRACKED_CLIENTS: usize = 65_536;

/// A per-(client, group) rate limiter: the generic cell rate algorithm,
/// `rate` per second with bursts of `2 × rate`. One `Instant` per key.
pub struct RateLimiter {
    interval: Duration,
    tolerance: Duration,
    cells: Mutex<HashMap<(IpAddr, Group), Instant>>,
}

impl RateLimiter {
    pub fn new(rate_per_sec: u32) -> Self {
        let interval = Duration::from_secs(1) / rate_per_sec.max(1);
        RateLimiter {
            interval,
            tolerance: interval * (2 * rate_per_sec.max(1) - 1),
            cells: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok` to let the request through, `Err(wait)` when it must wait.
    pub fn check(&self, ip: IpAddr, group: Group, now: Instant) -> Result<(), Duration> {
        let mut cells = self.cells.lock().unwrap();
        let key = (client_key(ip), group);
        if cells.len() >= MAX_TRACKED_CLIENTS && !cells.contains_key(&key) {
            // Entries whose theoretical arrival time has passed carry no
            // debt; forgetting them changes nothing.
            cells.retain(|_, tat| *tat > now);
            if cells.len() >= MAX_TRACKED_CLIENTS {
                return Err(Duration::from_secs(1));
            }
        }
        let cell = cells.entry(key).or_insert(now);
        let tat = (*cell).max(now);
        let ahead = tat - now;
        if ahead > self.tolerance {
            return Err(ahead - self.tolerance);
        }
        *cell = tat + self.interval;
        Ok(())
    }
}

/// 429 with `Retry-After` in whole seconds (at least 1).
pub fn too_many(msg: &'static str, wait: Duration) -> Response {
    ApiError::TooMany {
        what: msg,
        retry_after: wait,
    }
    .into_response()
}

// ------------------------------------------------------------------ waiters

/// Counts live waiters per client key and refuses more than the cap.
pub struct Waiters {
    max: usize,
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// One live waiter; gives its place back when dropped.
#[must_use = "the place is given back when this is dropped"]
pub struct WaiterSlot {
    waiters: Arc<Waiters>,
    key: IpAddr,
}

impl Waiters {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Waiters {
            max,
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// A place for one more waiter of this client, or `None` at the cap.
    pub fn acquire(self: &Arc<Self>, ip: IpAddr) -> Option<WaiterSlot> {
        let key = client_key(ip);
        let mut counts = self.counts.lock().unwrap();
        let n = counts.entry(key).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(WaiterSlot {
            waiters: self.clone(),
            key,
        })
    }

    /// Live waiters of this client (for tests).
    pub fn count(&self, ip: IpAddr) -> usize {
        let counts = self.counts.lock().unwrap();
        counts.get(&client_key(ip)).copied().unwrap_or(0)
    }
}

impl Drop for WaiterSlot {
    fn drop(&mut self) {
        let mut counts = self.waiters.counts.lock().unwrap();
        if let Some(n) = counts.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// The refusal when a client is at its waiter cap.
pub fn too_many_waiters() -> Response {
    too_many(
        "too many open waiters from this address",
        Duration::from_secs(5),
    )
}

fn asks_to_wait(query: &str) -> bool {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "wait")
        .is_some_and(|(_, v)| v.parse::<f64>().is_ok_and(|w| w > 0.0))
}

// --------------------------------------------------------------------- gate

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

/// Everything the gate shares.
pub struct Doors {
    pub rate: RateLimiter,
    pub waiters: Arc<Waiters>,
}

impl Doors {
    pub fn new(limits: &Limits) -> Self {
        Doors {
            rate: RateLimiter::new(limits.rate_per_sec),
            waiters: Waiters::new(limits.max_waiters_per_client),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn origins() {
        let limits = Limits {
            allow_origins: vec!["http://good.example".into()],
            ..Limits::default()
        };
        let host = ("host", "pay.example:8080");
        assert!(same_origin(&headers(&[host])));
        assert!(same_origin(&headers(&[
            host,
            ("origin", "http://pay.example:8080")
        ])));
        assert!(same_origin(&headers(&[
            host,
            ("origin", "HTTPS://pay.example:8080")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "http://pay.example")
        ])));
        assert!(!same_origin(&headers(&[host, ("origin", "null")])));
        assert!(!same_origin(&headers(&[(
            "origin",
            "http://pay.example:8080"
        )])));
        let good = headers(&[host, ("origin", "http://good.example")]);
        assert!(!same_origin(&good));
        assert!(origin_allowed(&limits, &good));
        let evil = headers(&[host, ("origin", "http://evil.example")]);
        assert!(!origin_allowed(&limits, &evil));
        assert!(!origin_allowed(&Limits::default(), &good));
    }

    #[test]
    fn rate_limit_bursts_then_waits() {
        let rl = RateLimiter::new(2); // 2/s, bursts of 4
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t = Instant::now();
        for _ in 0..4 {
            rl.check(ip, Group::Check, t).unwrap();
        }
        let wait = rl.check(ip, Group::Check, t).unwrap_err();
        assert!(
            wait <= Duration::from_millis(500) && wait > Duration::ZERO,
            "{wait:?}"
        );
        // Other groups and other clients have their own budget.
        rl.check(ip, Group::Push, t).unwrap();
        rl.check("10.0.0.2".parse().unwrap(), Group::Check, t)
            .unwrap();
        // Half a second later one more fits.
        rl.check(ip, Group::Check, t + Duration::from_millis(500))
            .unwrap();
        assert!(rl
            .check(ip, Group::Check, t + Duration::from_millis(500))
            .is_err());
    }

    #[test]
    fn ipv6_counts_per_64() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
    }

    #[test]
    fn waiter_cap_and_release() {
        let w = Waiters::new(2);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let a = w.acquire(ip).unwrap();
        let _b = w.acquire(ip).unwrap();
        assert!(w.acquire(ip).is_none());
        assert!(w.acquire("10.0.0.2".parse().unwrap()).is_some());
        drop(a);
        assert_eq!(w.count(ip), 1);
        assert!(w.acquire(ip).is_some());
    }

    #[test]
    fn which_checks_wait() {
        assert!(asks_to_wait("action=x&order_no=1&wait=25"));
        assert!(!asks_to_wait("action=x&order_no=1&wait=0"));
        assert!(!asks_to_wait("action=x&order_no=1"));
        assert!(!asks_to_wait("wait=abc"));
    }
}
