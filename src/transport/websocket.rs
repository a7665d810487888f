//! `"websocket"`: a gloo-net `WebSocket` on `wsUrl`; send
//! `{"order_no": …}`, read status frames. The subscribe frame waits until
//! the socket is open (gloo-net's sink is not ready before: the
//! mini-program's queue-until-open), and its sending is the `open` the
//! reconnect loop checks on; frames for another order are ignored.

use super::push::{Connection, PushEvent};
use super::{because, num_in, Ctx};
use futures::stream::Stream;
use futures::Sink;
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, State, WebSocketError};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

pub fn supported() -> bool {
    js_sys::Reflect::has(&js_sys::global(), &"WebSocket".into()).unwrap_or(false)
}

/// A socket and the subscribe frame still waiting for it to open, as one
/// stream of [`PushEvent`]s. Dropping it closes the socket (code 1000) and
/// removes its listeners.
struct Socket {
    socket: Option<WebSocket>,
    hello: Option<String>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        if let Some(socket) = self.socket.take() {
            let _ = socket.close(Some(1000), Some("watch ended"));
        }
    }
}

impl Stream for Socket {
    type Item = PushEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<PushEvent>> {
        let this = &mut *self;
        let Some(socket) = this.socket.as_mut() else {
            return Poll::Ready(None);
        };
        let mut socket = Pin::new(socket);
        if this.hello.is_some() {
            // Ready once the socket is open, or has failed to open.
            if socket.as_mut().poll_ready(cx).is_ready() {
                let hello = this.hello.take().unwrap_or_default();
                if matches!(socket.state(), State::Open) {
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
    let socket =
        WebSocket::open(url).map_err(|e| because(&["cannot open ", url, ": "].concat(), &e))?;
    // The subscribe frame, `{"order_no":"<no>","heartbeat":true}` (CONTRACT
    // §2; `heartbeat` asks for application heartbeat frames, and servers
    // that do not know it ignore it).
    let no = js_sys::JSON::stringify(&ctx.order_no.as_str().into())
        .map(String::from)
        .unwrap_or_default();
    Ok(Box::pin(Socket {
        socket: Some(socket),
        hello: Some([r#"{"order_no":"#, &no, r#","heartbeat":true}"#].concat()),
    }))
}
