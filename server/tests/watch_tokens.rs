//! `--watch-secret-file`: only the bearer of an order's watch token may
//! watch it. For each transport (check, long-poll, SSE, WebSocket): no
//! token, another order's token and an expired token are refused (`403`;
//! WebSocket: close 1008); the right token is told once. The token a Node
//! backend mints (`examples/watch-token.mjs`) is the one the server takes.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{enc, start_with, temp_dir, Options, TestServer, WsEvent};
use paywatch_server::config::Payments;
use paywatch_server::watch_token::WatchTokens;
use reqwest::Method;
use serde_json::{json, Value};

const KEY: &str = "watch-test-api-key-0123456789";
const SECRET: &str = "paywatch-test-watch-secret-0123456789";
const T: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(400);

fn secret_file() -> PathBuf {
    let path = temp_dir("watch-secret").join("secret");
    std::fs::write(&path, format!("{SECRET}\n")).unwrap();
    path
}

async fn server() -> TestServer {
    start_with(Options {
        payments: Payments {
            api_keys_env: Some(KEY.into()),
            ..Payments::default()
        },
        watch_secret_file: Some(secret_file()),
        ..Options::default()
    })
    .await
}

fn now() -> u64 {
    paywatch_server::store::now_ms() / 1000
}

fn mint(order_no: &str, exp: u64) -> String {
    WatchTokens::new(SECRET.as_bytes())
        .unwrap()
        .mint(order_no, exp)
}

/// The three tokens that must be refused for `no`, with the reason each
/// reply names.
fn refused(no: &str) -> [(Option<String>, &'static str); 3] {
    [
        (None, "watch token missing"),
        (
            Some(mint("SOMEONE-ELSE", now() + 600)),
            "not valid for this order",
        ),
        (Some(mint(no, now() - 1)), "watch token expired"),
    ]
}

impl TestServer {
    /// Creates `no` through `/api`: its watch token.
    async fn create_watched(&self, no: &str) -> String {
        let (code, body) = self
            .api(
                Method::POST,
                "/orders",
                Some(KEY),
                Some(json!({ "order_no": no })),
            )
            .await;
        assert_eq!(code, 201, "{body}");
        body["watch_token"]
            .as_str()
            .expect("a watch_token")
            .to_owned()
    }

    async fn mark_paid(&self, no: &str) {
        let path = format!("/orders/{}/status", enc(no));
        let (code, body) = self
            .api(
                Method::PUT,
                &path,
                Some(KEY),
                Some(json!({"status": "paid"})),
            )
            .await;
        assert_eq!(code, 200, "{body}");
    }

    fn with_token(url: String, token: &Option<String>) -> String {
        match token {
            Some(t) => format!("{url}&token={}", enc(t)),
            None => url,
        }
    }
}

#[tokio::test]
async fn checks_need_the_token() {
    let s = server().await;
    let token = s.create_watched("W-CHECK").await;
    for (bad, why) in refused("W-CHECK") {
        let url = TestServer::with_token(s.check_url("W-CHECK", ""), &bad);
        let res = s.client.get(url).send().await.unwrap();
        assert_eq!(res.status(), 403, "{why}");
        let body: Value = res.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains(why), "{body}");
        assert!(
            !body.to_string().contains("v1."),
            "the token is not echoed: {body}"
        );
    }
    let url = TestServer::with_token(s.check_url("W-CHECK", ""), &Some(token));
    let body: Value = s
        .client
        .get(url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "pending");
}

