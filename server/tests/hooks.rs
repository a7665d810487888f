//! The `/_test/` hooks.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(2);

#[tokio::test]
async fn stats_count_checks() {
    let s = start().await;
    s.create("st").await;
    let before = paywatch_server::store::now_ms();
    for _ in 0..3 {
        s.check("st", "").await;
    }
    let stats = s.stats("st").await;
    assert_eq!(stats["checks"], 3);
    assert_eq!(stats["in_flight"], 0);
    assert_eq!(stats["max_in_flight"], 1);
    assert_eq!(stats["long_poll_waiting"], 0);
    assert_eq!(stats["last_order_no"], "st");
    let times = stats["check_times_ms"].as_array().unwrap();
    assert_eq!(times.len(), 3);
    assert!(times.iter().all(|t| t.as_u64().unwrap() >= before));
    for key in ["sse_open", "ws_open", "sse_connects", "ws_connects"] {
        assert_eq!(stats[key], 0, "{key}");
    }
    assert_eq!(stats["last_event_ids"], json!([]));

    // Unknown orders are counted too.
    assert_eq!(s.check("ghost", "").await.0, 404);
    let g = s.stats("ghost").await;
    assert_eq!(
        (&g["checks"], &g["last_order_no"]),
        (&json!(1), &json!("ghost"))
    );
    // An order nobody asked about has zeroed stats.
    assert_eq!(s.stats("never").await["checks"], 0);
}

#[tokio::test]
async fn delay_and_in_flight() {
    let s = start().await;
    s.create("dl").await;
    s.behavior("dl", json!({"delay_ms": 300})).await;
    let t = Instant::now();
    let mut reqs = Vec::new();
    for _ in 0..3 {
        let url = s.check_url("dl", "");
        let client = s.client.clone();
        reqs.push(tokio::spawn(async move {
            client.get(url).send().await.unwrap().status()
        }));
    }
    s.wait_stat("dl", "in_flight", 3).await;
    for r in reqs {
        assert_eq!(r.await.unwrap(), 200);
    }
    assert!(t.elapsed() >= Duration::from_millis(300));
    let stats = s.stats("dl").await;
    assert_eq!(
        (&stats["in_flight"], &stats["max_in_flight"]),
        (&json!(0), &json!(3))
    );

    s.behavior("dl", json!({"delay_ms": 0})).await;
    let t = Instant::now();
    s.check("dl", "").await;
    assert!(t.elapsed() < Duration::from_millis(200));
}

