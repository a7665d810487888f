//! `/api`, the shop backend's door (CONTRACT §5): Bearer keys and their
//! rotation, idempotent create and status, an unknown order recorded for a
//! later watcher, every refusal naming its cause, and the fan-out of a
//! status change to real SSE, WebSocket and long-poll waiters, in memory and
//! across two instances on one Redis.

mod common;

use std::time::Duration;

use common::redis::Redis;
use common::{enc, start_with, temp_dir, Options, TestServer};
use paywatch_server::config::Payments;
use reqwest::Method;
use serde_json::{json, Value};

const KEY_OLD: &str = "shop-key-old-0123456789";
const KEY_NEW: &str = "shop-key-new-9876543210";
const T: Duration = Duration::from_secs(5);
const QUIET: Duration = Duration::from_millis(400);

/// A server whose `/api` accepts both keys: one from a file, one from the
/// environment variable's text, as during a rotation.
async fn server(redis: Option<String>) -> TestServer {
    let dir = temp_dir("api-keys");
    let file = dir.join("keys");
    std::fs::write(&file, format!("# rotated on Monday\n\n{KEY_NEW}\n")).unwrap();
    start_with(Options {
        redis,
        payments: Payments {
            api_key_file: Some(file),
            api_keys_env: Some(format!("{KEY_OLD}, ")),
            ..Payments::default()
        },
        ..Options::default()
    })
    .await
}

impl TestServer {
    async fn put_status(&self, no: &str, status: &str) -> (u16, Value) {
        let path = format!("/orders/{}/status", enc(no));
        self.api(
            Method::PUT,
            &path,
            Some(KEY_NEW),
            Some(json!({ "status": status })),
        )
        .await
    }
}

