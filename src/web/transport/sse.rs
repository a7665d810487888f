//! `"sse"`: a gloo-net `EventSource` on `sseUrl?order_no=…`; every `message`
//! event's data is a status body, and a `heartbeat` event's data is
//! `{"heartbeat_ms": N}` (servers that send none are fine). The browser's
//! own reconnect is not used: on any `error` event, also one the browser
//! would retry after, the connection counts as lost; dropping it closes the
//! source and [`super::push`] reopens it with backoff.

use super::{because, Connection, Ctx, PushEvent};
use crate::display::concat;
use crate::schedule::with_query;
use futures::stream::Stream;
use gloo_net::eventsource::futures::{EventSource, EventSourceSubscription};
use std::pin::Pin;
use std::task::{Context, Poll};

pub fn supported() -> bool {
    super::global_has("EventSource")
}

/// The subscriptions of one source, as one stream of [`PushEvent`]s.
/// Dropping it removes the listeners, then closes the source (the fields
/// drop in this order).
struct Source {
    /// `open`, `message`, `heartbeat`, `error`, polled in this order and
    /// told apart by position.
    events: Vec<EventSourceSubscription>,
    _source: EventSource,
}

impl Stream for Source {
    type Item = PushEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<PushEvent>> {
        for (i, sub) in self.events.iter_mut().enumerate() {
            if let Poll::Ready(next) = Pin::new(sub).poll_next(cx) {
                return Poll::Ready(Some(match (i, next) {
                    (0, Some(Ok(_))) => PushEvent::Open,
                    // A heartbeat's data is read like any message: it says it is one.
                    (1 | 2, Some(Ok((_, e)))) => {
                        PushEvent::Message(e.data().as_string().unwrap_or_default())
                    }
                    _ => PushEvent::Lost("the event stream failed or was closed".into()),
                }));
            }
        }
        Poll::Pending
    }
}

pub fn connect(ctx: &Ctx) -> Result<Connection, String> {
    let url = with_query(&ctx.config.sse_url, &[("order_no", &ctx.order_no)]);
    let failed = |what: &str, e| because(&concat(&[what, &url, ": "]), &e);
    let mut source = EventSource::new(&url).map_err(|e| failed("cannot open ", e))?;
    let mut events = Vec::new();
    for kind in ["open", "message", "heartbeat", "error"] {
        let sub = source.subscribe(kind);
        events.push(sub.map_err(|e| failed("cannot listen to ", e))?);
    }
    Ok(Box::pin(Source {
        events,
        _source: source,
    }))
}
