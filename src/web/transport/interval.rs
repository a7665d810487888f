//! `"interval"`: a tick every `intervalMs` (the seed's `setInterval`), every
//! `slowIntervalMs` once the watch is `slowAfterMs` old; a tick that comes
//! while a check is still in flight is skipped, so a slow server never sees
//! overlapping checks from one page. A wake-up (the page came back) checks
//! at once.

use super::{fired, sleep_ms, Ctx, Final, Held};
use crate::options::Strategy;
use crate::status::Verdict;
use std::future::{poll_fn, Future};
use std::task::Poll;

pub fn run(ctx: &Ctx) -> impl Future<Output = Final> + '_ {
    let via = Strategy::Interval;
    let mut check: Option<Held<Option<Verdict>>> = None;
    // No timer yet: the first round ticks at once.
    let mut tick = None;
    poll_fn(move |cx| {
        if let Some(Poll::Ready(answer)) = check.as_mut().map(|c| c.as_mut().poll(cx)) {
            check = None;
            if let Some(verdict) = answer.filter(|v| v.is_final()) {
                return Poll::Ready(Final { verdict, via });
            }
        }
        let mut renewed = false;
        fired(&mut tick, cx);
        if tick.is_none() {
            tick = Some(sleep_ms(ctx.poll_gap()));
            renewed = true;
            if check.is_some() {
                ctx.event("skip", via, Some("previous check still in flight"));
            }
        }
        let woke = ctx.wake.take(cx) && ctx.answer_wake();
        if check.is_none() && (renewed || woke) {
            check = Some(Box::pin(ctx.check(via, None)));
            renewed = true;
        }
        if renewed {
            // The new timer or check is first polled on the next round.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    })
}