#[tokio::test]
async fn long_polls_need_the_token_and_the_right_one_is_told_once() {
    let s = server().await;
    let token = s.create_watched("W-LONG").await;
    for (bad, why) in refused("W-LONG") {
        let url = TestServer::with_token(s.check_url("W-LONG", "&wait=10"), &bad);
        let res = tokio::time::timeout(T, s.client.get(url).send())
            .await
            .expect("refused at once, not held")
            .unwrap();
        assert_eq!(res.status(), 403, "{why}");
    }
    let url = TestServer::with_token(s.check_url("W-LONG", "&wait=10"), &Some(token));
    let client = s.client.clone();
    let held =
        tokio::spawn(async move { client.get(url).send().await.unwrap().json::<Value>().await });
    s.wait_stat("W-LONG", "long_poll_waiting", 1).await;
    s.mark_paid("W-LONG").await;
    assert_eq!(held.await.unwrap().unwrap()["status"], "paid");
}

#[tokio::test]
async fn sse_needs_the_token_and_the_right_one_is_told_once() {
    let s = server().await;
    let token = s.create_watched("W-SSE").await;
    for (bad, why) in refused("W-SSE") {
        let mut url = format!("{}/payment-status?order_no=W-SSE", s.url);
        url = TestServer::with_token(url, &bad);
        let res = s.client.get(url).send().await.unwrap();
        assert_eq!(res.status(), 403, "{why}");
    }
    let url = format!(
        "{}/payment-status?order_no=W-SSE&token={}",
        s.url,
        enc(&token)
    );
    let mut sse = common::SseReader::new(s.client.get(url).send().await.unwrap());
    assert_eq!(sse.try_data(T).await.unwrap()["status"], "pending");
    s.mark_paid("W-SSE").await;
    assert_eq!(sse.try_data(T).await.unwrap()["status"], "paid");
    s.mark_paid("W-SSE").await;
    assert!(sse.try_data(QUIET).await.is_none(), "told twice");
}

#[tokio::test]
async fn websocket_subscriptions_need_the_token_and_a_wrong_one_closes_1008() {
    let s = server().await;
    let token = s.create_watched("W-WS").await;
    for (bad, why) in refused("W-WS") {
        let mut ws = s.ws().await;
        let mut frame = json!({"order_no": "W-WS"});
        if let Some(t) = bad {
            frame["token"] = t.into();
        }
        ws.send_text(&frame.to_string()).await;
        let error = ws.json(T).await;
        assert!(error["error"].as_str().unwrap().contains(why), "{error}");
        match ws.event(T).await {
            WsEvent::Close(code) => assert_eq!(code, Some(1008), "{why}"),
            other => panic!("{why}: expected Close 1008, got {other:?}"),
        }
    }
    let mut ws = s.ws().await;
    ws.send_text(&json!({"order_no": "W-WS", "token": token}).to_string())
        .await;
    assert_eq!(ws.json(T).await["status"], "pending");
    s.mark_paid("W-WS").await;
    assert_eq!(ws.json(T).await["status"], "paid");
    s.mark_paid("W-WS").await;
    assert!(ws.try_json(QUIET).await.is_none(), "told twice");
}

#[tokio::test]
async fn a_token_minted_by_a_node_backend_is_taken() {
    let s = server().await;
    s.create_watched("W-NODE").await;
    let exp = (now() + 3600).to_string();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/watch-token.mjs");
    let out = std::process::Command::new("node")
        .arg(example)
        .arg(secret_file())
        .args(["W-NODE", &exp])
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(
        token,
        mint("W-NODE", exp.parse().unwrap()),
        "the same formula"
    );
    let url = TestServer::with_token(s.check_url("W-NODE", ""), &Some(token));
    let res = s.client.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn without_a_secret_nothing_changes() {
    let s = start_with(Options {
        payments: Payments {
            api_keys_env: Some(KEY.into()),
            ..Payments::default()
        },
        ..Options::default()
    })
    .await;
    let (code, body) = s
        .api(
            Method::POST,
            "/orders",
            Some(KEY),
            Some(json!({"order_no": "W-OPEN"})),
        )
        .await;
    assert_eq!(code, 201, "{body}");
    assert!(body.get("watch_token").is_none(), "{body}");
    let (code, check) = s.check("W-OPEN", "").await;
    assert_eq!((code, &check["status"]), (200, &json!("pending")));
}
