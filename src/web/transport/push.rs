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

use super::{fired, num_in, sleep_ms, Connect, Ctx, Final, Held, PushEvent, Pushed};
use crate::options::Strategy;
use crate::schedule::Backoff;
use crate::status::Verdict;
use crate::web::hooks::ErrorKind;
use futures::{select_biased, FutureExt, StreamExt};
use std::future::{poll_fn, Future};
use std::task::Poll;

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

/// Runs one push transport (`via`: SSE or WebSocket, opened by `connect`)
/// until a final verdict. With `fall_back`, gives up (`None`) if the very
/// first connection never proves itself, or if one did but then
/// [`STEP_DOWN_AFTER`] reconnects in a row fail, so `"auto"` can try the
/// next transport; without it, `None` is never returned.
pub async fn run(ctx: &Ctx, via: Strategy, connect: Connect, fall_back: bool) -> Option<Final> {
    let mut backoff = Backoff::new(RECONNECT_BASE_MS, RECONNECT_CAP_MS);
    let mut ever_proven = false;
    let mut failed_since_proven = 0;
    loop {
        if let Some(hold) = ctx.hold_off(via) {
            hold.await;
        }
        ctx.count_attempt();
        ctx.event("connect", via, None);
        let proven = match session(ctx, via, connect, &mut backoff).await {
            Session::Final(f) => return Some(f),
            Session::Lost { proven } => proven,
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
        if let Some(f) = reconnect_wait(ctx, via, &mut backoff).await {
            return Some(f);
        }
    }
}

/// How one session ended.
enum Session {
    /// A final verdict, from the connection or a catch-up check.
    Final(Final),
    /// The connection is gone; whether it had proved itself.
    Lost { proven: bool },
}

/// One session: opens a connection and reads it until it reports a final
/// verdict or is lost.
async fn session(ctx: &Ctx, via: Strategy, connect: Connect, backoff: &mut Backoff) -> Session {
    let mut conn = match connect(ctx) {
        Ok(conn) => conn,
        Err(why) => {
            ctx.report(ErrorKind::Connection, via, &why);
            return Session::Lost { proven: false };
        }
    };
    let open_within = ctx.config.request_timeout_ms;
    let mut opening = Some(sleep_ms(open_within));
    let mut proven = false;
    let mut proving = None;
    let mut catch_up: Option<Held<Verdict>> = None;
    let mut liveness: Option<u32> = None;
    let mut silence = None;
    loop {
        // The first ready arm wins, in this order: what the connection
        // said (a final status it pushed is never passed over), the
        // catch-up check's answer, a wake-up, then the timers.
        let caught = poll_fn(|cx| match catch_up.as_mut() {
            Some(check) => check.as_mut().poll(cx),
            None => Poll::Pending,
        });
        let heard = select_biased! {
            event = conn.next().fuse() => Heard::Event(event),
            verdict = caught.fuse() => Heard::CaughtUp(verdict),
            () = woken(ctx).fuse() => Heard::Woken,
            () = until(&mut proving).fuse() => Heard::Proven,
            () = until(&mut opening).fuse() => Heard::NotOpened,
            () = until(&mut silence).fuse() => Heard::Silence,
        };
        match heard {
            Heard::Event(event) => {
                match event {
                    Some(PushEvent::Open) => {
                        opening = None;
                        proving = Some(sleep_ms(PROVEN_AFTER_MS));
                        ctx.event("open", via, None);
                        catch_up = Some(Box::pin(ctx.catch_up()));
                    }
                    Some(PushEvent::Message(text)) => match ctx.read_push(via, &text) {
                        Some(Pushed::Status(verdict)) => {
                            if verdict.is_final() {
                                return Session::Final(Final { verdict, via });
                            }
                            proven = true;
                        }
                        Some(Pushed::Heartbeat(every)) => {
                            liveness = liveness.or_else(|| liveness_ms(ctx, every));
                            proven = true;
                        }
                        None => {}
                    },
                    Some(PushEvent::Lost(why)) => {
                        return Session::Lost {
                            proven: lost(ctx, via, Lost::Closed(why), proven),
                        }
                    }
                    None => return Session::Lost { proven },
                }
                if proven {
                    backoff.reset();
                }
                // Anything heard proves the connection alive.
                silence = liveness.map(sleep_ms);
            }
            Heard::Proven => {
                proven = true;
                backoff.reset();
            }
            Heard::NotOpened => {
                let why = Lost::NotOpened {
                    within_ms: open_within,
                };
                return Session::Lost {
                    proven: lost(ctx, via, why, false),
                };
            }
            Heard::Silence => {
                let silent_ms = liveness.unwrap_or_default();
                return Session::Lost {
                    proven: lost(ctx, via, Lost::Silent { silent_ms }, proven),
                };
            }
            Heard::CaughtUp(verdict) => {
                catch_up = None;
                if verdict.is_final() {
                    return Session::Final(Final {
                        verdict,
                        via: Strategy::Poll,
                    });
                }
            }
            Heard::Woken => {
                // The page came back: check now, whatever the connection says.
                if ctx.answer_wake() {
                    catch_up = Some(Box::pin(ctx.catch_up()));
                }
            }
        }
    }
}

/// The wait before the next connection: the backoff's delay, with an HTTP
/// check meanwhile after a few failures. A wake-up ends it at once and
/// stays raised, so the next session checks before its connection opens.
/// `Some` when that check saw a final verdict.
async fn reconnect_wait(ctx: &Ctx, via: Strategy, backoff: &mut Backoff) -> Option<Final> {
    let delay = backoff.next_delay(js_sys::Math::random());
    ctx.event("reconnect", via, Some(&num_in("in ", delay, " ms")));
    let mut wait = Some(sleep_ms(delay));
    let check_meanwhile = backoff.failures() >= CHECK_WHILE_DOWN_AFTER;
    let mut check = check_meanwhile.then(|| Box::pin(ctx.check(Strategy::Poll, None)));
    poll_fn(|cx| {
        if let Some(Poll::Ready(answer)) = check.as_mut().map(|c| c.as_mut().poll(cx)) {
            check = None;
            if let Some(verdict) = answer.filter(|v| v.is_final()) {
                let via = Strategy::Poll;
                return Poll::Ready(Some(Final { verdict, via }));
            }
        }
        if fired(&mut wait, cx) {
            return Poll::Ready(None);
        }
        if ctx.wake.take(cx) && check.is_none() {
            ctx.wake.raise();
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}

/// What woke a session up (the arms of its `select_biased!`, in order).
enum Heard {
    /// The connection said something, or ended (`None`).
    Event(Option<PushEvent>),
    CaughtUp(Verdict),
    Woken,
    Proven,
    NotOpened,
    Silence,
}

/// Resolves when the page asks for a check now (`ctx.wake`).
fn woken(ctx: &Ctx) -> impl Future<Output = ()> + '_ {
    poll_fn(|cx| {
        if ctx.wake.take(cx) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
}

/// Resolves when the timer in `slot` fires (never while there is none).
fn until(slot: &mut Option<super::Sleep>) -> impl Future<Output = ()> + '_ {
    poll_fn(move |cx| {
        if fired(slot, cx) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
}

/// Reports a lost connection; passes on whether it had proved itself.
fn lost(ctx: &Ctx, via: Strategy, why: Lost, proven: bool) -> bool {
    let why = why.text();
    ctx.event("lost", via, Some(&why));
    ctx.report(ErrorKind::Connection, via, &why);
    proven
}

/// Why a connection counts as lost, put into words once, when reported.
enum Lost {
    /// The browser closed it or reported an error (its words, from
    /// [`PushEvent::Lost`]).
    Closed(String),
    /// No `open` within `requestTimeoutMs`.
    NotOpened { within_ms: u32 },
    /// Heartbeats stopped: nothing heard for this long.
    Silent { silent_ms: u32 },
}

impl Lost {
    fn text(self) -> String {
        match self {
            Lost::Closed(why) => why,
            Lost::NotOpened { within_ms } => {
                num_in("the connection did not open within ", within_ms, " ms")
            }
            Lost::Silent { silent_ms } => num_in(
                "nothing heard for ",
                silent_ms,
                " ms (no heartbeat): the connection is taken for dead",
            ),
        }
    }
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
