//! `"poll"`: the next check `intervalMs` after the previous one finished (the
//! seed's recursive `setTimeout`), so checks never overlap; `slowIntervalMs`
//! once the watch is `slowAfterMs` old. A wake-up (the page came back)
//! cuts the wait short.

use super::{sleep_ms, Ctx, Final};
use crate::options::Strategy;
use futures::{select, FutureExt};

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
        let gap = sleep_ms(ctx.poll_gap()).fuse();
        futures::pin_mut!(gap);
        loop {
            select! {
                () = gap => break,
                () = ctx.wake.wait().fuse() => if ctx.answer_wake() { break },
            }
        }
    }
}
