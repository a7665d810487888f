//! `paywatch-server`: the reference backend of paywatch.
//!
//! It speaks the whole wire protocol of CONTRACT §2 against an in-memory
//! order store:
//!
//! * `GET /pay?action=check_pay_status_by_order&order_no=…[&wait=N]` — check,
//!   poll and long-poll ([`routes::poll`]);
//! * `GET /payment-status?order_no=…` — Server-Sent Events ([`routes::sse`]);
//! * `GET /ws` — WebSocket ([`routes::ws`]);
//! * `POST /orders`, `POST /orders/{no}/pay|close`, `GET /orders/{no}` —
//!   order management ([`routes::orders`]);
//! * `GET /pay-link/{no}`, `GET /orders/{no}/qr.svg` — what a phone opens
//!   ([`routes::pages`]);
//! * static `www/` at `/` and the built package at `/pkg/`;
//! * with `--test-hooks`, `/_test/…` probes and fault injection
//!   ([`routes::testing`]).
//!
//! Every waiter is woken by a per-order `tokio::sync::watch` channel
//! ([`store`]); the server never polls.

pub mod config;
pub mod hooks;
pub mod routes;
pub mod store;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::Method;
use axum::routing::any;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::cors::{Any, CorsLayer};
use tower_http::services::ServeDir;

pub use config::Config;
use hooks::Hooks;
use store::Store;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<Store>,
    /// `Some` only with `--test-hooks`.
    pub hooks: Option<Arc<Hooks>>,
    /// Flips to `true` when the server starts shutting down; long-lived
    /// responses (long-poll, SSE, WebSocket) watch it and end.
    pub shutdown: watch::Receiver<bool>,
    /// The address actually bound (useful when `--port 0`).
    pub local_addr: SocketAddr,
}

impl AppState {
    /// Resolves when the server is shutting down.
    pub async fn shutting_down(&self) {
        wait_shutdown(&mut self.shutdown.clone()).await;
    }
}

/// Resolves when the shutdown flag is set (or its sender is gone).
pub async fn wait_shutdown(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|down| *down).await;
}

/// Builds the whole application.
pub fn app(state: AppState) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers(Any)
        // Scripts of other origins may read how long to back off.
        .expose_headers([axum::http::header::RETRY_AFTER]);

    let mut router = routes::router();
    router = if state.hooks.is_some() {
        router.nest("/_test", routes::testing::router())
    } else {
        // Answer 404 for any method (the static fallback would say 405 to a POST).
        router.route("/_test/{*rest}", any(routes::not_found))
    };
    router
        .nest_service("/pkg", ServeDir::new(&state.config.pkg))
        .fallback_service(ServeDir::new(&state.config.www))
        .layer(cors)
        .with_state(state)
}

/// A server started in the background (see [`start`]).
pub struct RunningServer {
    addr: SocketAddr,
    shutdown_tx: watch::Sender<bool>,
    task: JoinHandle<io::Result<()>>,
}

impl RunningServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts a graceful shutdown: open SSE streams and WebSockets are ended,
    /// held long-polls answer, and the call returns when every connection is
    /// gone.
    pub async fn shutdown(self) -> io::Result<()> {
        let _ = self.shutdown_tx.send(true);
        self.task.await.map_err(io::Error::other)?
    }
}

/// Binds and serves in a background task until [`RunningServer::shutdown`].
/// Used by the binary and by the integration tests.
pub async fn start(config: Config) -> io::Result<RunningServer> {
    let listener = TcpListener::bind((config.host.as_str(), config.port)).await?;
    let addr = listener.local_addr()?;
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let state = AppState {
        store: Arc::new(Store::new()),
        hooks: config.test_hooks.then(|| Arc::new(Hooks::new())),
        config: Arc::new(config),
        shutdown: shutdown_rx.clone(),
        local_addr: addr,
    };
    let app = app(state);
    let mut signal = shutdown_rx;
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = signal.wait_for(|down| *down).await;
            })
            .await
    });
    Ok(RunningServer {
        addr,
        shutdown_tx,
        task,
    })
}

/// What `main` runs: start, print the listening line, serve until Ctrl-C or
/// SIGTERM, shut down gracefully.
pub async fn run(config: Config) -> io::Result<()> {
    let server = start(config).await?;
    {
        let mut out = io::stdout().lock();
        writeln!(out, "paywatch-server listening on {}", server.url())?;
        out.flush()?;
    }
    termination_signal().await;
    eprintln!("paywatch-server: shutting down");
    server.shutdown().await
}

async fn termination_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
