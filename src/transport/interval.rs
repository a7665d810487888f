//! `"interval"`: a tick every `intervalMs` (the seed's `setInterval`), every
//! `slowIntervalMs` once the watch is `slowAfterMs` old; a tick that comes
//! while a check is still in flight is skipped, so a slow server never sees
//! overlapping checks from one page. A wake-up (the page came back) checks
//! at once.

use super::{sleep_ms, Ctx, Final};
use crate::options::Strategy;
use futures::future::{Fuse, FusedFuture, FutureExt, LocalBoxFuture};
use futures::select;

pub async fn run(ctx: &Ctx) -> Final {
    let start_check = || ctx.check(Strategy::Interval, None).boxed_local().fuse();
    let mut check: Fuse<LocalBoxFuture<'_, _>> = start_check();
    let mut tick = sleep_ms(ctx.poll_gap()).fuse();
    loop {
        select! {
            answer = check => {
                if let Some(verdict) = answer.filter(|v| v.is_final()) {
                    return Final { verdict, via: Strategy::Interval };
                }
            }
            () = tick => {
                tick = sleep_ms(ctx.poll_gap()).fuse();
                if check.is_terminated() {
                    check = start_check();
                } else {
                    ctx.event("skip", Strategy::Interval, Some("previous check still in flight"));
                }
            }
            () = ctx.wake.wait().fuse() => {
                if ctx.answer_wake() && check.is_terminated() {
                    check = start_check();
                }
            }
        }
    }
}
