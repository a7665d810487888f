//! The `BroadcastChannel` of one order as an owned handle: messages arrive
//! on a stream; dropping the handle detaches the listener and closes the
//! channel.

use super::policy::Message;
use futures::channel::mpsc::{self, UnboundedReceiver};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BroadcastChannel, MessageEvent};

pub struct Channel {
    channel: BroadcastChannel,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl Channel {
    /// Opens `name`; `None` where the browser has no `BroadcastChannel`.
    /// Messages that are not paywatch messages are dropped here.
    pub fn open(name: &str) -> Option<(Channel, UnboundedReceiver<Message>)> {
        let channel = BroadcastChannel::new(name).ok()?;
        let (tx, rx) = mpsc::unbounded();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(m) = e.data().as_string().as_deref().and_then(Message::decode) {
                let _ = tx.unbounded_send(m);
            }
        });
        channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Some((
            Channel {
                channel,
                _on_message: on_message,
            },
            rx,
        ))
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
