//! Security and robustness, against the real binary on loopback: every door
//! of issue 11 is tried and must stay shut; slow clients are cut by the
//! deadlines; SIGTERM with stuck clients still ends in time, with Close 1001
//! to every WebSocket.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const EVIL: &str = "http://evil.example";
/// Every server here has this `/api` key (from the environment).
const API_KEY: &str = "security-test-key-0123456789";

/// The binary, started on a free port; killed when dropped.
struct Server {
    child: Child,
    url: String,
    addr: String,
    client: reqwest::Client,
}

impl Server {
    fn start(flags: &[&str]) -> Server {
        let binary = common::binary::spawn(|c| {
            c.args(flags)
                .env("PAYWATCH_API_KEYS", API_KEY)
                .stderr(Stdio::null())
        });
        Server {
            addr: binary.addr().to_owned(),
            url: binary.url,
            child: binary.child,
            client: reqwest::Client::new(),
        }
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
    ) -> (u16, reqwest::header::HeaderMap, String) {
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        (status, headers, res.text().await.unwrap())
    }

    async fn post(&self, path: &str, origin: Option<&str>) -> (u16, String) {
        let mut req = self.client.post(format!("{}{path}", self.url));
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        let (status, _, body) = self.send(req).await;
        (status, body)
    }

    async fn get(&self, path: &str) -> (u16, String) {
        let (status, _, body) = self
            .send(self.client.get(format!("{}{path}", self.url)))
            .await;
        (status, body)
    }

