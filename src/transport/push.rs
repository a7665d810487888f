//! The reconnect loop shared by the push transports (SSE, WebSocket).
//!
//! - Nothing missed: each (re)open is followed by HTTP checks, retried with
//!   backoff until one gets an answer, so a payment made while the
//!   connection was down is seen even from a server that pushes only
//!   changes (CONTRACT semantics 5).
//! - Dead connections are noticed: a connection must open within
//!   `requestTimeoutMs`; once the server has sent an application heartbeat,
//!   silence longer than `livenessMs` (default 2.5 × the server's interval)
//!   counts as a lost connection. A server that sends no heartbeats is never
//!   suspected, so it causes no reconnect churn.
//! - A lost connection is reopened after an exponential, jittered, capped
//!   delay; the page coming back cuts the delay short and checks at once.
//!   After a few failures in a row an HTTP check also runs during each wait.

use super::{sleep_ms, Ctx, Final, Pushed};
use crate::hooks::ErrorKind;
use crate::options::Strategy;
use crate::schedule::Backoff;
use crate::status::Verdict;
use futures::channel::mpsc::UnboundedReceiver;
use futures::future::{Fuse, FusedFuture, FutureExt, LocalBoxFuture};
use futures::{select, StreamExt};
use gloo_timers::future::TimeoutFuture;
use std::any::Any;

/// First reconnect delay (before jitter) and the most it grows to.
const RECONNECT_BASE_MS: u32 = 500;
const RECONNECT_CAP_MS: u32 = 30_000;
/// Failed (re)connects in a row after which the waits also check over HTTP.
const CHECK_WHILE_DOWN_AFTER: u32 = 3;
/// For `"auto"`: failed reconnects in a row, after the connection had
/// proved itself, that make it step down to the next transport.
const STEP_DOWN_AFTER: u32 = 3;
/// A connection proves itself by a message (status or heartbeat), or by
/// staying open this long; only then is the reconnect backoff reset. A
/// server that accepts and at once drops every connection is not hammered.
const PROVEN_AFTER_MS: u32 = 5000;

/// What a push connection tells the loop.
#[derive(Debug)]
pub enum PushEvent {
    Open,
    /// A `message` event's data, or a WebSocket text frame.
    Message(String),
    /// The connection failed or closed; why.
    Lost(String),
}

/// An open (or opening) push connection: its events, and the browser object
/// behind them, whose `Drop` removes the listeners and closes it.
pub struct Connection {
    pub events: UnboundedReceiver<PushEvent>,
    _owner: Box<dyn Any>,
}

impl Connection {
    pub fn new(events: UnboundedReceiver<PushEvent>, owner: impl Any) -> Connection {
        Connection {
            events,
            _owner: Box::new(owner),
        }
    }
}

/// Runs one push transport until a final verdict. With `fall_back`, gives up
/// (`None`) if the very first connection never proves itself, or if one
/// did but then [`STEP_DOWN_AFTER`] reconnects in a row fail, so `"auto"`
/// can try the next transport; without it, `None` is never returned.
pub async fn run(
    ctx: &Ctx,
    via: Strategy,
    connect: fn(&Ctx) -> Result<Connection, String>,
    fall_back: bool,
) -> Option<Final> {
    let mut backoff = Backoff::new(RECONNECT_BASE_MS, RECONNECT_CAP_MS);
    let mut ever_proven = false;
    let mut failed_since_proven = 0;
    loop {
        ctx.hold_off(via).await;
        ctx.count_attempt();
        ctx.event("connect", via, None);
        let proven = match connect(ctx) {
            Ok(mut conn) => match session(ctx, via, &mut conn, &mut backoff).await {
                Ok(done) => return Some(done),
                Err(proven) => proven,
            },
            Err(why) => {
                ctx.report(ErrorKind::Connection, via, &why);
                false
            }
        };
        if proven {
            ever_proven = true;
            failed_since_proven = 0;
        } else if ever_proven {
            failed_since_proven += 1;
        }
        if fall_back && (!ever_proven || failed_since_proven >= STEP_DOWN_AFTER) {
            return None;
        }
        let delay = backoff.next_delay(js_sys::Math::random());
        ctx.event("reconnect", via, Some(&format!("in {delay} ms")));
        let check_meanwhile = backoff.failures() >= CHECK_WHILE_DOWN_AFTER;
        if let Some(done) = wait_to_reconnect(ctx, delay, check_meanwhile).await {
            return Some(done);
        }
    }
}

