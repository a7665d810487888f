//! Shared helpers: start the app in-process on 127.0.0.1:0, talk HTTP, SSE
//! and WebSocket to it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use paywatch_server::limits::Limits;
use paywatch_server::{Config, RunningServer};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub mod binary;
pub mod redis;

pub const HEARTBEAT_MS: u64 = 100;
pub const SPECIAL: &str = "A&B #1/测试";

pub struct TestServer {
    pub server: RunningServer,
    pub url: String,
    pub client: reqwest::Client,
}

pub struct Options {
    pub hooks: bool,
    pub www: Option<PathBuf>,
    pub pkg: Option<PathBuf>,
    pub public_url: Option<String>,
    /// Default here: demo endpoints on, rate and waiter limits out of reach
    /// (the tests talk from one address, fast).
    pub limits: Limits,
    /// `Some(url)`: the Redis backing (`--redis`).
    pub redis: Option<String>,
    /// `/api` keys and the notify doors.
    pub payments: paywatch_server::config::Payments,
    /// The clock of the notify doors (the vectors' `now`).
    pub notify_clock: Option<u64>,
    /// `--admin-listen 127.0.0.1:0`.
    pub admin: bool,
    /// `--store sqlite:PATH`.
    pub sqlite: Option<PathBuf>,
    /// `--retention` (else the default).
    pub retention: Option<Duration>,
    /// `--watch-secret-file`.
    pub watch_secret_file: Option<PathBuf>,
}

/// The limits the functional tests run with.
pub fn test_limits() -> Limits {
    Limits {
        demo_endpoints: true,
        rate_per_sec: 100_000,
        max_waiters_per_client: 100_000,
        ..Limits::default()
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            hooks: true,
            www: None,
            pkg: None,
            public_url: None,
            limits: test_limits(),
            redis: None,
            payments: Default::default(),
            notify_clock: None,
            admin: false,
            sqlite: None,
            retention: None,
            watch_secret_file: None,
        }
    }
}

pub async fn start() -> TestServer {
    start_with(Options::default()).await
}

pub async fn start_with(opts: Options) -> TestServer {
    let config = Config {
        port: 0,
        heartbeat: Duration::from_millis(HEARTBEAT_MS),
        test_hooks: opts.hooks,
        www: opts
            .www
            .unwrap_or_else(|| PathBuf::from("/nonexistent/paywatch-www")),
        pkg: opts
            .pkg
            .unwrap_or_else(|| PathBuf::from("/nonexistent/paywatch-pkg")),
        public_url: opts.public_url,
        limits: opts.limits,
        redis: opts.redis,
        payments: opts.payments,
        notify_clock: opts.notify_clock,
        admin_listen: opts.admin.then(|| "127.0.0.1:0".parse().unwrap()),
        sqlite: opts.sqlite,
        retention: opts.retention.unwrap_or(Config::default().retention),
        watch_secret_file: opts.watch_secret_file,
        ..Config::default()
    };
    let server = paywatch_server::start(config).await.expect("server starts");
    TestServer {
        url: server.url(),
        server,
        client: reqwest::Client::new(),
    }
}

/// Percent-encodes a path segment / query value.
pub fn enc(s: &str) -> String {
    paywatch_server::routes::encode_segment(s)
}

