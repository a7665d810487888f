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
    use super::lock::{self, Ask, Lock};
    use super::policy::{
        channel_name, lead_lock, silence_limit, Message, Source, BEAT_MS, TAKEOVER_GRACE_MS,
    };
    use crate::transport::{self, sleep_ms, Ctx, Final};
    use futures::channel::mpsc::UnboundedReceiver;
    use futures::future::pending;
    use futures::{select, FutureExt, StreamExt};

    /// Watches the order until a final verdict, and says how it was learned.
    /// With `crossTab`, a tab follows while another tab leads, then leads;
    /// without Web Locks or with `shareWatch: false` it watches on its own
    /// but still tells and hears the other tabs; without `crossTab` it is
    /// just the transport.
    pub async fn run(ctx: &Ctx) -> (Final, Source) {
        let opened = ctx
            .config
            .cross_tab
            .then(|| Channel::open(&channel_name(&ctx.order_no)))
            .flatten();
        let (channel, mut heard) = opened.unzip();
        let locks = if channel.is_some() && ctx.config.share_watch {
            lock::manager()
        } else {
            None
        };
        let name = lead_lock(&ctx.order_no);
        let mut ask = Ask::Wait;
        loop {
            // Follow until this tab gets the lead (or there is no election).
            let mut lock: Option<Lock> = None;
            let mut followed = ask == Ask::Steal;
            if let (Some(locks), Some(heard)) = (&locks, heard.as_mut()) {
                let acquire = lock::acquire(locks, &name, ask).fuse();
                let follow = follow(ctx, heard, &mut followed).fuse();
                futures::pin_mut!(acquire, follow);
                select! {
                    got = acquire => {
                        // `Err`: the browser refused the lock: watch alone.
                        lock = got.ok().flatten();
                        ask = Ask::Wait;
                        if lock.is_some() {
                            ctx.event("lead", ctx.config.strategy, None);
                        }
                    }
                    heard = follow => match heard {
                        Some(f) => return (f, Source::Tab),
                        // Silence: the leader is frozen or hung; take over.
                        None => {
                            ask = Ask::Steal;
                            continue;
                        }
                    },
                }
            }
            let leads = lock.is_some();
            let watch = async {
                if followed {
                    // Another tab led: let its last word arrive first.
                    sleep_ms(TAKEOVER_GRACE_MS).await;
                }
                transport::run(ctx).await
            };
            let stolen = async {
                match lock.as_mut() {
                    Some(lock) => lock.stolen().await,
                    None => pending().await,
                }
            };
            select! {
                // Told while the lock is still held: a follower that gets
                // it next has heard the outcome first.
                f = watch.fuse() => {
                    if let Some(c) = &channel {
                        c.post(&Message::Final { verdict: f.verdict, via: f.via });
                    }
                    return (f, Source::Server);
                }
                () = beat(channel.as_ref().filter(|_| leads)).fuse() => {}
                f = told(heard.as_mut()).fuse() => return (f, Source::Tab),
                () = stolen.fuse() => {
                    // Frozen for a while; another tab leads now.
                    ctx.event("follow", ctx.config.strategy, Some("the lead was taken over"));
                }
            }
        }
    }

    /// Waits for a final message (`Some`) or for the leader's silence
    /// (`None`). `followed` turns true when another tab was heard leading.
    async fn follow(
        ctx: &Ctx,
        heard: &mut UnboundedReceiver<Message>,
        followed: &mut bool,
    ) -> Option<Final> {
        loop {
            let limit = silence_limit(js_sys::Math::random());
            select! {
                m = heard.next() => match m {
                    Some(Message::Final { verdict, via }) => return Some(Final { verdict, via }),
                    Some(Message::Beat) => {
                        if !*followed {
                            *followed = true;
                            ctx.event("follow", ctx.config.strategy, None);
                        }
                    }
                    None => pending::<()>().await,
                },
                () = sleep_ms(limit).fuse() => return None,
            }
        }
    }

    /// The first final message another tab sends; never, without a channel.
    async fn told(heard: Option<&mut UnboundedReceiver<Message>>) -> Final {
        if let Some(heard) = heard {
            while let Some(m) = heard.next().await {
                if let Message::Final { verdict, via } = m {
                    return Final { verdict, via };
                }
            }
        }
        pending().await
    }

    /// The leader's heartbeat, at once and then every [`BEAT_MS`]; never
    /// ends. Silent for a tab that does not lead.
    async fn beat(channel: Option<&Channel>) {
        if let Some(channel) = channel {
            loop {
                channel.post(&Message::Beat);
                sleep_ms(BEAT_MS).await;
            }
        }
        pending().await
    }
}
