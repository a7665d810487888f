//! `paywatch-server`: the reference backend of paywatch.
//!
//! It speaks the whole wire protocol of CONTRACT §2 against an in-memory
//! order store, or with `--redis` against orders in Redis shared by several
//! instances ([`store::redis`]):
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
//! ([`store`]); the server never polls (with `--redis`, one blocking read of
//! a Redis Stream per instance feeds those channels).

pub mod admin;
pub mod cli;
pub mod config;
pub mod demo_payer;
pub mod doors;
pub mod error;
pub mod hooks;
pub mod limits;
pub mod metrics;
pub mod notify;
pub mod observe;
pub mod payments;
pub mod routes;
pub mod serve;
pub mod store;
pub mod watch_token;

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::any;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower_http::services::ServeDir;

pub use config::Config;
use demo_payer::DemoPayer;
use doors::Doors;
use hooks::Hooks;
use metrics::Metrics;
use payments::Sources;
use serve::Shutdown;
use store::redis::RedisStore;
use store::sqlite::SqliteStore;
use store::{Change, ChangeError, MemoryStore, SetStatus, Store};

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
    /// Rate limits and per-client waiter counts.
    pub doors: Arc<Doors>,
    /// Tracks connections and upgraded WebSockets so shutdown can wait for
    /// them, and cuts them at the deadline.
    pub tasks: Shutdown,
    /// The `/api` keys and the platforms' verifiers.
    pub sources: Arc<Sources>,
    /// `--demo-payer`: the demo's pay button signs a real notification.
    pub demo_payer: Option<Arc<DemoPayer>>,
    pub metrics: Arc<Metrics>,
    /// `--watch-secret-file`: every watch must carry the order's token.
    pub watch: Option<Arc<watch_token::WatchTokens>>,
}

impl AppState {
    /// Moves an order to a final status through the store (which tells
    /// every waiter once), and logs and counts a change that happened.
    pub async fn set_status(&self, order_no: &str, set: SetStatus) -> Result<Change, ChangeError> {
        let change = self.store.set(order_no, set).await?;
        if change.changed {
            tracing::info!(
                order_no,
                from = "pending",
                to = set.target.as_str(),
                source = set.source.as_str(),
                "status changed"
            );
            self.metrics.status_change(set.source.as_str());
        }
        Ok(change)
    }

    /// With `--watch-secret-file`, whether `token` lets its bearer watch
    /// `order_no` (`403` naming why not); without it, everyone may.
    pub fn may_watch(&self, order_no: &str, token: Option<&str>) -> Result<(), error::ApiError> {
        let Some(tokens) = &self.watch else {
            return Ok(());
        };
        tokens
            .check(order_no, token, store::now_ms() / 1000)
            .map_err(|why| error::ApiError::Forbidden(why.reason()))
    }

    /// The order `order_no`, or `404 unknown order`.
    pub async fn order(&self, order_no: &str) -> Result<store::Snapshot, error::ApiError> {
        self.store
            .get(order_no)
            .await?
            .ok_or_else(error::ApiError::unknown_order)
    }

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
///
/// CORS for the `--allow-origin` list wraps everything; each API route sits
/// behind one [`doors::Gate`] (see [`routes::router`]).
pub fn app(state: AppState) -> Router {
    let mut router = routes::router(&state);
    router = if state.hooks.is_some() {
        let hooks = routes::testing::router().route_layer(doors::gate(&state, doors::Policy::API));
        router.nest("/_test", hooks)
    } else {
        // Answer 404 for any method (the static fallback would say 405 to a POST).
        router.route("/_test/{*rest}", any(routes::not_found))
    };
    router = router
        .nest_service("/pkg", ServeDir::new(&state.config.pkg))
        .fallback_service(ServeDir::new(&state.config.www))
        .layer(observe::ObserveLayer {
            metrics: state.metrics.clone(),
        });
    // Without an allow-list there is nothing for CORS to say: skip the layer
    // (a held request would otherwise carry its state all along).
    if !state.config.limits.allow_origins.is_empty() {
        router = router.layer(doors::cors(&state.config.limits));
    }
    router.with_state(state)
}

/// The admin listener of a running server (`--admin-listen`).
struct AdminServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    tasks: Shutdown,
}

/// A server started in the background (see [`start`]).
pub struct RunningServer {
    addr: SocketAddr,
    shutdown_tx: watch::Sender<bool>,
    task: JoinHandle<()>,
    tasks: Shutdown,
    deadline: std::time::Duration,
    admin: Option<AdminServer>,
}