#[tokio::test]
async fn fail_kinds() {
    let s = start().await;
    s.create("fk").await;

    s.behavior("fk", json!({"fail_next": 2, "fail_kind": "500"}))
        .await;
    for _ in 0..2 {
        let res = s.client.get(s.check_url("fk", "")).send().await.unwrap();
        assert_eq!(res.status(), 500);
        assert_eq!(res.headers()["cache-control"], "no-store");
        assert!(res.json::<Value>().await.unwrap()["error"].is_string());
    }

    s.behavior("fk", json!({"fail_next": 1, "fail_kind": "html"}))
        .await;
    let res = s.client.get(s.check_url("fk", "")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(res.text().await.unwrap(), "<html>oops</html>");

    s.behavior("fk", json!({"fail_next": 1, "fail_kind": "non_json"}))
        .await;
    let res = s.client.get(s.check_url("fk", "")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    assert_eq!(res.text().await.unwrap(), "not json");

    s.behavior("fk", json!({"fail_next": 1, "fail_kind": "other_json"}))
        .await;
    assert_eq!(s.check("fk", "").await, (200, json!({"hello": "world"})));

    // Back to normal; failures were counted as checks.
    let (status, body) = s.check("fk", "").await;
    assert_eq!((status, &body["status"]), (200, &json!("pending")));
    assert_eq!(s.stats("fk").await["checks"], 6);

    // Bad behaviour bodies are rejected.
    let (status, _) = s
        .post_json("/_test/orders/fk/behavior", json!({"fail_kind": "teapot"}))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn ignore_wait() {
    let s = start().await;
    s.create("iw").await;
    s.behavior("iw", json!({"ignore_wait": true})).await;
    let t = Instant::now();
    let (_, body) = s.check("iw", "&wait=10").await;
    assert_eq!(body["status"], "pending");
    assert!(t.elapsed() < Duration::from_millis(500));
}

#[tokio::test]
async fn drop_closes_sse_and_ws() {
    let s = start().await;
    s.create(SPECIAL).await;
    let mut sse = s.sse_reader(SPECIAL, None).await;
    sse.next_data(T).await.unwrap();
    let mut ws = s.ws().await;
    ws.subscribe(SPECIAL).await;
    ws.json(T).await;
    s.wait_stat(SPECIAL, "ws_open", 1).await;

    let (status, body) = s
        .post(&format!("/_test/orders/{}/drop", enc(SPECIAL)))
        .await;
    assert_eq!((status, body), (200, json!({"dropped": 2})));

    // SSE body ends (heartbeats may come first).
    loop {
        match sse.next_within(T).await {
            None => break,
            Some(b) => assert!(b.data.is_none(), "{b:?}"),
        }
    }
    assert!(matches!(
        ws.non_heartbeat(T).await,
        WsEvent::Gone | WsEvent::Close(_)
    ));
    s.wait_stat(SPECIAL, "sse_open", 0).await;
    s.wait_stat(SPECIAL, "ws_open", 0).await;

    // Nothing open any more.
    assert_eq!(
        s.post("/_test/orders/x/drop").await,
        (200, json!({"dropped": 0}))
    );
}

#[tokio::test]
async fn drop_cuts_a_held_long_poll_mid_response() {
    let s = start().await;
    s.create("held").await;
    let held = tokio::spawn({
        let (client, url) = (s.client.clone(), s.check_url("held", "&wait=20"));
        async move {
            let res = client.get(url).send().await.unwrap();
            (res.status().as_u16(), res.text().await)
        }
    });
    s.wait_stat("held", "long_poll_waiting", 1).await;
    let (status, body) = s.post("/_test/orders/held/drop").await;
    assert_eq!((status, body), (200, json!({"dropped": 1})));
    let (code, text) = tokio::time::timeout(T, held).await.unwrap().unwrap();
    assert_eq!(code, 200, "the headers went out");
    assert!(text.is_err(), "the body was cut: {text:?}");
    s.wait_stat("held", "long_poll_waiting", 0).await;
}

#[tokio::test]
async fn push_sends_raw_text() {
    let s = start().await;
    s.create("pu").await;
    let mut sse = s.sse_reader("pu", None).await;
    sse.next_data(T).await.unwrap();
    let mut ws = s.ws().await;
    ws.subscribe("pu").await;
    ws.json(T).await;
    s.wait_stat("pu", "ws_open", 1).await;

    let foreign = r#"{"payed":1,"status":"paid","order_no":"someone-else"}"#;
    let res = s
        .client
        .post(format!("{}/_test/orders/pu/push", s.url))
        .body(foreign)
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"sent": 2}));
    let ev = sse.next_data(T).await.unwrap();
    assert_eq!(
        (ev.id.as_deref(), ev.data.as_deref()),
        (None, Some(foreign))
    );
    assert_eq!(ws.text(T).await, foreign);

    s.client
        .post(format!("{}/_test/orders/pu/push", s.url))
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(
        sse.next_data(T).await.unwrap().data.as_deref(),
        Some("not json")
    );
    assert_eq!(ws.text(T).await, "not json");

    // Real changes still flow afterwards.
    s.pay("pu").await;
    assert_eq!(sse.next_data(T).await.unwrap().json()["status"], "paid");
    assert_eq!(ws.json(T).await["status"], "paid");
}

#[tokio::test]
async fn refuse_push() {
    let s = start().await;
    s.create("rf").await;
    s.behavior("rf", json!({"refuse_push": true})).await;

    let res = s.sse("rf", None).await;
    assert_eq!(res.status(), 503);
    let mut ws = s.ws().await;
    ws.subscribe("rf").await;
    assert_eq!(ws.json(T).await["error"], "refused");
    assert!(matches!(
        ws.non_heartbeat(T).await,
        WsEvent::Close(_) | WsEvent::Gone
    ));
    let stats = s.stats("rf").await;
    assert_eq!(
        (&stats["sse_connects"], &stats["ws_connects"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(
        (&stats["sse_open"], &stats["ws_open"]),
        (&json!(0), &json!(0))
    );

    s.behavior("rf", json!({"refuse_push": false})).await;
    let mut sse = s.sse_reader("rf", None).await;
    assert_eq!(sse.next_data(T).await.unwrap().json()["status"], "pending");
}

#[tokio::test]
async fn expire_hook_notifies_everyone() {
    let s = start().await;
    s.create("ex").await;
    let mut sse = s.sse_reader("ex", None).await;
    sse.next_data(T).await.unwrap();
    let url = s.check_url("ex", "&wait=10");
    let held = tokio::spawn(async move {
        reqwest::get(url)
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    });
    s.wait_stat("ex", "long_poll_waiting", 1).await;

    let (status, body) = s.post("/_test/orders/ex/expire").await;
    assert_eq!((status, &body["status"]), (200, &json!("expired")));
    assert_eq!(held.await.unwrap()["status"], "expired");
    assert_eq!(sse.next_data(T).await.unwrap().json()["status"], "expired");
    assert_eq!(s.post("/_test/orders/missing/expire").await.0, 404);
    s.create("ex-paid").await;
    s.pay("ex-paid").await;
    assert_eq!(s.post("/_test/orders/ex-paid/expire").await.0, 409);
}
