//! The `BroadcastChannel` of one order as an owned handle: messages arrive
//! in an inbox the watch polls; dropping the handle detaches the listener
//! and closes the channel.
//!
//! The inbox holds one message, the weightiest not read yet: a final verdict
//! is kept until read, while heartbeats only say that the leader is alive,
//! so a beat never displaces a final verdict and many beats read as one.

use crate::crosstab::Message;
use crate::signal::Signal;
use std::cell::Cell;
use std::rc::Rc;
use std::task::Context;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BroadcastChannel, MessageEvent};

/// The message heard and not yet read (see the module docs).
#[derive(Default)]
struct Inbox {
    message: Cell<Option<Message>>,
    arrived: Signal,
}

pub struct Channel {
    channel: BroadcastChannel,
    inbox: Rc<Inbox>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl Channel {
    /// Opens `name`; `None` where the browser has no `BroadcastChannel`.
    /// Messages that are not paywatch messages are dropped here.
    pub fn open(name: &str) -> Option<Channel> {
        let channel = BroadcastChannel::new(name).ok()?;
        let inbox = Rc::new(Inbox::default());
        let to = inbox.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(m) = e.data().as_string().as_deref().and_then(Message::decode) {
                let keep = match (m, to.message.take()) {
                    // A beat never displaces a final verdict.
                    (Message::Beat, Some(kept @ Message::Final { .. })) => kept,
                    (m, _) => m,
                };
                to.message.set(Some(keep));
                to.arrived.raise();
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Some(Channel {
            channel,
            inbox,
            _on_message: on_message,
        })
    }

    /// The message not read yet; if there is none, the task of `cx` is
    /// woken when one arrives. For use inside a `poll_fn`.
    pub fn next(&self, cx: &mut Context<'_>) -> Option<Message> {
        self.inbox.arrived.take(cx);
        self.inbox.message.take()
    }

    /// Tells every other tab on the channel (never this one).
    pub fn post(&self, message: &Message) {
        let _ = self.channel.post_message(&message.encode().into());
    }
}

impl Drop for Channel {
    fn drop(&mut self) {
        self.channel.set_onmessage(None);
        self.channel.close();
    }
}
