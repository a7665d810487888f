//! The admin listener (`--admin-listen ADDR`, off by default): what the
//! orchestrator and Prometheus ask, never served on the public listener.
//!
//! * `GET /metrics`: the Prometheus (OpenMetrics) text of [`crate::metrics`];
//! * `GET /healthz`: `200` while the process runs;
//! * `GET /readyz`: `200` while the store answers and the server is not
//!   draining; `503` from the first moment of a shutdown (SIGTERM), and
//!   while the store does not answer (Redis down).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(state)
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.render(),
    )
        .into_response()
}

async fn readyz(State(state): State<AppState>) -> Response {
    if *state.shutdown.borrow() {
        return (StatusCode::SERVICE_UNAVAILABLE, "draining\n").into_response();
    }
    if !state.store.ready().await {
        return (StatusCode::SERVICE_UNAVAILABLE, "store unavailable\n").into_response();
    }
    (StatusCode::OK, "ready\n").into_response()
}
