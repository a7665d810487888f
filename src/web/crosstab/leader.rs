//! The leader loop of one watch across tabs: lead (run the transport,
//! beat, tell the outcome) or follow (listen, take over on silence).

use super::channel::Channel;
use super::lock::{self, Ask, Lock};
use crate::crosstab::{
    channel_name, lead_lock, silence_limit, Message, Source, BEAT_MS, TAKEOVER_GRACE_MS,
};
use crate::web::transport::{self, fired, sleep_ms, Ctx, Final, Sleep};
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;

/// How a round of following ended.
enum Followed {
    /// This tab holds the lead (`None`: the browser refused the lock:
    /// watch alone).
    Leads(Option<Lock>),
    /// Another tab told the final verdict.
    Told(Final),
    /// The leader fell silent: it is frozen or hung.
    Silence,
}

/// How long a follower waits for the leader's next heartbeat.
fn silence_timer() -> Option<Sleep> {
    Some(sleep_ms(silence_limit(js_sys::Math::random())))
}

/// Watches the order until a final verdict, and says how it was learned.
/// With `crossTab`, a tab follows while another tab leads, then leads;
/// without Web Locks or with `shareWatch: false` it watches on its own
/// but still tells and hears the other tabs; without `crossTab` it is
/// just the transport.
pub async fn run(ctx: &Ctx) -> (Final, Source) {
    let channel = ctx
        .config
        .cross_tab
        .then(|| Channel::open(&channel_name(&ctx.order_no)))
        .flatten();
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
        if let (Some(locks), Some(channel)) = (&locks, &channel) {
            let mut acquire = pin!(lock::acquire(locks, &name, ask));
            let mut silence = silence_timer();
            let round = poll_fn(|cx| {
                if let Poll::Ready(got) = acquire.as_mut().poll(cx) {
                    // `Err`: the browser refused the lock.
                    return Poll::Ready(Followed::Leads(got.ok().flatten()));
                }
                while let Some(m) = channel.next(cx) {
                    let Message::Final { verdict, via } = m else {
                        if !followed {
                            followed = true;
                            ctx.event("follow", ctx.config.strategy, None);
                        }
                        silence = silence_timer();
                        continue;
                    };
                    return Poll::Ready(Followed::Told(Final { verdict, via }));
                }
                if fired(&mut silence, cx) {
                    return Poll::Ready(Followed::Silence);
                }
                Poll::Pending
            })
            .await;
            match round {
                Followed::Leads(got) => {
                    lock = got;
                    ask = Ask::Wait;
                    if lock.is_some() {
                        ctx.event("lead", ctx.config.strategy, None);
                    }
                }
                Followed::Told(f) => return (f, Source::Tab),
                // Take over.
                Followed::Silence => {
                    ask = Ask::Steal;
                    continue;
                }
            }
        }
        // The leader's heartbeat, at once and then every `BEAT_MS`.
        let beat = |channel: &Channel| {
            channel.post(&Message::Beat);
            Some(sleep_ms(BEAT_MS))
        };
        let mut beats = channel.as_ref().filter(|_| lock.is_some()).and_then(beat);
        // Another tab led: let its last word arrive first.
        let mut grace = followed.then(|| sleep_ms(TAKEOVER_GRACE_MS));
        let mut watch = pin!(transport::run(ctx));
        let told = poll_fn(|cx| {
            let in_grace = grace.is_some() && !fired(&mut grace, cx);
            if let Some(Poll::Ready(f)) = (!in_grace).then(|| watch.as_mut().poll(cx)) {
                // Told while the lock is still held: a follower that gets
                // it next has heard the outcome first.
                if let Some(c) = &channel {
                    c.post(&Message::Final {
                        verdict: f.verdict,
                        via: f.via,
                    });
                }
                return Poll::Ready(Some((f, Source::Server)));
            }
            while let Some(m) = channel.as_ref().and_then(|c| c.next(cx)) {
                if let Message::Final { verdict, via } = m {
                    return Poll::Ready(Some((Final { verdict, via }, Source::Tab)));
                }
            }
            if lock.as_mut().is_some_and(|l| l.stolen(cx)) {
                return Poll::Ready(None);
            }
            while fired(&mut beats, cx) {
                beats = channel.as_ref().and_then(beat);
            }
            Poll::Pending
        })
        .await;
        match told {
            Some(told) => return told,
            // Frozen for a while; another tab leads now.
            None => ctx.event(
                "follow",
                ctx.config.strategy,
                Some("the lead was taken over"),
            ),
        }
    }
}