impl RunningServer {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` of the admin listener, with `--admin-listen`.
    pub fn admin_url(&self) -> Option<String> {
        self.admin.as_ref().map(|a| format!("http://{}", a.addr))
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Starts a graceful shutdown: open SSE streams end, WebSockets get
    /// Close 1001 (upgraded ones included), held long-polls answer, and the
    /// call returns when every connection is gone — or, at the latest, when
    /// the shutdown deadline (`--shutdown-timeout-ms`) has passed, after
    /// cutting what is left. Returns how many connections had to be cut.
    ///
    /// The admin listener stays up through the drain (`/readyz` says `503`
    /// all along) and stops last.
    pub async fn shutdown(self) -> io::Result<usize> {
        let _ = self.shutdown_tx.send(true);
        self.task.await.map_err(io::Error::other)?;
        let cut = self.tasks.drain(self.deadline).await;
        if let Some(admin) = self.admin {
            let _ = admin.stop.send(true);
            admin.task.await.map_err(io::Error::other)?;
            admin
                .tasks
                .drain(std::time::Duration::from_millis(500))
                .await;
        }
        Ok(cut)
    }
}

/// Binds and serves in a background task until [`RunningServer::shutdown`].
/// Used by the binary and by the integration tests.
pub async fn start(config: Config) -> io::Result<RunningServer> {
    let listener = TcpListener::bind((config.host.as_str(), config.port)).await?;
    let addr = listener.local_addr()?;
    let admin_listener = match &config.admin_listen {
        Some(admin) => Some(
            TcpListener::bind(admin)
                .await
                .map_err(|e| io::Error::other(format!("--admin-listen {admin}: {e}")))?,
        ),
        None => None,
    };
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let tasks = Shutdown::default();
    let limits = config.limits.clone();
    let sources = Sources::load(&config.payments).map_err(io::Error::other)?;
    let demo_payer = match &config.payments.demo_payer_key_file {
        Some(path) if limits.demo_endpoints => {
            Some(Arc::new(DemoPayer::load(path, &config.payments, addr)?))
        }
        Some(_) => return Err(io::Error::other("--demo-payer needs --demo-endpoints")),
        None => None,
    };
    let metrics = Arc::new(Metrics::default());
    let watch = match &config.watch_secret_file {
        Some(path) => {
            let text = std::fs::read(path).map_err(|e| {
                io::Error::other(format!("--watch-secret-file {}: {e}", path.display()))
            })?;
            let secret = text.strip_suffix(b"\n").unwrap_or(&text);
            let secret = secret.strip_suffix(b"\r").unwrap_or(secret);
            Some(Arc::new(watch_token::WatchTokens::new(secret).map_err(
                |e| io::Error::other(format!("--watch-secret-file {}: {e}", path.display())),
            )?))
        }
        None => None,
    };
    let memory = || {
        MemoryStore::with_limits(limits.max_orders, limits.keep_ended).with_metrics(metrics.clone())
    };
    let store = match (&config.redis, &config.sqlite) {
        (None, None) => Store::Memory(memory()),
        (None, Some(path)) => Store::Sqlite(
            SqliteStore::open(path, memory(), config.retention, metrics.clone())
                .map_err(io::Error::other)?,
        ),
        (Some(url), _) => Store::Redis(
            RedisStore::connect(url, limits.keep_ended, metrics.clone())
                .await
                .map_err(|e| io::Error::other(format!("redis {url}: {e}")))?,
        ),
    };
    let state = AppState {
        store: Arc::new(store),
        hooks: config.test_hooks.then(|| Arc::new(Hooks::new())),
        doors: Arc::new(Doors::new(&limits)),
        config: Arc::new(config),
        shutdown: shutdown_rx.clone(),
        local_addr: addr,
        tasks: tasks.clone(),
        sources: Arc::new(sources),
        demo_payer,
        metrics,
        watch,
    };
    let admin = match admin_listener {
        Some(listener) => Some(start_admin(listener, state.clone(), &limits)?),
        None => None,
    };
    let metrics = state.metrics.clone();
    let app = app(state);
    let deadline = limits.shutdown_timeout;
    let accepting = tasks.clone();
    let task = tokio::spawn(async move {
        let counted = Some(&*metrics);
        serve::accept_loop(listener, app, &limits, counted, shutdown_rx, accepting).await;
    });
    Ok(RunningServer {
        addr,
        shutdown_tx,
        task,
        deadline,
        tasks,
        admin,
    })
}

/// Serves [`admin::router`] on its own listener, with its own stop flag, so
/// that it outlives the public listener's drain.
fn start_admin(
    listener: TcpListener,
    state: AppState,
    limits: &limits::Limits,
) -> io::Result<AdminServer> {
    let addr = listener.local_addr()?;
    let (stop, stop_rx) = watch::channel(false);
    let tasks = Shutdown::default();
    let accepting = tasks.clone();
    let limits = limits.clone();
    let app = admin::router(state);
    let task = tokio::spawn(async move {
        serve::accept_loop(listener, app, &limits, None, stop_rx, accepting).await;
    });
    Ok(AdminServer {
        addr,
        stop,
        task,
        tasks,
    })
}

/// What `main` runs: start, print the listening line, serve until Ctrl-C or
/// SIGTERM, shut down gracefully (within the shutdown deadline).
pub async fn run(config: Config) -> io::Result<()> {
    // Listen for the signals before anyone can learn the address: a SIGTERM
    // that came before would kill the process without a graceful shutdown.
    let signals = TerminationSignals::new()?;
    let server = start(config).await?;
    {
        let mut out = io::stdout().lock();
        writeln!(out, "paywatch-server listening on {}", server.url())?;
        if let Some(admin) = server.admin_url() {
            writeln!(out, "admin listening on {admin}")?;
        }
        out.flush()?;
    }
    signals.recv().await;
    eprintln!("paywatch-server: shutting down");
    let cut = server.shutdown().await?;
    if cut > 0 {
        eprintln!("paywatch-server: shutdown deadline passed, cut {cut} connection(s)");
    }
    Ok(())
}

/// Ctrl-C and (on Unix) SIGTERM, registered when created.
struct TerminationSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl TerminationSignals {
    fn new() -> io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(TerminationSignals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(TerminationSignals {})
    }

    async fn recv(mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        {
            let _ = &mut self;
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}
