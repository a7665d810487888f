//! The admin listener (`--admin-listen`): `/metrics` read back with a real
//! Prometheus text parser after a scripted run, `/readyz` following Redis
//! and a SIGTERM drain, and none of it on the public listener.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::redis::Redis;
use common::{start_with, Options, TestServer};
use paywatch_server::config::Payments;
use prometheus_parse::{Scrape, Value as Sample};
use reqwest::Method;
use serde_json::{json, Value};

const KEY: &str = "admin-test-key-0123456789";
const T: Duration = Duration::from_secs(5);

fn payments() -> Payments {
    let v = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/wechatpay");
    let text = |f: &str| {
        std::fs::read_to_string(v.join(f))
            .unwrap()
            .trim()
            .to_owned()
    };
    Payments {
        api_keys_env: Some(KEY.into()),
        wechatpay_mchid: Some(text("mchid.txt")),
        wechatpay_apiv3_key_file: Some(v.join("apiv3_key.txt")),
        wechatpay_public_key_files: vec![v.join("public_key.pem")],
        wechatpay_public_key_ids: vec![text("public_key_id.txt")],
        ..Payments::default()
    }
}

async fn server(redis: Option<String>) -> TestServer {
    start_with(Options {
        redis,
        payments: payments(),
        admin: true,
        ..Options::default()
    })
    .await
}

async fn scrape(s: &TestServer) -> Scrape {
    let url = format!("{}/metrics", s.server.admin_url().unwrap());
    let text = s
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text")
}

/// The value of `name{labels}` in `scrape`; a histogram gives its count.
fn value(scrape: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
    let sample = scrape
        .samples
        .iter()
        .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)));
    match sample.map(|s| &s.value) {
        Some(Sample::Counter(v) | Sample::Gauge(v) | Sample::Untyped(v)) => *v,
        Some(Sample::Histogram(buckets)) => buckets.last().map_or(0.0, |b| b.count),
        Some(other) => panic!("{name}: unexpected {other:?}"),
        None => 0.0,
    }
}

