//! One log line and one count per request: method, route template, status,
//! time to the response head, client address. Never the path or the query,
//! which may carry an order number or a token.
//!
//! A plain tower layer rather than `axum::middleware::from_fn`: a held
//! long-poll keeps its request's future alive for up to a minute, and
//! `from_fn` keeps a boxed clone of the route's service in it (about 2 KB a
//! waiter, measured by `paywatch-bench mix`); this keeps some 80 bytes. Nor
//! tower-http's `TraceLayer`: its response hook sees neither the request
//! nor the matched route, which the count by route needs, short of a live
//! span per held request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::Response;
use tower::{Layer, Service};

use crate::doors::ClientAddr;
use crate::metrics::Metrics;

/// Wraps each route (`Router::layer`), where the matched route is known.
#[derive(Clone)]
pub struct ObserveLayer {
    pub metrics: Arc<Metrics>,
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

/// See [`ObserveLayer`].
#[derive(Clone)]
pub struct Observe<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

/// What is known of a request when it comes in.
struct Seen {
    started: Instant,
    method: Method,
    route: Option<MatchedPath>,
    client: Option<std::net::SocketAddr>,
    metrics: Arc<Metrics>,
}

impl Seen {
    fn answered(self, status: u16) {
        let route = match &self.route {
            // `:no` rather than `{no}`: braces inside a label value trip
            // simple exposition parsers.
            Some(path) => path.as_str().replace('{', ":").replace('}', ""),
            None => "(static)".to_owned(),
        };
        self.metrics.request(&route, status);
        tracing::info!(
            method = %self.method,
            route,
            status,
            duration_ms = self.started.elapsed().as_secs_f64() * 1000.0,
            client = %self.client.map_or_else(|| "-".to_owned(), |c| c.to_string()),
            "request"
        );
    }
}

impl<S> Service<Request> for Observe<S>
where
    S: Service<Request, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ObserveFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let seen = Seen {
            started: Instant::now(),
            method: req.method().clone(),
            route: req.extensions().get::<MatchedPath>().cloned(),
            client: req.extensions().get::<ClientAddr>().map(|c| c.0),
            metrics: self.metrics.clone(),
        };
        ObserveFuture {
            inner: self.inner.call(req),
            seen: Some(seen),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Observe`]: the inner one, then the line and the count.
    pub struct ObserveFuture<F> {
        #[pin]
        inner: F,
        seen: Option<Seen>,
    }
}

impl<F, E> Future for ObserveFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let out = std::task::ready!(this.inner.poll(cx));
        if let (Ok(res), Some(seen)) = (&out, this.seen.take()) {
            seen.answered(res.status().as_u16());
        }
        Poll::Ready(out)
    }
}
