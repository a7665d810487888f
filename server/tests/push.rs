//! SSE, WebSocket and fan-out.

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const T: Duration = Duration::from_secs(2);

#[tokio::test]
async fn sse_initial_event_heartbeat_and_push() {
    let s = start().await;
    let created = s.create(SPECIAL).await;
    let res = s.sse(SPECIAL, None).await;
    assert_eq!(res.status(), 200);
    let h = res.headers();
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    assert_eq!(h["cache-control"], "no-cache");
    assert_eq!(h["x-accel-buffering"], "no");
    let mut sse = SseReader::new(res);

    let first = sse.next_within(T).await.unwrap();
    assert_eq!(first.id.as_deref(), Some("1"));
    assert_eq!(
        first.json(),
        json!({"payed": 0, "status": "pending", "order_no": SPECIAL, "expires_at": created["expires_at"]})
    );

    // A heartbeat comment within the interval (100 ms; allow scheduling slack).
    let t = Instant::now();
    let hb = sse
        .next_within(Duration::from_millis(HEARTBEAT_MS * 5))
        .await
        .unwrap();
    assert!(hb.data.is_none() && !hb.comments.is_empty(), "{hb:?}");
    assert!(t.elapsed() < Duration::from_millis(HEARTBEAT_MS * 3));

    s.pay(SPECIAL).await;
    let paid = sse.next_data(T).await.unwrap();
    assert_eq!(paid.id.as_deref(), Some("2"));
    assert_eq!(
        (&paid.json()["payed"], &paid.json()["status"]),
        (&json!(1), &json!("paid"))
    );

    // The stream stays open after the final status (heartbeats go on).
    let hb = sse.next_within(T).await.unwrap();
    assert!(hb.data.is_none());
    assert_eq!(s.stats(SPECIAL).await["sse_open"], 1);
    drop(sse);
    s.wait_stat(SPECIAL, "sse_open", 0).await;
}

#[tokio::test]
async fn sse_last_event_id_suppresses_the_current_status() {
    let s = start().await;
    s.create("le").await;
    let mut sse = s.sse_reader("le", Some("1")).await;
    // Only heartbeats until something changes.
    for _ in 0..3 {
        let b = sse.next_within(T).await.unwrap();
        assert!(b.data.is_none(), "unexpected event {b:?}");
    }
    s.pay("le").await;
    let ev = sse.next_data(T).await.unwrap();
    assert_eq!(
        (ev.id.as_deref(), ev.json()["status"].as_str()),
        (Some("2"), Some("paid"))
    );

    // A stale id gets the current status at once.
    let mut sse2 = s.sse_reader("le", Some("1")).await;
    let ev = sse2.next_within(T).await.unwrap();
    assert_eq!(ev.id.as_deref(), Some("2"));
    let stats = s.stats("le").await;
    assert_eq!(stats["last_event_ids"], json!(["1", "1"]));
    assert_eq!(stats["sse_connects"], 2);
}