    /// Creates an order the way a shop does: `POST /api/orders`.
    async fn create(&self) -> String {
        let req = self
            .client
            .post(format!("{}/api/orders", self.url))
            .bearer_auth(API_KEY);
        let (status, _, body) = self.send(req).await;
        assert_eq!(status, 201, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        v["order_no"].as_str().unwrap().to_string()
    }

    fn check_path(no: &str, extra: &str) -> String {
        format!(
            "/pay?action=check_pay_status_by_order&order_no={}{extra}",
            paywatch_server::routes::encode_segment(no)
        )
    }

    async fn ws(&self, origin: Option<&str>) -> Result<WsClient, u16> {
        let mut req = format!("ws://{}/ws", self.addr)
            .into_client_request()
            .unwrap();
        if let Some(o) = origin {
            req.headers_mut().insert("Origin", o.parse().unwrap());
        }
        match tokio_tungstenite::connect_async(req).await {
            Ok((ws, _)) => Ok(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(res)) => Err(res.status().as_u16()),
            Err(e) => panic!("ws connect: {e}"),
        }
    }

    fn sigterm(&self) {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Waits for the process to exit; panics after `within`.
    async fn exited_within(&mut self, within: Duration) -> Duration {
        let t = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "exit status {status}");
                return t.elapsed();
            }
            assert!(t.elapsed() < within, "still running after {within:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type WsClient = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// Next text frame or close code of a WebSocket, skipping pings.
async fn ws_next(ws: &mut WsClient, within: Duration) -> Result<String, Option<u16>> {
    loop {
        match tokio::time::timeout(within, ws.next())
            .await
            .expect("WS frame in time")
        {
            Some(Ok(Message::Text(t))) => return Ok(t.as_str().to_owned()),
            Some(Ok(Message::Close(f))) => return Err(f.map(|f| u16::from(f.code))),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return Err(None),
        }
    }
}

/// Reads until the peer closes the connection; panics after `within`.
async fn closed_within(tcp: &mut TcpStream, within: Duration) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(within, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server closes the connection in time");
    got
}

#[tokio::test]
async fn production_defaults_keep_every_door_shut() {
    let s = Server::start(&[]);
    let no = s.create().await;

    // The demo's pay/close and the test hooks are not there.
    assert_eq!(s.post(&format!("/orders/{no}/pay"), None).await.0, 404);
    assert_eq!(s.post(&format!("/orders/{no}/close"), None).await.0, 404);
    assert_eq!(
        s.post(&format!("/_test/orders/{no}/pay"), None).await.0,
        404
    );
    assert_eq!(s.get(&format!("/_test/orders/{no}/stats")).await.0, 404);
    let (_, body) = s.get(&format!("/orders/{no}")).await;
    assert!(body.contains("\"pending\""), "{body}");

    // The open create is a demo door.
    assert_eq!(s.post("/orders", None).await.0, 404);
    // A cross-site form post (text/plain, no preflight) creates nothing,
    // even with the key.
    let req = s
        .client
        .post(format!("{}/api/orders", s.url))
        .bearer_auth(API_KEY)
        .header("Origin", EVIL)
        .header("Content-Type", "text/plain")
        .body(r#"{"order_no":"csrf-made"}"#);
    let (status, headers, _) = s.send(req).await;
    assert_eq!(status, 403);
    assert!(headers.get("access-control-allow-origin").is_none());
    assert_eq!(s.get("/orders/csrf-made").await.0, 404);

    // No CORS for anyone by default, preflight included.
    let req = s
        .client
        .request(reqwest::Method::OPTIONS, format!("{}/orders", s.url))
        .header("Origin", EVIL)
        .header("Access-Control-Request-Method", "POST");
    let (_, headers, _) = s.send(req).await;
    assert!(headers.get("access-control-allow-origin").is_none());

    // Another site's page can neither read a status nor subscribe to one.
    let check = s
        .client
        .get(format!("{}{}", s.url, Server::check_path(&no, "")))
        .header("Origin", EVIL);
    assert_eq!(s.send(check).await.0, 403);
    let sse = s
        .client
        .get(format!("{}/payment-status?order_no={no}", s.url))
        .header("Origin", EVIL);
    assert_eq!(s.send(sse).await.0, 403);
    assert_eq!(s.ws(Some(EVIL)).await.err(), Some(403));
    // The page's own origin, and non-browser clients, may.
    let own = format!("http://{}", s.addr);
    let mut ws = s.ws(Some(&own)).await.expect("same-origin WebSocket");
    ws.send(Message::text(json!({ "order_no": no }).to_string()))
        .await
        .unwrap();
    assert!(ws_next(&mut ws, Duration::from_secs(2))
        .await
        .unwrap()
        .contains(&no));
    assert!(s.ws(None).await.is_ok());

    // Generated numbers are not a sequence one can count along (12 more
    // creates stay inside the default burst of 20).
    let mut suffixes = Vec::new();
    for _ in 0..12 {
        let no = s.create().await;
        let (date, suffix) = no.split_once('-').unwrap();
        assert!(date.starts_with("PW") && suffix.len() == 16, "{no}");
        suffixes.push(suffix.to_string());
    }
    let mut sorted = suffixes.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 12, "all distinct");
    assert_ne!(sorted, suffixes, "not increasing");
}

#[tokio::test]
async fn demo_endpoints_answer_their_own_origin_only() {
    let s = Server::start(&["--demo-endpoints", "--allow-origin", "http://shop.example"]);
    let own = format!("http://{}", s.addr);
    for origin in [EVIL, "http://shop.example", "null"] {
        let no = s.create().await;
        assert_eq!(
            s.post(&format!("/orders/{no}/pay"), Some(origin)).await.0,
            403,
            "{origin}"
        );
        assert_eq!(
            s.post(&format!("/orders/{no}/close"), Some(origin)).await.0,
            403,
            "{origin}"
        );
        assert!(s.get(&format!("/orders/{no}")).await.1.contains("pending"));
    }
    let no = s.create().await;
    let (status, body) = s.post(&format!("/orders/{no}/pay"), Some(&own)).await;
    assert_eq!((status, body.contains("\"paid\"")), (200, true), "{body}");
    let no = s.create().await;
    assert_eq!(s.post(&format!("/orders/{no}/close"), None).await.0, 200);

    // The allow-listed origin does get CORS and push, just not payment.
    let req = s
        .client
        .get(format!("{}{}", s.url, Server::check_path(&no, "")))
        .header("Origin", "http://shop.example");
    let (status, headers, _) = s.send(req).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["access-control-allow-origin"],
        "http://shop.example"
    );
    // Its scripts may read a 429/503's Retry-After, which the client obeys.
    assert_eq!(headers["access-control-expose-headers"], "retry-after");
    assert!(s.ws(Some("http://shop.example")).await.is_ok());
}

#[tokio::test]
async fn oversized_numbers_frames_and_bodies_are_refused_without_echo() {
    let s = Server::start(&["--demo-endpoints"]);
    let long = "L".repeat(129);
    let huge = "H".repeat(3000);
    let refused = |(status, body): (u16, String), what: &str| {
        assert_eq!(status, 400, "{what}: {body}");
        assert!(body.contains("128 bytes"), "{what}: {body}");
        assert!(
            !body.contains("LLLL") && !body.contains("HHHH"),
            "{what} echoed: {body}"
        );
    };
    let create = |no: &str| {
        s.client
            .post(format!("{}/orders", s.url))
            .json(&json!({ "order_no": no }))
            .send()
    };
    let res = create(&long).await.unwrap();
    refused((res.status().as_u16(), res.text().await.unwrap()), "create");
    create(&"x".repeat(128))
        .await
        .unwrap()
        .error_for_status()
        .unwrap();
    refused(s.get(&Server::check_path(&long, "")).await, "check");
    refused(
        s.get(&Server::check_path(&huge, "&wait=5")).await,
        "long-poll",
    );
    refused(
        s.get(&format!("/payment-status?order_no={huge}")).await,
        "sse",
    );
    refused(s.get(&format!("/orders/{huge}/qr.svg")).await, "qr.svg");
    refused(s.get(&format!("/orders/{long}")).await, "get");
    refused(s.get(&format!("/pay-link/{huge}")).await, "pay-link");
    refused(s.post(&format!("/orders/{long}/pay"), None).await, "pay");

    let mut ws = s.ws(None).await.unwrap();
    ws.send(Message::text(json!({ "order_no": huge }).to_string()))
        .await
        .unwrap();
    let reply = ws_next(&mut ws, Duration::from_secs(2)).await.unwrap();
    assert!(
        reply.contains("128 bytes") && !reply.contains("HHHH"),
        "{reply}"
    );

    // A 10 MiB frame: refused with 1009 (or the connection cut), never echoed.
    let big = "B".repeat(10 << 20);
    let _ = ws
        .send(Message::text(json!({ "order_no": big }).to_string()))
        .await;
    match ws_next(&mut ws, Duration::from_secs(5)).await {
        Err(code) => assert!(matches!(code, Some(1009) | None), "{code:?}"),
        Ok(text) => panic!("answered a 10 MiB frame: {}…", &text[..text.len().min(80)]),
    }

    // A request body over the cap is refused before it is read whole.
    let res = s
        .client
        .post(format!("{}/orders", s.url))
        .body(vec![b' '; 1 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);

    // A ttl that would keep an order forever.
    let res = s
        .client
        .post(format!("{}/orders", s.url))
        .json(&json!({ "ttl_ms": u64::MAX }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after() {
    // 2 requests/s per route group, bursts of 4.
    let s = Server::start(&["--rate-limit", "2", "--demo-endpoints"]);
    let no = s.create().await;
    let routes = [
        (
            "check",
            s.client
                .get(format!("{}{}", s.url, Server::check_path(&no, ""))),
        ),
        (
            "sse",
            s.client
                .get(format!("{}/payment-status?order_no={no}", s.url)),
        ),
        ("create", s.client.post(format!("{}/orders", s.url))),
    ];
    for (name, req) in routes {
        let mut limited = None;
        for i in 0..8 {
            let res = req.try_clone().unwrap().send().await.unwrap();
            if res.status() == 429 {
                limited = Some((i, res));
                break;
            }
        }
        let (i, res) = limited.unwrap_or_else(|| panic!("{name}: never limited"));
        assert!(i >= 3, "{name}: limited after only {i} requests");
        let retry: u64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=2).contains(&retry), "{name}: Retry-After {retry}");
    }
    // The WebSocket upgrade shares the push group, already spent by SSE.
    assert_eq!(s.ws(None).await.err(), Some(429));
    // The budget comes back.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(s.get(&Server::check_path(&no, "")).await.0, 200);
}

#[tokio::test]
async fn waiters_per_client_are_capped() {
    let s = Server::start(&["--max-waiters-per-client", "3", "--rate-limit", "1000"]);
    let no = s.create().await;
    let sse_url = format!("{}/payment-status?order_no={no}", s.url);
    let a = s.client.get(&sse_url).send().await.unwrap();
    let b = s.client.get(&sse_url).send().await.unwrap();
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    // A plain check holds nothing, a long-poll holds a place.
    assert_eq!(s.get(&Server::check_path(&no, "")).await.0, 200);
    let mut ws = s.ws(None).await.expect("third place: the socket");
    ws.send(Message::text(json!({ "order_no": no }).to_string()))
        .await
        .unwrap();
    let reply = ws_next(&mut ws, Duration::from_secs(2)).await.unwrap();
    assert!(reply.contains("too many open waiters"), "{reply}");
    let res = s.client.get(&sse_url).send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    assert_eq!(s.get(&Server::check_path(&no, "&wait=5")).await.0, 429);
    // Places come back when streams end.
    drop((a, b));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(s.client.get(&sse_url).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn ended_orders_are_evicted_and_the_store_is_capped() {
    let s = Server::start(&[
        "--demo-endpoints",
        "--keep-ended-sec",
        "1",
        "--max-orders",
        "3",
    ]);
    let paid = s.create().await;
    let _pending = s.create().await;
    assert_eq!(s.post(&format!("/orders/{paid}/pay"), None).await.0, 200);
    let _third = s.create().await;
    let (status, body) = s.post("/orders", None).await;
    assert_eq!(status, 503, "{body}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(s.get(&format!("/orders/{paid}")).await.0, 404);
    s.create().await;
}

#[tokio::test]
async fn slowloris_connections_are_cut_by_the_deadlines() {
    let s = Server::start(&[
        "--header-timeout-ms",
        "600",
        "--body-timeout-ms",
        "600",
        "--demo-endpoints",
    ]);
    let t = Instant::now();
    // Silent after connecting.
    let mut silent = TcpStream::connect(&s.addr).await.unwrap();
    // A header line every 200 ms, never the blank line.
    let mut dribble = TcpStream::connect(&s.addr).await.unwrap();
    dribble
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let dribbler = tokio::spawn(async move {
        for i in 0..50 {
            let line = format!("X-Slow-{i}: y\r\n");
            if dribble.write_all(line.as_bytes()).await.is_err() {
                return (dribble, true);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        (dribble, false)
    });
    // Idle after one complete request on a keep-alive connection.
    let mut idle = TcpStream::connect(&s.addr).await.unwrap();
    idle.write_all(b"GET /orders/none HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // A body one byte at a time.
    let mut slow_body = TcpStream::connect(&s.addr).await.unwrap();
    slow_body
        .write_all(b"POST /orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        .await
        .unwrap();
    let body_dribbler = tokio::spawn(async move {
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if slow_body.write_all(b" ").await.is_err() {
                break;
            }
        }
        slow_body
    });

    closed_within(&mut silent, Duration::from_secs(3)).await;
    let idle_got = closed_within(&mut idle, Duration::from_secs(3)).await;
    assert!(
        idle_got.starts_with(b"HTTP/1.1 404"),
        "{}",
        String::from_utf8_lossy(&idle_got)
    );
    let (mut dribble, _) = dribbler.await.unwrap();
    closed_within(&mut dribble, Duration::from_secs(1)).await;
    let mut slow_body = body_dribbler.await.unwrap();
    let got = closed_within(&mut slow_body, Duration::from_secs(1)).await;
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    // The server is still there for everyone else.
    s.create().await;
}

#[tokio::test]
async fn a_reader_that_stops_reading_is_cut() {
    let s = Server::start(&["--test-hooks", "--write-timeout-ms", "500"]);
    let no = s.create().await;
    // A raw SSE client with a small receive window that never reads.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let mut tcp = sock.connect(s.addr.parse().unwrap()).await.unwrap();
    let req = format!("GET /payment-status?order_no={no} HTTP/1.1\r\nHost: x\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let chunk = "P".repeat(15_000);
    let stats = format!("/_test/orders/{no}/stats");
    let mut open = false;
    for round in 0..400 {
        let (_, body) = s.get(&stats).await;
        let v: Value = serde_json::from_str(&body).unwrap();
        if round > 0 && v["sse_open"] == 0 {
            open = false;
            break;
        }
        open = true;
        s.client
            .post(format!("{}/_test/orders/{no}/push", s.url))
            .body(chunk.clone())
            .send()
            .await
            .unwrap();
        if round % 20 == 19 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    assert!(!open, "the stalled SSE stream was never cut");
    drop(tcp);
}

#[tokio::test]
async fn static_paths_do_not_escape_their_directory() {
    let root = std::env::temp_dir().join(format!("paywatch-sec-{}", std::process::id()));
    let www = root.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("index.html"), "hello").unwrap();
    std::fs::write(root.join("secret.txt"), "TOP-SECRET").unwrap();
    let www_arg = www.to_str().unwrap().to_string();
    let pkg_arg = www.to_str().unwrap().to_string();
    let s = Server::start(&["--www", &www_arg, "--pkg", &pkg_arg]);
    assert_eq!(s.get("/").await, (200, "hello".into()));
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/..%2fsecret.txt",
        "/pkg/../../secret.txt",
        "/pkg/%2e%2e/%2e%2e/secret.txt",
        "/pkg/..%5c..%5csecret.txt",
        "//secret.txt",
    ] {
        // Raw bytes on the wire: no client-side normalisation of `..`.
        let mut tcp = TcpStream::connect(&s.addr).await.unwrap();
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        tcp.write_all(req.as_bytes()).await.unwrap();
        let got = closed_within(&mut tcp, Duration::from_secs(3)).await;
        let got = String::from_utf8_lossy(&got);
        assert!(!got.contains("TOP-SECRET"), "{path} escaped: {got}");
        assert!(
            got.starts_with("HTTP/1.1 404") || got.starts_with("HTTP/1.1 400"),
            "{path}: {got}"
        );
    }
    let _ = std::fs::remove_dir_all(&root);
}

#[tokio::test]
async fn sigterm_with_stuck_clients_ends_in_time_and_closes_every_websocket_with_1001() {
    let mut s = Server::start(&[
        "--shutdown-timeout-ms",
        "3000",
        "--rate-limit",
        "1000",
        "--max-waiters-per-client",
        "1000",
    ]);
    let no = s.create().await;

    let mut sockets = Vec::new();
    for _ in 0..30 {
        let mut ws = s.ws(None).await.unwrap();
        ws.send(Message::text(json!({ "order_no": no }).to_string()))
            .await
            .unwrap();
        ws_next(&mut ws, Duration::from_secs(2)).await.unwrap();
        sockets.push(ws);
    }
    let mut polls = Vec::new();
    for _ in 0..5 {
        let url = format!("{}{}", s.url, Server::check_path(&no, "&wait=60"));
        polls.push(tokio::spawn(async move {
            let res = reqwest::get(url).await.unwrap();
            (res.status().as_u16(), res.text().await.unwrap())
        }));
    }
    let mut streams = Vec::new();
    for _ in 0..5 {
        let res = s
            .client
            .get(format!("{}/payment-status?order_no={no}", s.url))
            .send()
            .await
            .unwrap();
        streams.push(res);
    }
    let mut slowloris = Vec::new();
    for _ in 0..20 {
        let mut tcp = TcpStream::connect(&s.addr).await.unwrap();
        tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        slowloris.push(tcp);
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // long-polls held
                                                          // Read the sockets as a browser would, answering the server's Close.
    let closes: Vec<_> = sockets
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                ws_next(&mut ws, Duration::from_secs(3))
                    .await
                    .err()
                    .flatten()
            })
        })
        .collect();

    s.sigterm();
    // Nothing here is stuck for good: the slowloris sockets have no request
    // in flight and are closed at once, so the exit comes well before the
    // 3 s deadline.
    let took = s.exited_within(Duration::from_millis(2000)).await;
    eprintln!("exited {took:?} after SIGTERM");

    let mut codes = Vec::new();
    for close in closes {
        codes.push(close.await.unwrap());
    }
    assert!(
        codes.iter().all(|c| *c == Some(1001)),
        "close codes {codes:?}"
    );
    for p in polls {
        let (status, body) = p.await.unwrap();
        assert_eq!(status, 200);
        assert!(body.contains("\"pending\""), "{body}");
    }
    for mut res in streams {
        // A clean end: the chunked body finishes without an error.
        while let Some(chunk) = res.chunk().await.expect("SSE ends cleanly") {
            assert!(!chunk.is_empty());
        }
    }
}

#[tokio::test]
async fn the_shutdown_deadline_cuts_a_client_that_never_lets_go() {
    let mut s = Server::start(&["--shutdown-timeout-ms", "1000"]);
    let no = s.create().await;
    // A raw WebSocket client that subscribes, then never reads again (so it
    // never answers the server's Close).
    let mut tcp = TcpStream::connect(&s.addr).await.unwrap();
    tcp.write_all(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
          Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    )
    .await
    .unwrap();
    let mut head = [0u8; 12];
    tcp.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 101");
    let text = json!({ "order_no": no }).to_string();
    let mut frame = vec![0x81, 0x80 | text.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(text.as_bytes());
    tcp.write_all(&frame).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let t = Instant::now();
    s.sigterm();
    let took = s.exited_within(Duration::from_millis(1500)).await;
    assert!(
        took <= Duration::from_millis(1000),
        "exit after {took:?}, deadline 1 s"
    );
    assert!(
        took >= Duration::from_millis(400),
        "exit after {took:?}: did it wait at all?"
    );
    drop((t, tcp));
}

#[tokio::test]
async fn sigterm_with_only_websockets_open_still_closes_each_with_1001() {
    // Nothing but upgraded connections: the server must wait for them, not
    // only for the HTTP connections it serves itself. The clients answer the
    // Close 300 ms late (as over a slow network); the server waits for the
    // answers, so its exit comes after them.
    let mut s = Server::start(&["--rate-limit", "1000", "--max-waiters-per-client", "1000"]);
    let no = s.create().await;
    let mut closes = Vec::new();
    for _ in 0..200 {
        let mut ws = s.ws(None).await.unwrap();
        ws.send(Message::text(json!({ "order_no": no }).to_string()))
            .await
            .unwrap();
        ws_next(&mut ws, Duration::from_secs(2)).await.unwrap();
        closes.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            ws_next(&mut ws, Duration::from_secs(3))
                .await
                .err()
                .flatten()
        }));
    }
    s.sigterm();
    let took = s.exited_within(Duration::from_secs(3)).await;
    assert!(
        took >= Duration::from_millis(250),
        "exited {took:?} after SIGTERM, before the clients answered the Close"
    );
    let mut codes = Vec::new();
    for close in closes {
        codes.push(close.await.unwrap());
    }
    let got = codes.iter().filter(|c| **c == Some(1001)).count();
    assert_eq!(got, 200, "only {got} of 200 got Close 1001: {codes:?}");
}