/// Reads one connection until it reports a final verdict, or is lost
/// (`Err(whether it had proved itself)`).
async fn session(
    ctx: &Ctx,
    via: Strategy,
    conn: &mut Connection,
    backoff: &mut Backoff,
) -> Result<Final, bool> {
    let open_within = ctx.config.request_timeout_ms;
    let mut opening = sleep_ms(open_within).fuse();
    let mut proven = false;
    let mut proving: Fuse<TimeoutFuture> = Fuse::terminated();
    let mut catch_up: Fuse<LocalBoxFuture<'_, Verdict>> = Fuse::terminated();
    let mut liveness: Option<u32> = None;
    let mut silence: Fuse<TimeoutFuture> = Fuse::terminated();
    loop {
        select! {
            event = conn.events.next() => {
                match event {
                    Some(PushEvent::Open) => {
                        opening = Fuse::terminated();
                        proving = sleep_ms(PROVEN_AFTER_MS).fuse();
                        ctx.event("open", via, None);
                        catch_up = ctx.catch_up().boxed_local().fuse();
                    }
                    Some(PushEvent::Message(text)) => match ctx.read_push(via, &text) {
                        Some(Pushed::Status(verdict)) => {
                            if verdict.is_final() {
                                return Ok(Final { verdict, via });
                            }
                            proven = true;
                        }
                        Some(Pushed::Heartbeat(every)) => {
                            liveness = liveness.or_else(|| liveness_ms(ctx, every));
                            proven = true;
                        }
                        None => {}
                    },
                    Some(PushEvent::Lost(why)) => return Err(lost(ctx, via, &why, proven)),
                    None => return Err(proven),
                }
                if proven {
                    backoff.reset();
                }
                // Anything heard proves the connection alive.
                if let Some(ms) = liveness {
                    silence = sleep_ms(ms).fuse();
                }
            },
            () = proving => {
                proven = true;
                backoff.reset();
            }
            () = opening => {
                let why = format!("the connection did not open within {open_within} ms");
                return Err(lost(ctx, via, &why, false));
            }
            () = silence => {
                let ms = liveness.unwrap_or_default();
                let why = format!("nothing heard for {ms} ms (no heartbeat): the connection is taken for dead");
                return Err(lost(ctx, via, &why, proven));
            }
            verdict = catch_up => {
                if verdict.is_final() {
                    return Ok(Final { verdict, via: Strategy::Poll });
                }
            }
            () = ctx.wake.wait().fuse() => {
                // The page came back: check now, whatever the connection says.
                if ctx.answer_wake() {
                    catch_up = ctx.catch_up().boxed_local().fuse();
                }
            }
        }
    }
}

/// Reports a lost connection; passes on whether it had proved itself.
fn lost(ctx: &Ctx, via: Strategy, why: &str, proven: bool) -> bool {
    ctx.event("lost", via, Some(why));
    ctx.report(ErrorKind::Connection, via, why);
    proven
}

/// The silence that means a dead connection, once a heartbeat was heard:
/// `livenessMs`, else 2.5 × the server's announced interval; `None` when
/// neither is known or `livenessMs` is `Infinity`.
fn liveness_ms(ctx: &Ctx, server_every: Option<u32>) -> Option<u32> {
    match ctx.config.liveness_ms {
        Some(set) => set,
        None => server_every.map(|ms| ms.saturating_mul(5) / 2),
    }
}

/// Waits `delay_ms` before a reconnect, with an HTTP check meanwhile when
/// `check_meanwhile`. A wake-up ends the wait at once and leaves the
/// wake-up raised, so the next session checks before its connection opens.
async fn wait_to_reconnect(ctx: &Ctx, delay_ms: u32, check_meanwhile: bool) -> Option<Final> {
    let mut wait = sleep_ms(delay_ms).fuse();
    let mut check: Fuse<LocalBoxFuture<'_, _>> = if check_meanwhile {
        ctx.check(Strategy::Poll, None).boxed_local().fuse()
    } else {
        Fuse::terminated()
    };
    loop {
        select! {
            answer = check => {
                if let Some(verdict) = answer.filter(|v| v.is_final()) {
                    return Some(Final { verdict, via: Strategy::Poll });
                }
            }
            () = wait => return None,
            () = ctx.wake.wait().fuse() => {
                if check.is_terminated() {
                    ctx.wake.raise();
                    return None;
                }
            }
        }
    }
}
