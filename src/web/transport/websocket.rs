//! `"websocket"`: a gloo-net `WebSocket` on `wsUrl`; send
//! `{"order_no": …}`, read status frames. The subscribe frame waits until
//! the socket is open (gloo-net's sink is not ready before: the
//! mini-program's queue-until-open), and its sending is the `open` the
//! reconnect loop checks on; frames for another order are ignored.

use super::{because, num_in, Connection, Ctx, PushEvent};
use crate::display::concat;
use futures::stream::Stream;
use futures::Sink;
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, WebSocketError};
use std::fmt::Display;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use wasm_bindgen::JsCast;

pub fn supported() -> bool {
    super::global_has("WebSocket")
}

/// A socket and the subscribe frame still waiting for it to open, as one
/// stream of [`PushEvent`]s. Dropping it closes the socket (code 1000), then
/// gloo-net's `WebSocket` removes its listeners.
struct Socket {
    /// The browser's socket under `socket`, kept to close it with a code.
    raw: web_sys::WebSocket,
    socket: WebSocket,
    hello: Option<String>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = self.raw.close_with_code_and_reason(1000, "watch ended");
    }
}

impl Stream for Socket {
    type Item = PushEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<PushEvent>> {
        let this = &mut *self;
        let mut socket = Pin::new(&mut this.socket);
        if this.hello.is_some() {
            // Ready once the socket is open, or has failed to open.
            if socket.as_mut().poll_ready(cx).is_ready() {
                let hello = this.hello.take().unwrap_or_default();
                if this.raw.ready_state() == web_sys::WebSocket::OPEN {
                    let _ = socket.as_mut().start_send(Message::Text(hello));
                    return Poll::Ready(Some(PushEvent::Open));
                }
            }
        }
        loop {
            return Poll::Ready(Some(match ready!(socket.as_mut().poll_next(cx)) {
                Some(Ok(Message::Text(text))) => PushEvent::Message(text),
                // A binary frame is no status body: pass it on to be reported.
                Some(Ok(Message::Bytes(_))) => PushEvent::Message("[binary frame]".into()),
                // The close event that follows says more.
                Some(Err(WebSocketError::ConnectionError)) => continue,
                Some(Err(WebSocketError::ConnectionClose(e))) => {
                    PushEvent::Lost(num_in("the socket closed (code ", e.code.into(), ")"))
                }
                Some(Err(WebSocketError::MessageSendError(e))) => {
                    PushEvent::Lost(because("the socket failed: ", &e))
                }
                Some(Err(_)) => PushEvent::Lost("the socket failed".into()),
                None => return Poll::Ready(None),
            }));
        }
    }
}

pub fn connect(ctx: &Ctx) -> Result<Connection, String> {
    let url = &ctx.ws_url;
    let failed = |e: &dyn Display| because(&concat(&["cannot open ", url, ": "]), e);
    // What `WebSocket::open` does, keeping the browser's socket too. Its
    // error reads like gloo-net's: the error's `toString()`.
    let raw = web_sys::WebSocket::new(url)
        .map_err(|e| failed(&e.unchecked_into::<js_sys::Error>().to_string()))?;
    let socket = WebSocket::try_from(raw.clone()).map_err(|e| failed(&e))?;
    // The subscribe frame, `{"order_no":"<no>","heartbeat":true}` (CONTRACT
    // §2; `heartbeat` asks for application heartbeat frames, and servers
    // that do not know it ignore it).
    let no = crate::web::body::json(&ctx.order_no.as_str().into());
    Ok(Box::pin(Socket {
        raw,
        socket,
        hello: Some(concat(&[r#"{"order_no":"#, &no, r#","heartbeat":true}"#])),
    }))
}
