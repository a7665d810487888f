//! `"sse"`: an `EventSource` on `sseUrl?order_no=…`; every `message` event's
//! data is a status body, and a `heartbeat` event's data is
//! `{"heartbeat_ms": N}` (servers that send none are fine). The browser's own reconnect is not used: on any
//! error the source is closed and [`super::push`] reopens it with backoff.

use super::push::{Connection, PushEvent};
use super::Ctx;
use crate::hooks::describe;
use crate::schedule::with_query;
use futures::channel::mpsc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventSource, MessageEvent};

pub fn supported() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &"EventSource".into()).unwrap_or(false)
}

/// The event source and the listeners it calls; dropping it closes the
/// source and detaches them.
struct Source {
    source: EventSource,
    _on_open: Closure<dyn FnMut(Event)>,
    on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

impl Drop for Source {
    fn drop(&mut self) {
        self.source.set_onopen(None);
        self.source.set_onmessage(None);
        self.source.set_onerror(None);
        let _ = self.source.remove_event_listener_with_callback(
            "heartbeat",
            self.on_message.as_ref().unchecked_ref(),
        );
        self.source.close();
    }
}

pub fn connect(ctx: &Ctx) -> Result<Connection, String> {
    let url = with_query(&ctx.config.sse_url, &[("order_no", &ctx.order_no)]);
    let source =
        EventSource::new(&url).map_err(|e| format!("cannot open {url}: {}", describe(&e)))?;
    let (tx, rx) = mpsc::unbounded();
    let on_open = {
        let tx = tx.clone();
        Closure::<dyn FnMut(Event)>::new(move |_| {
            let _ = tx.unbounded_send(PushEvent::Open);
        })
    };
    let on_message = {
        let tx = tx.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let text = e.data().as_string().unwrap_or_default();
            let _ = tx.unbounded_send(PushEvent::Message(text));
        })
    };
    let on_error = Closure::<dyn FnMut(Event)>::new(move |_| {
        let _ = tx.unbounded_send(PushEvent::Lost(
            "the event stream failed or was closed".into(),
        ));
    });
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // A heartbeat's data is read like any message: it says it is one.
    let _ =
        source.add_event_listener_with_callback("heartbeat", on_message.as_ref().unchecked_ref());
    source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Ok(Connection::new(
        rx,
        Source {
            source,
            _on_open: on_open,
            on_message,
            _on_error: on_error,
        },
    ))
}