async fn status(s: &TestServer, path: &str) -> u16 {
    let url = format!("{}{path}", s.server.admin_url().unwrap());
    s.client.get(url).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn metrics_move_as_a_scripted_run_says() {
    let s = server(None).await;
    let before = scrape(&s).await;
    assert_eq!(
        value(&before, "paywatch_waiters", &[("transport", "sse")]),
        0.0
    );

    let (code, _) = s
        .api(
            Method::POST,
            "/orders",
            Some(KEY),
            Some(json!({"order_no": "M-1"})),
        )
        .await;
    assert_eq!(code, 201);

    // One waiter of each kind.
    let mut sse = s.sse_reader("M-1", None).await;
    assert_eq!(sse.try_data(T).await.unwrap()["status"], "pending");
    let mut ws = s.ws().await;
    ws.subscribe("M-1").await;
    assert_eq!(ws.json(T).await["status"], "pending");
    let long_poll = {
        let (client, url) = (s.client.clone(), s.check_url("M-1", "&wait=10"));
        tokio::spawn(async move { client.get(url).send().await.unwrap().json::<Value>().await })
    };
    s.wait_stat("M-1", "long_poll_waiting", 1).await;
    let open = scrape(&s).await;
    for transport in ["sse", "websocket", "long_poll"] {
        assert_eq!(
            value(&open, "paywatch_waiters", &[("transport", transport)]),
            1.0,
            "{transport}"
        );
    }

    // A forged notification, then the shop's PUT: each counted once.
    let res = s
        .client
        .post(format!("{}/notify/wechatpay", s.url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let (code, _) = s
        .api(
            Method::PUT,
            "/orders/M-1/status",
            Some(KEY),
            Some(json!({"status": "paid"})),
        )
        .await;
    assert_eq!(code, 200);
    assert_eq!(sse.try_data(T).await.unwrap()["status"], "paid");
    assert_eq!(ws.json(T).await["status"], "paid");
    assert_eq!(long_poll.await.unwrap().unwrap()["status"], "paid");
    drop(sse);
    drop(ws);

    let deadline = Instant::now() + T;
    let after = loop {
        let m = scrape(&s).await;
        let open: f64 = ["sse", "websocket", "long_poll"]
            .iter()
            .map(|t| value(&m, "paywatch_waiters", &[("transport", t)]))
            .sum();
        let closed = value(&m, "paywatch_connections_closed_total", &[])
            - value(&before, "paywatch_connections_closed_total", &[]);
        if (open == 0.0 && closed >= 2.0) || Instant::now() > deadline {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for transport in ["sse", "websocket", "long_poll"] {
        assert_eq!(
            value(&after, "paywatch_waiters", &[("transport", transport)]),
            0.0,
            "{transport}"
        );
    }
    let counter = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    assert_eq!(
        counter("paywatch_status_changes_total", &[("source", "api")]),
        1.0
    );
    assert_eq!(
        counter(
            "paywatch_notifications_total",
            &[("platform", "wechatpay"), ("result", "forged")]
        ),
        1.0
    );
    assert_eq!(
        counter(
            "paywatch_http_requests_total",
            &[("route", "/api/orders"), ("code", "201")]
        ),
        1.0
    );
    assert_eq!(
        counter(
            "paywatch_http_requests_total",
            &[("route", "/api/orders/:no/status"), ("code", "200")]
        ),
        1.0
    );
    assert_eq!(
        counter("paywatch_status_told_seconds", &[]),
        3.0,
        "three waiters told"
    );
    let opened = counter("paywatch_connections_opened_total", &[]);
    assert!(opened >= 3.0, "{opened} connections opened");
    // The SSE stream's and the WebSocket's connections ended with them.
    let closed = counter("paywatch_connections_closed_total", &[]);
    assert!(closed >= 2.0, "{closed} connections closed");
    assert_eq!(
        value(&after, "paywatch_redis_connected", &[]),
        0.0,
        "no Redis here"
    );
    assert_eq!(counter("paywatch_store_errors_total", &[]), 0.0);
}

#[tokio::test]
async fn admin_paths_are_not_on_the_public_listener() {
    let s = server(None).await;
    for path in ["/metrics", "/healthz", "/readyz"] {
        let (code, _) = s.get(path).await;
        assert_eq!(code, 404, "{path} on the public listener");
        assert_eq!(status(&s, path).await, 200, "{path} on the admin listener");
    }
    // Without the flag there is no admin listener at all.
    let plain = start_with(Options::default()).await;
    assert!(plain.server.admin_url().is_none());
}

#[tokio::test]
async fn readyz_follows_redis() {
    let Some(mut redis) = Redis::start().await else {
        return;
    };
    let s = server(Some(redis.url())).await;
    assert_eq!(status(&s, "/readyz").await, 200);
    assert_eq!(
        value(&scrape(&s).await, "paywatch_redis_connected", &[]),
        1.0
    );

    redis.down();
    let until = |want: u16| {
        let s = &s;
        async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let got = status(s, "/readyz").await;
                if got == want {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "/readyz stayed {got}, wanted {want}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    until(503).await;
    assert_eq!(status(&s, "/healthz").await, 200, "alive all the same");
    redis.up().await;
    until(200).await;
    let m = scrape(&s).await;
    assert_eq!(value(&m, "paywatch_redis_connected", &[]), 1.0);
    assert!(value(&m, "paywatch_redis_reconnects_total", &[]) >= 1.0);
    assert!(value(&m, "paywatch_store_errors_total", &[]) >= 1.0);
}

/// The binary: `admin listening on` printed, and `/readyz` is `503` while a
/// SIGTERM drain waits for a request that never ends.
#[cfg(unix)]
#[tokio::test]
async fn readyz_is_503_during_a_sigterm_drain() {
    let mut binary = common::binary::spawn(|c| {
        c.args(["--admin-listen", "127.0.0.1:0", "--test-hooks"])
            .args(["--shutdown-timeout-ms", "3000"])
            .stderr(Stdio::null())
    });
    let admin = binary.line("admin listening on ");
    let common::binary::Binary { mut child, url, .. } = binary;
    let client = reqwest::Client::new();
    let get = |u: String| {
        let c = client.clone();
        async move { c.get(u).send().await.map(|r| r.status().as_u16()) }
    };
    assert_eq!(get(format!("{admin}/readyz")).await.unwrap(), 200);

    // A request whose body never comes keeps the drain busy (until the
    // shutdown deadline cuts it).
    let host = url.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST /_test/orders/D-1/behavior HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{{"
    );
    tokio::io::AsyncWriteExt::write_all(&mut slow, head.as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let code = get(format!("{admin}/readyz")).await.unwrap();
        if code == 503 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz stayed {code} after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(get(format!("{admin}/healthz")).await.unwrap(), 200);
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    drop(slow);
}

#[tokio::test]
async fn an_expiry_is_counted_by_its_source() {
    let s = server(None).await;
    let (code, _) = s
        .api(
            Method::POST,
            "/orders",
            Some(KEY),
            Some(json!({"order_no": "M-EXP", "ttl_ms": 200})),
        )
        .await;
    assert_eq!(code, 201);
    let mut sse = s.sse_reader("M-EXP", None).await;
    assert_eq!(sse.try_data(T).await.unwrap()["status"], "pending");
    assert_eq!(sse.try_data(T).await.unwrap()["status"], "expired");
    let m = scrape(&s).await;
    assert_eq!(
        value(&m, "paywatch_status_changes_total", &[("source", "expiry")]),
        1.0
    );
    assert_eq!(
        value(&m, "paywatch_status_changes_total", &[("source", "api")]),
        0.0
    );
}
