//! One browser, one conversion: the tabs of one browser profile that watch
//! the same order cooperate (CONTRACT §4, addition 11).
//!
//! - **One watcher per order.** The tabs elect a leader with the Web Lock
//!   `paywatch:lead:<order>`; only the leader runs the transport. The others
//!   follow: they make no request and listen on the order's
//!   `BroadcastChannel`. When the leader's tab closes its lock goes at once;
//!   when it is frozen or hung its heartbeats stop, and after
//!   [`policy::SILENCE_MS`] a follower steals the lock. Either way the new
//!   leader checks at once.
//! - **Tell the other tabs.** A tab whose own transport saw the order paid,
//!   closed or expired tells the channel; every tab watching it settles with
//!   that outcome (`outcome.source` `"tab"`), without a request.
//! - **Analytics once.** [`first_to_fire`] decides, with a durable marker in
//!   `localStorage` and the claim lock, which one tab fires the analytics.
//!   `onStatus`, `onPaid` and the promise still happen in every tab.
//!
//! Without Web Locks every tab runs its own transport (the channel and the
//! marker still apply); `crossTab: false` turns all of it off.
//!
//! [`policy`] holds the pure rules (names, marker, messages, timings).

pub mod policy;

#[cfg(target_arch = "wasm32")]
mod channel;
#[cfg(target_arch = "wasm32")]
mod claim;
#[cfg(target_arch = "wasm32")]
mod lock;

#[cfg(target_arch = "wasm32")]
pub use browser::run;
#[cfg(target_arch = "wasm32")]
pub use claim::first_to_fire;

#[cfg(target_arch = "wasm32")]
mod browser {
    use super::channel::Channel;
    use super::lock::{self, Ask};
    use super::policy::{
        channel_name, lead_lock, silence_limit, Message, Source, BEAT_MS, TAKEOVER_GRACE_MS,
    };
    use crate::transport::{self, sleep_ms, Ctx, Final};
    use futures::channel::mpsc::UnboundedReceiver;
    use futures::{select, FutureExt, StreamExt};

    /// Watches the order across tabs until a final verdict: leads or
    /// follows, or runs alone. Says how the verdict was learned.
    pub async fn run(ctx: &Ctx) -> (Final, Source) {
        if !ctx.config.cross_tab {
            return (transport::run(ctx).await, Source::Server);
        }
        let Some((channel, mut heard)) = Channel::open(&channel_name(&ctx.order_no)) else {
            return (transport::run(ctx).await, Source::Server);
        };
        let locks = lock::manager().filter(|_| ctx.config.share_watch);
        match locks {
            Some(locks) => lead_or_follow(ctx, &locks, &channel, &mut heard).await,
            None => alone(ctx, &channel, &mut heard).await,
        }
    }

    /// This tab's own transport, until it or another tab sees a final status.
    async fn alone(
        ctx: &Ctx,
        channel: &Channel,
        heard: &mut UnboundedReceiver<Message>,
    ) -> (Final, Source) {
        select! {
            f = transport::run(ctx).fuse() => (tell(channel, f), Source::Server),
            f = told(heard).fuse() => (f, Source::Tab),
        }
    }

    /// Tells the other tabs what this tab's transport saw.
    fn tell(channel: &Channel, f: Final) -> Final {
        channel.post(&Message::Final {
            verdict: f.verdict,
            via: f.via,
        });
        f
    }

    /// What a follower heard while waiting for the lead.
    enum Heard {
        Final(Final),
        /// No heartbeat for a while: the leader is frozen or hung.
        Silence,
    }

    async fn lead_or_follow(
        ctx: &Ctx,
        locks: &wasm_bindgen::JsValue,
        channel: &Channel,
        heard: &mut UnboundedReceiver<Message>,
    ) -> (Final, Source) {
        let name = lead_lock(&ctx.order_no);
        let mut ask = Ask::Wait;
        loop {
            let mut followed = ask == Ask::Steal;
            let acquired = {
                let acquire = lock::acquire(locks, &name, ask).fuse();
                let follow = follow(ctx, heard, &mut followed).fuse();
                futures::pin_mut!(acquire, follow);
                select! {
                    lock = acquire => lock,
                    h = follow => match h {
                        Heard::Final(f) => return (f, Source::Tab),
                        Heard::Silence => {
                            ask = Ask::Steal;
                            continue;
                        }
                    },
                }
            };
            let mut lock = match acquired {
                Ok(Some(lock)) => lock,
                // The browser refused: watch alone, still listening.
                _ => return alone(ctx, channel, heard).await,
            };
            ask = Ask::Wait;
            ctx.event("lead", ctx.config.strategy, None);
            let watch = async {
                if followed {
                    // Another tab led: let its last word arrive first.
                    sleep_ms(TAKEOVER_GRACE_MS).await;
                }
                transport::run(ctx).await
            };
            select! {
                // Told while the lock is still held: a follower that gets
                // it next has heard the outcome first.
                f = watch.fuse() => return (tell(channel, f), Source::Server),
                () = beat(channel).fuse() => {}
                f = told(heard).fuse() => return (f, Source::Tab),
                () = lock.stolen().fuse() => {
                    // Frozen for a while; another tab leads now.
                    ctx.event("follow", ctx.config.strategy, Some("the lead was taken over"));
                }
            }
        }
    }

    /// Waits for a final message or for the leader's silence. `followed`
    /// turns true when another tab was heard leading.
    async fn follow(
        ctx: &Ctx,
        heard: &mut UnboundedReceiver<Message>,
        followed: &mut bool,
    ) -> Heard {
        loop {
            let limit = silence_limit(js_sys::Math::random());
            select! {
                m = heard.next() => match m {
                    Some(Message::Final { verdict, via }) => return Heard::Final(Final { verdict, via }),
                    Some(Message::Beat) => {
                        if !*followed {
                            *followed = true;
                            ctx.event("follow", ctx.config.strategy, None);
                        }
                    }
                    None => futures::future::pending::<()>().await,
                },
                () = sleep_ms(limit).fuse() => return Heard::Silence,
            }
        }
    }

    /// The first final message another tab sends.
    async fn told(heard: &mut UnboundedReceiver<Message>) -> Final {
        while let Some(m) = heard.next().await {
            if let Message::Final { verdict, via } = m {
                return Final { verdict, via };
            }
        }
        futures::future::pending().await
    }

    /// The leader's heartbeat, at once and then every [`BEAT_MS`]; never ends.
    async fn beat(channel: &Channel) {
        loop {
            channel.post(&Message::Beat);
            sleep_ms(BEAT_MS).await;
        }
    }
}