/// A directory under the system temp dir, unique per call.
pub fn temp_dir(tag: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "paywatch-server-test-{}-{tag}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

impl TestServer {
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.server.local_addr())
    }

    /// `/api{path}` with an optional Bearer key and JSON body: `(status,
    /// JSON body)` (`null` for a body that is not JSON).
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, format!("{}/api{path}", self.url));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        (
            res.status().as_u16(),
            res.json().await.unwrap_or(Value::Null),
        )
    }

    pub async fn create(&self, order_no: &str) -> Value {
        self.create_body(json!({ "order_no": order_no })).await
    }

    pub async fn create_body(&self, body: Value) -> Value {
        let res = self
            .client
            .post(format!("{}/orders", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "create {body}");
        res.json().await.unwrap()
    }

    pub async fn post(&self, path: &str) -> (u16, Value) {
        let res = self
            .client
            .post(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        let res = self
            .client
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let res = self
            .client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn pay(&self, order_no: &str) -> (u16, Value) {
        self.post(&format!("/orders/{}/pay", enc(order_no))).await
    }

    /// `GET /pay?action=…&order_no=…&t=…` plus `extra` query text.
    pub fn check_url(&self, order_no: &str, extra: &str) -> String {
        format!(
            "{}/pay?action=check_pay_status_by_order&order_no={}&t=1{extra}",
            self.url,
            enc(order_no)
        )
    }

    pub async fn check(&self, order_no: &str, extra: &str) -> (u16, Value) {
        let res = self
            .client
            .get(self.check_url(order_no, extra))
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }

    pub async fn stats(&self, order_no: &str) -> Value {
        let (status, v) = self
            .get(&format!("/_test/orders/{}/stats", enc(order_no)))
            .await;
        assert_eq!(status, 200);
        v
    }

    /// Waits until `stats[key] == want` (for set-up that happens on other
    /// tasks: a long-poll being held, a stream being open…).
    pub async fn wait_stat(&self, order_no: &str, key: &str, want: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let s = self.stats(order_no).await;
            if s[key] == want {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "stats[{key}] never became {want}: {s}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn behavior(&self, order_no: &str, body: Value) {
        let (status, v) = self
            .post_json(&format!("/_test/orders/{}/behavior", enc(order_no)), body)
            .await;
        assert_eq!((status, v), (200, json!({})));
    }

    pub async fn sse(&self, order_no: &str, last_event_id: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(format!(
            "{}/payment-status?order_no={}",
            self.url,
            enc(order_no)
        ));
        if let Some(id) = last_event_id {
            req = req.header("Last-Event-ID", id);
        }
        req.send().await.unwrap()
    }

    pub async fn sse_reader(&self, order_no: &str, last_event_id: Option<&str>) -> SseReader {
        let res = self.sse(order_no, last_event_id).await;
        assert_eq!(res.status(), 200);
        SseReader::new(res)
    }

    pub async fn ws(&self) -> Ws {
        let (ws, _) = tokio_tungstenite::connect_async(self.ws_url())
            .await
            .unwrap();
        Ws { ws }
    }
}

/// Splits an SSE body into blocks (text between blank lines).
pub struct SseReader {
    body: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = reqwest::Result<axum::body::Bytes>> + Send>,
    >,
    buf: String,
}

/// One parsed SSE block.
#[derive(Debug, Default)]
pub struct SseBlock {
    pub id: Option<String>,
    pub data: Option<String>,
    pub comments: Vec<String>,
    /// The data of an `event: heartbeat` block (kept out of `data`, so a
    /// heartbeat reads like the comment it also carries).
    pub heartbeat: Option<String>,
}

impl SseBlock {
    pub fn json(&self) -> Value {
        serde_json::from_str(self.data.as_deref().expect("data")).expect("JSON data")
    }
}

impl SseReader {
    pub fn new(res: reqwest::Response) -> Self {
        SseReader {
            body: Box::pin(res.bytes_stream()),
            buf: String::new(),
        }
    }

    /// The next block, `None` when the stream ended. Panics after `within`.
    pub async fn next_within(&mut self, within: Duration) -> Option<SseBlock> {
        tokio::time::timeout(within, self.next())
            .await
            .expect("SSE block in time")
    }

    pub async fn next(&mut self) -> Option<SseBlock> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let raw: String = self.buf.drain(..end + 2).collect();
                let mut block = SseBlock::default();
                for line in raw.lines() {
                    if let Some(c) = line.strip_prefix(':') {
                        block.comments.push(c.to_string());
                    } else if let Some(v) = line.strip_prefix("id:") {
                        block.id = Some(v.trim_start().to_string());
                    } else if line == "event: heartbeat" {
                        block.heartbeat = Some(String::new());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        let v = v.strip_prefix(' ').unwrap_or(v);
                        match &mut block.data {
                            Some(d) => {
                                d.push('\n');
                                d.push_str(v);
                            }
                            None => block.data = Some(v.to_string()),
                        }
                    }
                }
                if block.heartbeat.is_some() {
                    block.heartbeat = block.data.take();
                }
                return Some(block);
            }
            match self.body.next().await {
                Some(Ok(chunk)) => self.buf.push_str(std::str::from_utf8(&chunk).unwrap()),
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// The next data block's JSON within `within`, or `None` (timeout or
    /// end of stream): for "nobody was told again".
    pub async fn try_data(&mut self, within: Duration) -> Option<Value> {
        tokio::time::timeout(within, async {
            loop {
                let b = self.next().await?;
                if b.data.is_some() {
                    return Some(b.json());
                }
            }
        })
        .await
        .ok()
        .flatten()
    }

    /// Next block that carries data, skipping heartbeats.
    pub async fn next_data(&mut self, within: Duration) -> Option<SseBlock> {
        tokio::time::timeout(within, async {
            loop {
                let b = self.next().await?;
                if b.data.is_some() {
                    return Some(b);
                }
            }
        })
        .await
        .expect("SSE data in time")
    }
}

pub struct Ws {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

#[derive(Debug)]
pub enum WsEvent {
    Text(String),
    Ping,
    Pong,
    Close(Option<u16>),
    /// Stream ended or errored without a close frame.
    Gone,
}

impl Ws {
    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    pub async fn subscribe(&mut self, order_no: &str) {
        self.send_text(&json!({ "order_no": order_no }).to_string())
            .await;
    }

    pub async fn event(&mut self, within: Duration) -> WsEvent {
        let msg = tokio::time::timeout(within, self.ws.next())
            .await
            .expect("WS event in time");
        match msg {
            Some(Ok(Message::Text(t))) => WsEvent::Text(t.as_str().to_owned()),
            Some(Ok(Message::Ping(_))) => WsEvent::Ping,
            Some(Ok(Message::Pong(_))) => WsEvent::Pong,
            Some(Ok(Message::Close(f))) => WsEvent::Close(f.map(|f| u16::from(f.code))),
            Some(Ok(other)) => panic!("unexpected frame {other:?}"),
            Some(Err(_)) | None => WsEvent::Gone,
        }
    }

    /// The next text frame's JSON within `within`, or `None` (timeout,
    /// close or end): for "nobody was told again".
    pub async fn try_json(&mut self, within: Duration) -> Option<Value> {
        tokio::time::timeout(within, async {
            loop {
                match self.event(within).await {
                    WsEvent::Text(t) => return serde_json::from_str(&t).ok(),
                    WsEvent::Ping | WsEvent::Pong => continue,
                    _ => return None,
                }
            }
        })
        .await
        .ok()
        .flatten()
    }

    /// Next text frame as JSON, skipping pings/pongs.
    pub async fn json(&mut self, within: Duration) -> Value {
        tokio::time::timeout(within, async {
            loop {
                match self.event(within).await {
                    WsEvent::Text(t) => return serde_json::from_str(&t).expect("JSON frame"),
                    WsEvent::Ping | WsEvent::Pong => continue,
                    other => panic!("expected a text frame, got {other:?}"),
                }
            }
        })
        .await
        .expect("WS text in time")
    }

    /// Next text frame, raw, skipping pings/pongs.
    pub async fn text(&mut self, within: Duration) -> String {
        loop {
            match self.event(within).await {
                WsEvent::Text(t) => return t,
                WsEvent::Ping | WsEvent::Pong => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    }

    /// Skips pings/pongs; returns the first other event.
    pub async fn non_heartbeat(&mut self, within: Duration) -> WsEvent {
        loop {
            match self.event(within).await {
                WsEvent::Ping | WsEvent::Pong => continue,
                other => return other,
            }
        }
    }
}
