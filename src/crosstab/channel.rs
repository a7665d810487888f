//! The `BroadcastChannel` of one order as an owned handle: messages arrive
//! in an inbox the watch polls; dropping the handle detaches the listener
//! and closes the channel.

use super::policy::Message;
use crate::signal::Signal;
use std::cell::RefCell;
use std::rc::Rc;
use std::task::Context;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BroadcastChannel, MessageEvent};

/// Messages heard and not yet read, oldest first.
#[derive(Default)]
struct Inbox {
    messages: RefCell<Vec<Message>>,
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
                to.messages.borrow_mut().push(m);
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

    /// The oldest message not read yet; if there is none, the task of `cx`
    /// is woken when one arrives. For use inside a `poll_fn`.
    pub fn next(&self, cx: &mut Context<'_>) -> Option<Message> {
        self.inbox.arrived.take(cx);
        let mut messages = self.inbox.messages.borrow_mut();
        (!messages.is_empty()).then(|| messages.remove(0))
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
