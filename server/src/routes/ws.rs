//! `GET /ws` — WebSocket.
//!
//! The client sends text frames `{"order_no":"…"}`; each subscribes that
//! order on this socket (several orders per socket are fine, a repeat is
//! answered with the current status only). For each subscription the server
//! sends the current status body at once, then one frame per change.
//!
//! * unknown order → `{"error":"unknown order","order_no":"…"}`, socket stays;
//! * a frame that is not such JSON → `{"error":"bad request"}`, socket stays;
//! * a WebSocket Ping every `--heartbeat-ms`; client pings are answered
//!   (the WebSocket layer sends the Pong);
//! * a subscribe frame with `"heartbeat": true` also asks for an
//!   application heartbeat: the text frame `{"heartbeat_ms":N}` every
//!   `--heartbeat-ms`, which scripts can see (browsers hide pings). Older
//!   clients that never ask get none;
//! * when the client closes, or the socket breaks, every subscription task
//!   of the socket is aborted; on server shutdown the server sends Close 1001.
//!
//! Design: one task owns the socket (reads, writes, heartbeat); each
//! subscription is a small task that turns `watch` changes into frames and
//! hands them to the socket task through an mpsc channel.
//!
//! Bounds: a 4 KiB read buffer, frames and messages of at most 4 KiB (a
//! bigger one closes the socket with 1009 and is never echoed), order
//! numbers of at most 128 bytes; the socket and each subscription take one
//! of the client address's waiter places. On shutdown the socket gets Close
//! 1001 and a moment to answer it before the connection closes.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};

use super::sse::recv_control;
use crate::doors::{self, ClientAddr, WaiterSlot};
use crate::error::ApiError;
use crate::hooks::{Control, GaugeKind};
use crate::limits::{MAX_WS_MESSAGE_BYTES, WS_MAX_WRITE_BUFFER_BYTES, WS_READ_BUFFER_BYTES};
use crate::metrics::Transport;
use crate::store::now_ms;
use crate::{wait_shutdown, AppState};

/// How long a closing socket waits for the client's Close reply.
const CLOSE_REPLY_WAIT: Duration = Duration::from_secs(2);

pub async fn upgrade(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    ws: WebSocketUpgrade,
) -> Response {
    let Some(slot) = state.doors.waiters.acquire(client.ip()) else {
        return doors::too_many_waiters();
    };
    let session = state.tasks.track();
    ws.read_buffer_size(WS_READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_write_buffer_size(WS_MAX_WRITE_BUFFER_BYTES)
        .max_message_size(MAX_WS_MESSAGE_BYTES)
        .max_frame_size(MAX_WS_MESSAGE_BYTES)
        .on_upgrade(move |socket| {
            session.run(async move {
                let _slot = slot;
                serve_socket(state, socket, client.ip()).await;
            })
        })
}

#[derive(Deserialize)]
struct Subscribe {
    order_no: String,
    /// Ask for application heartbeat frames on this socket.
    #[serde(default)]
    heartbeat: bool,
    /// The order's watch token (`--watch-secret-file`).
    #[serde(default)]
    token: Option<String>,
}

/// What subscription tasks ask the socket task to do.
enum Out {
    Text(String),
    /// Refused (by a test hook, or because the order store is unreachable):
    /// send `{"error": <reason>, "order_no"}`, then Close 1013 (try again
    /// later), so the client reconnects and subscribes again.
    Refuse(String, &'static str),
    /// Test-hook drop: close the connection abruptly (no close frame).
    Drop,
    /// Test-hook blackhole: send nothing more, keep the connection open.
    Blackhole,
}

async fn serve_socket(state: AppState, mut socket: WebSocket, client: IpAddr) {
    let (out_tx, mut out_rx) = mpsc::channel::<Out>(64);
    // Dropping the set aborts every subscription task.
    let mut tasks = JoinSet::new();
    let mut subscribed: HashMap<String, AbortHandle> = HashMap::new();
    let mut heartbeat = tokio::time::interval(state.config.heartbeat);
    heartbeat.reset(); // first tick one interval from now, not at once
    let mut shutdown = state.shutdown.clone();
    // Whether a subscription asked for heartbeat frames, and whether a test
    // hook has made this socket go silent.
    let mut app_heartbeat = false;
    let mut silent = false;

    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let msg = match incoming {
                    Some(Ok(msg)) => msg,
                    // Client closed, or the connection broke.
                    None => break,
                    Some(Err(e)) => {
                        if let Some((code, reason)) = close_for(e) {
                            let _ = socket.send(close(code, reason)).await;
                        }
                        break;
                    }
                };
                let text = match msg {
                    Message::Text(t) => t.as_str().to_owned(),
                    Message::Binary(b) => match String::from_utf8(b.to_vec()) {
                        Ok(t) => t,
                        Err(_) => {
                            if send_json(&mut socket, json!({"error": "bad request"})).await.is_err() {
                                break;
                            }
                            continue;
                        }
                    },
                    // Pongs are answered by the WebSocket layer itself.
                    Message::Ping(_) | Message::Pong(_) => continue,
                    Message::Close(_) => break,
                };
                let reply = match serde_json::from_str::<Subscribe>(&text) {
                    Ok(Subscribe { order_no, heartbeat, token }) if !order_no.is_empty() => {
                        match super::check_order_no(&order_no)
                            .and_then(|()| state.may_watch(&order_no, token.as_deref()))
                        {
                            Err(refused @ ApiError::Forbidden(_)) => {
                                // A watch without its token: the socket is
                                // closed with 1008 (policy violation).
                                let reason = refused.message();
                                let _ = send_json(&mut socket, json!({"error": reason, "order_no": order_no})).await;
                                close_and_wait(&mut socket, close_code::POLICY, "watch token refused").await;
                                break;
                            }
                            Ok(()) => {
                                let muted = state.hooks.as_ref().is_some_and(|h| h.behavior(&order_no).no_heartbeat);
                                app_heartbeat |= heartbeat && !muted;
                                subscribe(&state, &mut tasks, &mut subscribed, &out_tx, order_no, client).await
                            }
                            Err(e) => Some(json!({"error": e.message()})),
                        }
                    }
                    _ => Some(json!({"error": "bad request"})),
                };
                if silent {
                    continue;
                }
                if let Some(reply) = reply {
                    if send_json(&mut socket, reply).await.is_err() {
                        break;
                    }
                }
            }
            Some(out) = out_rx.recv() => match out {
                _ if silent => {}
                Out::Blackhole => silent = true,
                Out::Text(text) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Out::Refuse(order_no, reason) => {
                    let _ = send_json(&mut socket, json!({"error": reason, "order_no": order_no})).await;
                    close_and_wait(&mut socket, close_code::AGAIN, reason).await;
                    break;
                }
                Out::Drop => break,
            },
            _ = heartbeat.tick(), if !silent => {
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
                let beat = super::sse::heartbeat_body(state.config.heartbeat);
                if app_heartbeat && send_json(&mut socket, beat).await.is_err() {
                    break;
                }
            }
            _ = wait_shutdown(&mut shutdown) => {
                tasks.abort_all();
                close_and_wait(&mut socket, close_code::AWAY, "server shutting down").await;
                break;
            }
        }
    }
    tasks.abort_all();
}