#[tokio::test]
async fn sse_errors() {
    let s = start().await;
    let res = s.sse("missing", None).await;
    assert_eq!(res.status(), 404);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"error": "unknown order"})
    );
    let res = s
        .client
        .get(format!("{}/payment-status", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn sse_sees_expiry() {
    let s = start().await;
    s.create_body(json!({"order_no": "sx", "ttl_ms": 200}))
        .await;
    let mut sse = s.sse_reader("sx", None).await;
    assert_eq!(sse.next_data(T).await.unwrap().json()["status"], "pending");
    let ev = sse.next_data(T).await.unwrap();
    assert_eq!(
        (ev.id.as_deref(), ev.json()["status"].as_str()),
        (Some("2"), Some("expired"))
    );
}

#[tokio::test]
async fn websocket_subscribe_push_errors_and_ping() {
    let s = start().await;
    s.create(SPECIAL).await;
    s.create("w2").await;
    let mut ws = s.ws().await;

    ws.subscribe(SPECIAL).await;
    let cur = ws.json(T).await;
    assert_eq!(
        (&cur["order_no"], &cur["status"], &cur["payed"]),
        (&json!(SPECIAL), &json!("pending"), &json!(0))
    );

    ws.subscribe("nope").await;
    assert_eq!(
        ws.json(T).await,
        json!({"error": "unknown order", "order_no": "nope"})
    );
    ws.send_text("garbage{").await;
    assert_eq!(ws.json(T).await, json!({"error": "bad request"}));
    ws.send_text(r#"{"order":"x"}"#).await;
    assert_eq!(ws.json(T).await, json!({"error": "bad request"}));

    // A second order on the same socket.
    ws.subscribe("w2").await;
    assert_eq!(ws.json(T).await["order_no"], "w2");
    assert_eq!(s.stats(SPECIAL).await["ws_open"], 1);

    s.pay(SPECIAL).await;
    let pushed = ws.json(T).await;
    assert_eq!(
        (&pushed["order_no"], &pushed["status"], &pushed["payed"]),
        (&json!(SPECIAL), &json!("paid"), &json!(1))
    );
    s.post("/orders/w2/close").await;
    assert_eq!(ws.json(T).await["status"], "closed");

    // The server pings every heartbeat.
    let t = Instant::now();
    loop {
        match ws.event(T).await {
            WsEvent::Ping => break,
            WsEvent::Pong => continue,
            other => panic!("expected a ping, got {other:?}"),
        }
    }
    assert!(t.elapsed() < Duration::from_millis(HEARTBEAT_MS * 3));

    // A client ping is answered.
    ws.ws
        .send(Message::Ping(b"hi".to_vec().into()))
        .await
        .unwrap();
    loop {
        match ws.event(T).await {
            WsEvent::Pong => break,
            WsEvent::Ping => continue,
            other => panic!("expected a pong, got {other:?}"),
        }
    }

    // Closing frees the subscriptions.
    ws.ws.close(None).await.unwrap();
    s.wait_stat(SPECIAL, "ws_open", 0).await;
    s.wait_stat("w2", "ws_open", 0).await;
}

#[tokio::test]
async fn websocket_abrupt_client_disconnect_frees_subscriptions() {
    let s = start().await;
    s.create("wd").await;
    let mut ws = s.ws().await;
    ws.subscribe("wd").await;
    ws.json(T).await;
    s.wait_stat("wd", "ws_open", 1).await;
    drop(ws); // TCP close without a close frame
    s.wait_stat("wd", "ws_open", 0).await;
}

#[tokio::test]
async fn one_pay_wakes_fifty_waiters() {
    let s = start().await;
    s.create("fan").await;
    const LP: usize = 20;
    const SSE: usize = 15;
    const WS: usize = 15;

    let mut tasks = Vec::new();
    for _ in 0..LP {
        let url = s.check_url("fan", "&wait=20");
        let client = s.client.clone();
        tasks.push(tokio::spawn(async move {
            let body: Value = client.get(url).send().await.unwrap().json().await.unwrap();
            (Instant::now(), body["status"].as_str().unwrap().to_string())
        }));
    }
    for _ in 0..SSE {
        let mut sse = s.sse_reader("fan", None).await;
        assert_eq!(sse.next_data(T).await.unwrap().json()["status"], "pending");
        tasks.push(tokio::spawn(async move {
            let ev = sse.next_data(Duration::from_secs(10)).await.unwrap();
            (
                Instant::now(),
                ev.json()["status"].as_str().unwrap().to_string(),
            )
        }));
    }
    for _ in 0..WS {
        let mut ws = s.ws().await;
        ws.subscribe("fan").await;
        assert_eq!(ws.json(T).await["status"], "pending");
        tasks.push(tokio::spawn(async move {
            let v = ws.json(Duration::from_secs(10)).await;
            (Instant::now(), v["status"].as_str().unwrap().to_string())
        }));
    }
    s.wait_stat("fan", "long_poll_waiting", LP as u64).await;
    s.wait_stat("fan", "sse_open", SSE as u64).await;
    s.wait_stat("fan", "ws_open", WS as u64).await;

    let paid_at = Instant::now();
    s.pay("fan").await;
    let mut slowest = Duration::ZERO;
    for t in tasks {
        let (at, status) = t.await.unwrap();
        assert_eq!(status, "paid");
        slowest = slowest.max(at.saturating_duration_since(paid_at));
    }
    assert!(
        slowest < Duration::from_millis(500),
        "slowest waiter woke {slowest:?} after the pay"
    );
}
