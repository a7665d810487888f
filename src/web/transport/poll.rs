//! `"poll"`: the next check `intervalMs` after the previous one finished (the
//! seed's recursive `setTimeout`), so checks never overlap; `slowIntervalMs`
//! once the watch is `slowAfterMs` old. A wake-up (the page came back)
//! cuts the wait short.

use super::{Ctx, Final};
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
        ctx.pause(ctx.poll_gap()).await;
    }
}
