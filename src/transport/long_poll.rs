//! `"long-poll"`: each check carries `wait`, and the server may hold it until
//! the status changes. A check that came back quickly (the server ignores
//! `wait`, or failed fast) is followed by a pause, so checks still start at
//! least `intervalMs` apart.

use super::{sleep_ms, Ctx, Final};
use crate::options::Strategy;
use crate::schedule::long_poll_gap;

pub async fn run(ctx: &Ctx) -> Final {
    let wait = ctx.config.long_poll_wait_sec;
    loop {
        let started = js_sys::Date::now();
        if let Some(verdict) = ctx.check(Strategy::LongPoll, Some(wait)).await {
            if verdict.is_final() {
                return Final {
                    verdict,
                    via: Strategy::LongPoll,
                };
            }
        }
        let elapsed = (js_sys::Date::now() - started).clamp(0.0, u32::MAX as f64) as u32;
        let gap = long_poll_gap(ctx.config.interval_ms, elapsed);
        if gap > 0 {
            sleep_ms(gap).await;
        }
    }
}
