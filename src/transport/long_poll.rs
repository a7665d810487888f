//! `"long-poll"`: each check carries `wait`, and the server may hold it until
//! the status changes. A check that came back quickly (the server ignores
//! `wait`, or failed fast) is followed by a pause, so checks still start at
//! least `intervalMs` apart (`slowIntervalMs` later on).
//!
//! A wake-up (the page came back) replaces a request held for a while with
//! a fresh one: after a freeze or a network change the held one may be
//! dead without knowing it. Still one request at a time.

use super::{Ctx, Final, WAKE_QUIET_MS};
use crate::options::Strategy;
use crate::schedule::long_poll_gap;
use crate::status::Verdict;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;

/// Failed checks in a row after which `"auto"` steps down to polling.
const STEP_DOWN_AFTER: u32 = 3;

/// Watches until a final verdict. With `step_down`, gives up (`None`) after
/// [`STEP_DOWN_AFTER`] failed checks in a row, so `"auto"` can poll instead.
pub async fn run(ctx: &Ctx, step_down: bool) -> Option<Final> {
    let wait = ctx.config.long_poll_wait_sec;
    let mut failures = 0;
    loop {
        let started = js_sys::Date::now();
        let mut check = pin!(ctx.check(Strategy::LongPoll, Some(wait)));
        // A wake-up replaces a request held for a while (dropped: aborted).
        let held = poll_fn(|cx| {
            if let Poll::Ready(answer) = check.as_mut().poll(cx) {
                return Poll::Ready(Held::Answer(answer));
            }
            if ctx.wake.take(cx) && ctx.since_check_started() >= WAKE_QUIET_MS {
                let detail = "the page came back: a fresh request";
                ctx.event("replace", Strategy::LongPoll, Some(detail));
                return Poll::Ready(Held::Replaced);
            }
            Poll::Pending
        })
        .await;
        match held {
            Held::Answer(Some(verdict)) if verdict.is_final() => {
                return Some(Final {
                    verdict,
                    via: Strategy::LongPoll,
                })
            }
            Held::Answer(Some(_)) => failures = 0,
            Held::Answer(None) => failures += 1,
            Held::Replaced => continue,
        }
        if step_down && failures >= STEP_DOWN_AFTER {
            return None;
        }
        let elapsed = (js_sys::Date::now() - started).clamp(0.0, u32::MAX as f64) as u32;
        let gap = long_poll_gap(ctx.poll_gap(), elapsed);
        if gap > 0 {
            ctx.pause(gap).await;
        }
    }
}

enum Held {
    Answer(Option<Verdict>),
    /// A wake-up replaced the held request.
    Replaced,
}
