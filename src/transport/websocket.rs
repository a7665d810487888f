//! `"websocket"`: open `wsUrl`, send `{"order_no": …}`, read status frames.
//! Frames sent before the socket is open wait in a queue and are flushed on
//! open (the mini-program's behaviour); frames for another order are ignored.

use super::push::{Connection, PushEvent};
use super::Ctx;
use crate::hooks::describe;
use futures::channel::mpsc;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, Event, MessageEvent, WebSocket};

pub fn supported() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &"WebSocket".into()).unwrap_or(false)
}

/// A socket, its outbox and its listeners; dropping it detaches the
/// listeners and closes the socket (code 1000).
struct Socket {
    socket: WebSocket,
    outbox: Rc<RefCell<Vec<String>>>,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Socket {
    /// Sends now if the socket is open, else queues for the `open` event.
    fn send(&self, text: String) {
        if self.socket.ready_state() == WebSocket::OPEN {
            let _ = self.socket.send_with_str(&text);
        } else {
            self.outbox.borrow_mut().push(text);
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        if self.socket.ready_state() <= WebSocket::OPEN {
            let _ = self.socket.close_with_code_and_reason(1000, "watch ended");
        }
    }
}

pub fn connect(ctx: &Ctx) -> Result<Connection, String> {
    let url = &ctx.ws_url;
    let socket = WebSocket::new(url).map_err(|e| format!("cannot open {url}: {}", describe(&e)))?;
    let (tx, rx) = mpsc::unbounded();
    let outbox: Rc<RefCell<Vec<String>>> = Rc::default();
    let on_open = {
        let (tx, outbox, socket) = (tx.clone(), outbox.clone(), socket.clone());
        Closure::<dyn FnMut(Event)>::new(move |_| {
            for frame in outbox.borrow_mut().drain(..) {
                let _ = socket.send_with_str(&frame);
            }
            let _ = tx.unbounded_send(PushEvent::Open);
        })
    };
    let on_message = {
        let tx = tx.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            // A binary frame is no status body: pass it on to be reported.
            let text = e
                .data()
                .as_string()
                .unwrap_or_else(|| "[binary frame]".into());
            let _ = tx.unbounded_send(PushEvent::Message(text));
        })
    };
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
        let why = format!("the socket closed (code {})", e.code());
        let _ = tx.unbounded_send(PushEvent::Lost(why));
    });
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let owner = Socket {
        socket,
        outbox,
        _on_open: on_open,
        _on_message: on_message,
        _on_close: on_close,
    };
    // The subscribe frame, `{"order_no":"<no>","heartbeat":true}` (CONTRACT
    // §2; `heartbeat` asks for application heartbeat frames, and servers
    // that do not know it ignore it).
    let mut hello = serde_json::Map::new();
    hello.insert("order_no".to_owned(), ctx.order_no.clone().into());
    hello.insert("heartbeat".to_owned(), true.into());
    owner.send(crate::display::json(&hello.into()));
    Ok(Connection::new(rx, owner))
}
