//! `"interval"`: a tick every `intervalMs` (the seed's `setInterval`), but a
//! tick that comes while a check is still in flight is skipped, so a slow
//! server never sees overlapping checks from one page.

use super::{Ctx, Final};
use crate::options::Strategy;
use futures::future::{Fuse, FusedFuture, FutureExt, LocalBoxFuture};
use futures::{select, StreamExt};
use gloo_timers::future::IntervalStream;

pub async fn run(ctx: &Ctx) -> Final {
    let start_check = || ctx.check(Strategy::Interval, None).boxed_local().fuse();
    let mut check: Fuse<LocalBoxFuture<'_, _>> = start_check();
    let mut ticks = IntervalStream::new(ctx.config.interval_ms).fuse();
    loop {
        select! {
            answer = check => {
                if let Some(verdict) = answer.filter(|v| v.is_final()) {
                    return Final { verdict, via: Strategy::Interval };
                }
            }
            _ = ticks.next() => {
                if check.is_terminated() {
                    check = start_check();
                } else {
                    ctx.event("skip", Strategy::Interval, Some("previous check still in flight"));
                }
            }
        }
    }
}
