//! `"long-poll"`: each check carries `wait`, and the server may hold it until
//! the status changes. A check that came back quickly (the server ignores
//! `wait`, or failed fast) is followed by a pause, so checks still start at
//! least `intervalMs` apart (`slowIntervalMs` later on).
//!
//! A wake-up (the page came back) replaces a request held for a while with
//! a fresh one: after a freeze or a network change the held one may be
//! dead without knowing it. Still one request at a time.

use super::{Ctx, Final, Held, WAKE_QUIET_MS};
use crate::options::Strategy;
use crate::schedule::long_poll_gap;
use std::future::{poll_fn, Future};
use std::task::{ready, Poll};

/// Failed checks in a row after which `"auto"` steps down to polling.
const STEP_DOWN_AFTER: u32 = 3;

/// Watches until a final verdict. With `step_down`, gives up (`None`) after
/// [`STEP_DOWN_AFTER`] failed checks in a row, so `"auto"` can poll instead.
pub fn run(ctx: &Ctx, step_down: bool) -> impl Future<Output = Option<Final>> + '_ {
    let via = Strategy::LongPoll;
    let wait = ctx.config.long_poll_wait_sec;
    let mut failures = 0;
    // One at a time: the held check (and when it started) or the pause
    // after it; when neither, a check starts.
    let mut check = None;
    let mut started = 0.0;
    let mut pause: Option<Held<()>> = None;
    poll_fn(move |cx| loop {
        if let Some(p) = &mut pause {
            ready!(p.as_mut().poll(cx));
            pause = None;
        }
        let Some(held) = &mut check else {
            started = js_sys::Date::now();
            check = Some(Box::pin(ctx.check(via, Some(wait))));
            continue;
        };
        let Poll::Ready(answer) = held.as_mut().poll(cx) else {
            // A wake-up replaces a request held for a while (dropped: aborted).
            if ctx.wake.take(cx) && ctx.since_check_started() >= WAKE_QUIET_MS {
                let detail = "the page came back: a fresh request";
                ctx.event("replace", via, Some(detail));
                check = None;
                continue;
            }
            return Poll::Pending;
        };
        check = None;
        match answer {
            Some(verdict) if verdict.is_final() => {
                return Poll::Ready(Some(Final { verdict, via }))
            }
            Some(_) => failures = 0,
            None => failures += 1,
        }
        if step_down && failures >= STEP_DOWN_AFTER {
            return Poll::Ready(None);
        }
        let elapsed = (js_sys::Date::now() - started).clamp(0.0, u32::MAX as f64) as u32;
        let gap = long_poll_gap(ctx.poll_gap(), elapsed);
        if gap > 0 {
            pause = Some(Box::pin(ctx.pause(gap)));
        }
    })
}
