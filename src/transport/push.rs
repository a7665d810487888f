//! The reconnect loop shared by the push transports (SSE, WebSocket).
//!
//! Each (re)open is followed by one HTTP check, so a payment made while the
//! connection was down is still seen (CONTRACT semantics 5). A lost
//! connection is reopened after an exponential, jittered, capped delay; after
//! a few failures in a row an HTTP check also runs during each wait, so a push
//! endpoint that stays down does not hide a payment either.

use super::{sleep_ms, Ctx, Final};
use crate::hooks::ErrorKind;
use crate::options::Strategy;
use crate::schedule::Backoff;
use futures::channel::mpsc::UnboundedReceiver;
use futures::future::{Fuse, FutureExt, LocalBoxFuture};
use futures::{pin_mut, select, StreamExt};
use std::any::Any;

/// First reconnect delay (before jitter) and the most it grows to.
const RECONNECT_BASE_MS: u32 = 500;
const RECONNECT_CAP_MS: u32 = 30_000;
/// Failed (re)connects in a row after which the waits also check over HTTP.
const CHECK_WHILE_DOWN_AFTER: u32 = 3;

/// What a push connection tells the loop.
#[derive(Debug)]
pub enum PushEvent {
    Open,
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
/// (`None`) if the very first connection never opens, so `"auto"` can try the
/// next transport; without it, `None` is never returned.
pub async fn run(
    ctx: &Ctx,
    via: Strategy,
    connect: fn(&Ctx) -> Result<Connection, String>,
    fall_back: bool,
) -> Option<Final> {
    let mut backoff = Backoff::new(RECONNECT_BASE_MS, RECONNECT_CAP_MS);
    let mut ever_opened = false;
    loop {
        ctx.count_attempt();
        ctx.event("connect", via, None);
        match connect(ctx) {
            Ok(mut conn) => {
                if let Some(done) =
                    session(ctx, via, &mut conn, &mut backoff, &mut ever_opened).await
                {
                    return Some(done);
                }
            }
            Err(why) => ctx.report(ErrorKind::Connection, via, &why),
        }
        if fall_back && !ever_opened {
            return None;
        }
        let delay = backoff.next_delay(js_sys::Math::random());
        ctx.event("reconnect", via, Some(&format!("in {delay} ms")));
        if backoff.failures() >= CHECK_WHILE_DOWN_AFTER {
            if let Some(done) = check_while_waiting(ctx, delay).await {
                return Some(done);
            }
        } else {
            sleep_ms(delay).await;
        }
    }
}

/// Reads one connection until it is lost (`None`) or reports a final verdict.
async fn session(
    ctx: &Ctx,
    via: Strategy,
    conn: &mut Connection,
    backoff: &mut Backoff,
    ever_opened: &mut bool,
) -> Option<Final> {
    let mut catch_up: Fuse<LocalBoxFuture<'_, _>> = Fuse::terminated();
    loop {
        select! {
            event = conn.events.next() => match event {
                Some(PushEvent::Open) => {
                    *ever_opened = true;
                    backoff.reset();
                    ctx.event("open", via, None);
                    catch_up = ctx.check(Strategy::Poll, None).boxed_local().fuse();
                }
                Some(PushEvent::Message(text)) => {
                    if let Some(verdict) = ctx.read_push(via, &text).filter(|v| v.is_final()) {
                        return Some(Final { verdict, via });
                    }
                }
                Some(PushEvent::Lost(why)) => {
                    ctx.event("lost", via, Some(&why));
                    ctx.report(ErrorKind::Connection, via, &why);
                    return None;
                }
                None => return None,
            },
            answer = catch_up => {
                if let Some(verdict) = answer.filter(|v| v.is_final()) {
                    return Some(Final { verdict, via: Strategy::Poll });
                }
            }
        }
    }
}

/// Waits `delay_ms`, making one HTTP check meanwhile.
async fn check_while_waiting(ctx: &Ctx, delay_ms: u32) -> Option<Final> {
    let wait = sleep_ms(delay_ms).fuse();
    let check = ctx.check(Strategy::Poll, None).fuse();
    pin_mut!(wait, check);
    loop {
        select! {
            answer = check => {
                if let Some(verdict) = answer.filter(|v| v.is_final()) {
                    return Some(Final { verdict, via: Strategy::Poll });
                }
            }
            _ = wait => return None,
        }
    }
}