/// Sends Close `code`, then reads until the client's Close reply (within
/// [`CLOSE_REPLY_WAIT`]), so the connection ends with a FIN rather than a
/// reset that could destroy the last frames before the client reads them.
async fn close_and_wait(socket: &mut WebSocket, code: u16, reason: &'static str) {
    if socket.send(close(code, reason)).await.is_ok() {
        let _ = tokio::time::timeout(CLOSE_REPLY_WAIT, async {
            while let Some(Ok(_)) = socket.recv().await {}
        })
        .await;
    }
}

fn close(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }))
}

/// The Close frame owed to a client whose frame broke the rules; `None` when
/// the connection itself failed.
fn close_for(e: axum::Error) -> Option<(u16, &'static str)> {
    use tungstenite::error::Error as WsError;
    match e.into_inner().downcast::<WsError>().ok().map(|e| *e) {
        Some(WsError::Capacity(_)) => Some((close_code::SIZE, "message too big")),
        Some(WsError::Protocol(_)) | Some(WsError::Utf8(_)) => {
            Some((close_code::PROTOCOL, "protocol error"))
        }
        _ => None,
    }
}

async fn send_json(socket: &mut WebSocket, v: Value) -> Result<(), axum::Error> {
    socket.send(Message::Text(v.to_string().into())).await
}

/// Starts a subscription. Returns a frame to send right away (an error), or
/// `None` when the subscription task will send the current status itself.
async fn subscribe(
    state: &AppState,
    tasks: &mut JoinSet<()>,
    subscribed: &mut HashMap<String, AbortHandle>,
    out: &mpsc::Sender<Out>,
    order_no: String,
    client: IpAddr,
) -> Option<Value> {
    let mut control = None;
    if let Some(hooks) = &state.hooks {
        match hooks.push_connect(&order_no, None) {
            Some(rx) => control = Some(rx),
            None => {
                let _ = out.try_send(Out::Refuse(order_no, "refused"));
                return None;
            }
        }
    }
    let mut rx = match state.store.subscribe(&order_no).await {
        Ok(Some(rx)) => rx,
        Ok(None) => return Some(json!({"error": "unknown order", "order_no": order_no})),
        Err(_) => {
            // Not a silent dead end: the client reconnects and asks again.
            let _ = out.try_send(Out::Refuse(order_no, crate::error::STORE_UNAVAILABLE));
            return None;
        }
    };
    if subscribed.get(&order_no).is_some_and(|h| !h.is_finished()) {
        // Already watching this order on this socket: just repeat the status.
        return Some(rx.borrow().body());
    }
    if subscribed.len() >= 64 {
        subscribed.retain(|_, h| !h.is_finished());
    }
    let slot: WaiterSlot = match state.doors.waiters.acquire(client) {
        Some(slot) => slot,
        None => {
            return Some(
                json!({"error": "too many open waiters from this address", "order_no": order_no}),
            )
        }
    };
    let gauge = state
        .hooks
        .as_ref()
        .map(|h| h.gauge(&order_no, GaugeKind::WsOpen));
    let changes_only = state
        .hooks
        .as_ref()
        .is_some_and(|h| h.behavior(&order_no).changes_only);
    let out = out.clone();
    let waiting = state.metrics.waiting(Transport::WebSocket);
    let metrics = state.metrics.clone();
    let handle = tasks.spawn(async move {
        let _gauge = gauge;
        let _slot = slot;
        let _waiting = waiting;
        let first = rx.borrow_and_update().body_text();
        if !changes_only && out.send(Out::Text(first)).await.is_err() {
            return;
        }
        loop {
            let msg = tokio::select! {
                changed = rx.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    let now = rx.borrow_and_update();
                    metrics.told(now.details.paid_at, now_ms());
                    Out::Text(now.body_text())
                }
                ctl = recv_control(&mut control) => match ctl {
                    Some(Control::Push(text)) => Out::Text(text),
                    Some(Control::Drop) => Out::Drop,
                    Some(Control::Blackhole) => Out::Blackhole,
                    None => return,
                },
            };
            if out.send(msg).await.is_err() {
                return;
            }
        }
    });
    subscribed.insert(order_no, handle);
    None
}
