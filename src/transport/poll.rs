//! `"poll"`: the next check `intervalMs` after the previous one finished (the
//! seed's recursive `setTimeout`), so checks never overlap.

use super::{sleep_ms, Ctx, Final};
use crate::options::Strategy;

pub async fn run(ctx: &Ctx) -> Final {
    loop {
        if let Some(verdict) = ctx.check(Strategy::Poll, None).await {
            if verdict.is_final() {
                return Final {
                    verdict,
                    via: Strategy::Poll,
                };
            }
        }
        sleep_ms(ctx.config.interval_ms).await;
    }
}