fn error(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn without_a_key_configured_api_is_not_there() {
    let s = start_with(Options::default()).await;
    for (method, path) in [
        (Method::POST, "/orders"),
        (Method::PUT, "/orders/A1/status"),
        (Method::GET, "/orders/A1"),
    ] {
        let (code, _) = s.api(method.clone(), path, Some(KEY_NEW), None).await;
        assert_eq!(code, 404, "{method} {path}");
    }
}

#[tokio::test]
async fn a_missing_or_wrong_key_is_401_and_both_rotated_keys_work() {
    let s = server(None).await;
    let res = s
        .client
        .get(format!("{}/api/orders/A1", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer");
    let body: Value = res.json().await.unwrap();
    assert_eq!(error(&body), "missing or wrong API key");

    for wrong in [
        "",
        "shop-key-new-987654321",
        "shop-key-new-98765432100",
        "Basic x",
    ] {
        let (code, body) = s.api(Method::POST, "/orders", Some(wrong), None).await;
        assert_eq!(code, 401, "key {wrong:?}");
        // A refusal never echoes what was presented.
        assert!(!body.to_string().contains("shop-key"), "{body}");
    }
    // Nothing was created by the refused calls.
    let (code, _) = s.api(Method::GET, "/orders/A1", Some(KEY_OLD), None).await;
    assert_eq!(code, 404);

    let (code, a) = s
        .api(
            Method::POST,
            "/orders",
            Some(KEY_OLD),
            Some(json!({"order_no": "ROT-1"})),
        )
        .await;
    assert_eq!(code, 201, "{a}");
    let (code, b) = s
        .api(Method::GET, "/orders/ROT-1", Some(KEY_NEW), None)
        .await;
    assert_eq!(code, 200, "{b}");
    assert_eq!(b["status"], "pending");
}

#[tokio::test]
async fn create_is_idempotent_and_a_different_order_under_one_number_is_409() {
    let s = server(None).await;
    let order = json!({"order_no": "IDEM-1", "amount": 8800, "ttl_ms": 600_000});
    let (code, first) = s
        .api(Method::POST, "/orders", Some(KEY_NEW), Some(order.clone()))
        .await;
    assert_eq!(code, 201, "{first}");
    assert_eq!(first["order_no"], "IDEM-1");
    assert_eq!(first["amount"], 8800);
    assert_eq!(first["status"], "pending");

    // The shop's retry of the same request: 200, the same order.
    let (code, again) = s
        .api(Method::POST, "/orders", Some(KEY_NEW), Some(order))
        .await;
    assert_eq!(code, 200, "{again}");
    assert_eq!(again["expires_at"], first["expires_at"]);

    let (code, body) = s
        .api(
            Method::POST,
            "/orders",
            Some(KEY_NEW),
            Some(json!({"order_no": "IDEM-1", "amount": 1})),
        )
        .await;
    assert_eq!(code, 409, "{body}");
    assert!(!error(&body).is_empty());
    let (_, now) = s
        .api(Method::GET, "/orders/IDEM-1", Some(KEY_NEW), None)
        .await;
    assert_eq!(now["amount"], 8800, "the 409 changed nothing");

    // Without a number the server picks one.
    let (code, picked) = s
        .api(Method::POST, "/orders", Some(KEY_NEW), Some(json!({})))
        .await;
    assert_eq!(code, 201);
    assert!(!picked["order_no"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn every_refusal_names_its_cause_and_marks_nothing() {
    let s = server(None).await;
    let (code, _) = s
        .api(
            Method::POST,
            "/orders",
            Some(KEY_NEW),
            Some(json!({"order_no": "BAD-1"})),
        )
        .await;
    assert_eq!(code, 201);

    let cases: [(Method, &str, Value, u16, &str); 6] = [
        (
            Method::POST,
            "/orders",
            json!({"order_no": 5}),
            400,
            "bad JSON body",
        ),
        (
            Method::POST,
            "/orders",
            json!({"order_no": "X", "ttl_ms": u64::MAX}),
            400,
            "ttl_ms",
        ),
        (
            Method::POST,
            "/orders",
            json!({"order_no": "BAD-2", "colour": "red"}),
            400,
            "bad JSON body",
        ),
        (
            Method::PUT,
            "/orders/BAD-1/status",
            json!({"status": "pending"}),
            400,
            "unknown status",
        ),
        (
            Method::PUT,
            "/orders/BAD-1/status",
            json!({"status": "PAID!"}),
            400,
            "unknown status",
        ),
        (
            Method::PUT,
            "/orders/BAD-1/status",
            json!({"state": "paid"}),
            400,
            "bad JSON body",
        ),
    ];
    for (method, path, body, want, cause) in cases {
        let (code, reply) = s
            .api(method.clone(), path, Some(KEY_NEW), Some(body.clone()))
            .await;
        assert_eq!(code, want, "{method} {path} {body}: {reply}");
        assert!(
            error(&reply).contains(cause),
            "{method} {path} {body}: {reply}"
        );
    }
    let (code, reply) = s
        .api(Method::GET, "/orders/NEVER", Some(KEY_NEW), None)
        .await;
    assert_eq!((code, error(&reply)), (404, "unknown order"));

    let (_, order) = s
        .api(Method::GET, "/orders/BAD-1", Some(KEY_NEW), None)
        .await;
    assert_eq!(order["status"], "pending");
    for no in ["BAD-2", "X"] {
        let (code, _) = s
            .api(Method::GET, &format!("/orders/{no}"), Some(KEY_NEW), None)
            .await;
        assert_eq!(code, 404, "{no} was created by a refused call");
    }
}

#[tokio::test]
async fn a_status_is_set_once_and_a_repeat_tells_nobody() {
    let s = server(None).await;
    s.api(
        Method::POST,
        "/orders",
        Some(KEY_NEW),
        Some(json!({"order_no": "ONCE-1"})),
    )
    .await;
    let mut sse = s.sse_reader("ONCE-1", None).await;
    assert_eq!(sse.try_data(T).await.unwrap()["status"], "pending");

    let (code, body) = s.put_status("ONCE-1", "paid").await;
    assert_eq!(code, 200);
    assert_eq!(
        body,
        json!({"order_no": "ONCE-1", "status": "paid", "changed": true})
    );
    assert_eq!(sse.try_data(T).await.unwrap()["status"], "paid");

    let (code, body) = s.put_status("ONCE-1", "paid").await;
    assert_eq!((code, &body["changed"]), (200, &json!(false)));
    let (code, body) = s.put_status("ONCE-1", "closed").await;
    assert_eq!(code, 409, "{body}");
    assert!(error(&body).contains("paid"), "{body}");
    assert!(sse.try_data(QUIET).await.is_none(), "told twice");

    let (_, order) = s
        .api(Method::GET, "/orders/ONCE-1", Some(KEY_NEW), None)
        .await;
    assert_eq!(order["status"], "paid");
    assert_eq!(order["source"], "api");
    assert!(order["paid_at"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn an_unknown_order_is_recorded_and_a_later_watcher_is_told() {
    let s = server(None).await;
    let no = "LATE 测试/1";
    let (code, body) = s.put_status(no, "paid").await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["changed"], true);

    let (code, check) = s.check(no, "").await;
    assert_eq!((code, &check["status"]), (200, &json!("paid")));
    let mut sse = s.sse_reader(no, None).await;
    assert_eq!(sse.try_data(T).await.unwrap()["status"], "paid");
    let mut ws = s.ws().await;
    ws.subscribe(no).await;
    assert_eq!(ws.json(T).await["status"], "paid");
}

/// SSE, WebSocket and long-poll waiters on `watch`, the change through
/// `/api` on `tell`: each waiter told once.
async fn fans_out(watch: &TestServer, tell: &TestServer, no: &str) {
    let (code, _) = tell
        .api(
            Method::POST,
            "/orders",
            Some(KEY_OLD),
            Some(json!({"order_no": no})),
        )
        .await;
    assert_eq!(code, 201);
    let mut sse = watch.sse_reader(no, None).await;
    assert_eq!(sse.try_data(T).await.unwrap()["status"], "pending");
    let mut ws = watch.ws().await;
    ws.subscribe(no).await;
    assert_eq!(ws.json(T).await["status"], "pending");
    let long_poll = {
        let (client, url) = (watch.client.clone(), watch.check_url(no, "&wait=10"));
        tokio::spawn(async move {
            client
                .get(url)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        })
    };
    watch.wait_stat(no, "long_poll_waiting", 1).await;

    let (code, body) = tell.put_status(no, "paid").await;
    assert_eq!((code, &body["changed"]), (200, &json!(true)), "{body}");
    assert_eq!(sse.try_data(T).await.unwrap()["status"], "paid");
    assert_eq!(ws.json(T).await["status"], "paid");
    assert_eq!(long_poll.await.unwrap()["status"], "paid");

    for _ in 0..5 {
        let (code, body) = tell.put_status(no, "paid").await;
        assert_eq!((code, &body["changed"]), (200, &json!(false)));
    }
    assert!(sse.try_data(QUIET).await.is_none(), "SSE told twice");
    assert!(ws.try_json(QUIET).await.is_none(), "WebSocket told twice");
}

#[tokio::test]
async fn a_change_fans_out_to_every_waiter_in_memory() {
    let s = server(None).await;
    fans_out(&s, &s, "FAN-MEM-1").await;
}

#[tokio::test]
async fn a_change_fans_out_across_two_instances_on_redis() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let a = server(Some(redis.url())).await;
    let b = server(Some(redis.url())).await;
    let no = format!("FAN-REDIS-{}", paywatch_server::store::now_ms());
    fans_out(&a, &b, &no).await;
    // And the answer to a status check is the same on both.
    let (_, on_a) = a.check(&no, "").await;
    let (_, on_b) = b.check(&no, "").await;
    assert_eq!(
        (&on_a["status"], &on_b["status"]),
        (&json!("paid"), &json!("paid"))
    );
}
