//! The accept loop, with a deadline on everything a client can stall:
//!
//! * **request head** (and the idle time between keep-alive requests):
//!   hyper's header-read timer, `--header-timeout-ms`;
//! * **request body**: the [`Gate`](crate::doors::Gate) reads it whole
//!   within `--body-timeout-ms` and at most 16 KiB;
//! * **writes**: [`StallGuard`] fails a connection whose writes make no
//!   progress for `--write-timeout-ms` (a reader that stopped reading), for
//!   plain responses, SSE streams and upgraded WebSockets alike;
//! * **shutdown**: every connection and every upgraded WebSocket is tracked,
//!   so a graceful shutdown can wait for all of them, and a [`Shutdown`]
//!   cuts whatever is left when `--shutdown-timeout-ms` runs out.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::Router;
use http_body_util::BodyExt;
use hyper::body::{Body as _, Incoming};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::time::Sleep;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::doors::ClientAddr;
use crate::limits::Limits;
use crate::metrics::{self, Metrics};
use crate::wait_shutdown;

/// Largest request head hyper buffers (it answers 431 beyond).
const MAX_HEAD_BYTES: usize = 16 * 1024;

/// What every long-lived task of the server obeys at shutdown: `tracker`
/// counts them (connections and upgraded WebSockets), `hard_stop` ends them
/// at once when the shutdown deadline is near.
#[derive(Clone, Default)]
pub struct Shutdown {
    pub tracker: TaskTracker,
    pub hard_stop: CancellationToken,
}

impl Shutdown {
    /// Runs `task` tracked, and drops it when the hard stop comes.
    pub fn spawn<F>(&self, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tokio::spawn(self.track().run(task));
    }

    /// Counts one task from now on (before it even starts, e.g. a WebSocket
    /// whose upgrade is still under way) until the [`Tracked`] is dropped.
    pub fn track(&self) -> Tracked {
        Tracked {
            _token: self.tracker.token(),
            hard_stop: self.hard_stop.clone(),
        }
    }

    /// Waits for every tracked task; past `deadline`, cuts the rest. Returns
    /// how many were cut.
    pub async fn drain(&self, deadline: Duration) -> usize {
        self.tracker.close();
        // Leave part of the deadline for the cut tasks to unwind (at most
        // 200 ms here) and for the runtime to stop (100 ms, in `main`).
        let grace = deadline.saturating_sub(Duration::from_millis(400));
        if tokio::time::timeout(grace, self.tracker.wait())
            .await
            .is_ok()
        {
            return 0;
        }
        let left = self.tracker.len();
        self.hard_stop.cancel();
        let _ = tokio::time::timeout(Duration::from_millis(200), self.tracker.wait()).await;
        left
    }
}

/// One tracked task (see [`Shutdown::track`]).
pub struct Tracked {
    _token: tokio_util::task::task_tracker::TaskTrackerToken,
    hard_stop: CancellationToken,
}

impl Tracked {
    /// Runs `task` to its end or to the hard stop, whichever comes first.
    pub async fn run<F: Future<Output = ()>>(self, task: F) {
        tokio::select! {
            () = task => {}
            () = self.hard_stop.cancelled() => {}
        }
    }
}

/// Accepts connections until the shutdown flag is set, serving each with
/// `app` under the deadlines of `limits` (and, with `counted`, counting it
/// in the connection metrics). Returns when it stops accepting;
/// the connections live on in `shutdown`'s tracker.
pub async fn accept_loop(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    counted: Option<&Metrics>,
    mut flag: watch::Receiver<bool>,
    shutdown: Shutdown,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead
                    // of spinning; the deadlines free sockets soon.
                    eprintln!("paywatch-server: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = wait_shutdown(&mut flag) => break,
        };
        let _ = tcp.set_nodelay(true);
        let mut socket = StallGuard::new(tcp, limits.write_timeout);
        if let Some(metrics) = counted {
            socket = socket.counted(metrics.connection());
        }
        let io = TokioIo::new(socket);
        let app = app.clone();
        let busy = Arc::new(AtomicUsize::new(0));
        let in_flight = busy.clone();
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ClientAddr(peer));
            let guard = InFlight::new(&in_flight);
            let call = app.clone().oneshot(req.map(Body::new));
            async move {
                let res = call.await?;
                // A streamed body (SSE) keeps the connection busy until it is
                // done or dropped; a whole one is written at once.
                if res.body().size_hint().exact().is_some() {
                    return Ok::<_, Infallible>(res);
                }
                Ok(res.map(|body| {
                    Body::new(body.map_frame(move |frame| {
                        let _ = &guard;
                        frame
                    }))
                }))
            }
        });
        let conn = http.serve_connection(io, service).with_upgrades();
        let mut flag = flag.clone();
        shutdown.spawn(async move {
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                () = wait_shutdown(&mut flag) => {}
            }
            // Finish the response in flight (held long-polls and SSE streams
            // end on the same flag), then close. With nothing in flight (idle,
            // or a request head still dribbling in), allow only a moment for
            // a whole response still being written.
            conn.as_mut().graceful_shutdown();
            if busy.load(Ordering::Acquire) > 0 {
                let _ = conn.await;
            } else {
                let _ = tokio::time::timeout(Duration::from_millis(100), conn).await;
            }
        });
    }
}

/// Counts one request of a connection as in flight while it lives.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn new(count: &Arc<AtomicUsize>) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        InFlight(count.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A socket whose writes fail with `TimedOut` once they have made no
/// progress for `limit`. The timer exists only while a write is stuck.
pub struct StallGuard<T> {
    io: T,
    limit: Duration,
    stalled: Option<Pin<Box<Sleep>>>,
    /// Counts the connection closed when the socket goes (an upgraded
    /// WebSocket keeps this socket, so it counts too).
    _counted: Option<metrics::Connection>,
}

impl<T> StallGuard<T> {
    pub fn new(io: T, limit: Duration) -> Self {
        StallGuard {
            io,
            limit,
            stalled: None,
            _counted: None,
        }
    }

    /// Also holds `counted` as long as the socket lives.
    pub fn counted(mut self, counted: metrics::Connection) -> Self {
        self._counted = Some(counted);
        self
    }

    fn progress<R>(
        &mut self,
        poll: Poll<io::Result<R>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<R>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let limit = self.limit;
        let timer = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "peer stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallGuard<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for StallGuard<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write(cx, buf);
        this.progress(poll, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        this.progress(poll, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_flush(cx);
        this.progress(poll, cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.io).poll_shutdown(cx);
        this.progress(poll, cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn a_reader_that_stops_reading_fails_the_write() {
        // A 1 KiB pipe nobody reads: the writer fills it, then stalls.
        let (a, _b) = tokio::io::duplex(1024);
        let mut guard = StallGuard::new(a, Duration::from_millis(100));
        let started = tokio::time::Instant::now();
        let err = loop {
            if let Err(e) = guard.write_all(&[0u8; 512]).await {
                break e;
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
