//! The Redis backing (`--redis`), against a real `redis-server` started on a
//! free loopback port with a temp dir, and two in-process instances sharing
//! it. Skipped with a message when `redis-server` is not installed, unless
//! `PAYWATCH_REQUIRE_REDIS=1` (as `scripts/test.sh` sets): then it fails.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use common::redis::{free_port, Redis};
use common::*;
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

const T: Duration = Duration::from_secs(3);

/// A TCP relay between an instance and Redis that the test can cut: Redis
/// "unreachable for a while" for that instance only.
struct Relay {
    addr: SocketAddr,
    up: watch::Sender<bool>,
}

impl Relay {
    async fn start(target: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (up, up_rx) = watch::channel(true);
        tokio::spawn(async move {
            let mut links = JoinSet::new();
            let mut up_rx = up_rx;
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((mut inbound, _)) = accepted else { continue };
                        if !*up_rx.borrow() {
                            continue; // dropped: connection closed at once
                        }
                        links.spawn(async move {
                            if let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target)).await {
                                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                            }
                        });
                    }
                    changed = up_rx.changed() => {
                        if changed.is_err() {
                            return;
                        }
                        if !*up_rx.borrow() {
                            links.abort_all();
                        }
                    }
                }
            }
        });
        Relay { addr, up }
    }

    fn url(&self) -> String {
        format!("redis://{}", self.addr)
    }

    fn cut(&self) {
        self.up.send_replace(false);
    }

    fn mend(&self) {
        self.up.send_replace(true);
    }
}

async fn instance(redis_url: String) -> TestServer {
    start_with(Options {
        redis: Some(redis_url),
        ..Options::default()
    })
    .await
}

/// A held long-poll, in the background.
fn long_poll(s: &TestServer, no: &str, wait: u32) -> tokio::task::JoinHandle<(u16, Value)> {
    let url = s.check_url(no, &format!("&wait={wait}"));
    let client = s.client.clone();
    tokio::spawn(async move {
        let res = client.get(url).send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    })
}

/// No data event (heartbeats aside) within `d`.
async fn quiet(sse: &mut SseReader, d: Duration) {
    let got = tokio::time::timeout(d, async {
        loop {
            match sse.next().await {
                Some(b) if b.data.is_some() => return Some(b),
                Some(_) => continue,
                None => return None,
            }
        }
    })
    .await;
    if let Ok(Some(b)) = got {
        panic!("expected silence, got {b:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_orders_and_wake_each_others_waiters() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let a = instance(redis.url()).await;
    let b = instance(redis.url()).await;

    let created = a.create(SPECIAL).await;
    assert_eq!(created["status"], "pending");
    // The number is taken on every instance.
    let (status, _) = b.post_json("/orders", json!({"order_no": SPECIAL})).await;
    assert_eq!(status, 409);
    assert_eq!(b.check(SPECIAL, "").await.1["status"], "pending");

    // Three kinds of waiter on B; the payment lands on A.
    let held = long_poll(&b, SPECIAL, 20);
    let mut sse = b.sse_reader(SPECIAL, None).await;
    let first = sse.next_data(T).await.unwrap();
    assert_eq!(
        (first.id.as_deref(), first.json()["status"].clone()),
        (Some("1"), json!("pending"))
    );
    let mut ws = b.ws().await;
    ws.subscribe(SPECIAL).await;
    assert_eq!(ws.json(T).await["status"], "pending");
    tokio::time::sleep(Duration::from_millis(100)).await; // the long-poll is held

    let (status, paid) = a.pay(SPECIAL).await;
    assert_eq!((status, paid["payed"].clone()), (200, json!(1)));
    let (status, body) = tokio::time::timeout(T, held).await.unwrap().unwrap();
    assert_eq!((status, body["status"].clone()), (200, json!("paid")));
    let event = sse.next_data(T).await.unwrap();
    assert_eq!(
        (event.id.as_deref(), event.json()["payed"].clone()),
        (Some("2"), json!(1))
    );
    assert_eq!(ws.json(T).await["status"], "paid");

    // Paying again (on the other instance) is a no-op, told to nobody.
    let (status, again) = b.pay(SPECIAL).await;
    assert_eq!((status, again["status"].clone()), (200, json!("paid")));
    let (status, _) = b.post(&format!("/orders/{}/close", enc(SPECIAL))).await;
    assert_eq!(status, 409, "a paid order cannot be closed");
    quiet(&mut sse, Duration::from_millis(400)).await;

    // Closed on B: paying on A fails.
    b.create("closed-1").await;
    assert_eq!(b.post("/orders/closed-1/close").await.0, 200);
    let (status, err) = a.pay("closed-1").await;
    assert_eq!(
        (status, err),
        (409, json!({"error": "order is already closed"}))
    );
    assert_eq!(a.check("nope", "").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_and_close_race_across_instances_one_wins() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let a = instance(redis.url()).await;
    let b = instance(redis.url()).await;
    for i in 0..30 {
        let no = format!("race-{i}");
        a.create(&no).await;
        let close_path = format!("/orders/{no}/close");
        let (pay, close) = tokio::join!(a.pay(&no), b.post(&close_path));
        let codes = (pay.0, close.0);
        assert!(
            codes == (200, 409) || codes == (409, 200),
            "{no}: {codes:?}"
        );
        let on_a = a.check(&no, "").await.1;
        let on_b = b.check(&no, "").await.1;
        assert_eq!(on_a, on_b);
        let winner = if pay.0 == 200 { "paid" } else { "closed" };
        assert_eq!(on_a["status"], winner);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_ids_mean_the_same_on_every_instance() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let a = instance(redis.url()).await;
    let b = instance(redis.url()).await;
    a.create("ids").await;
    let mut on_a = a.sse_reader("ids", None).await;
    assert_eq!(on_a.next_data(T).await.unwrap().id.as_deref(), Some("1"));
    drop(on_a);
    assert_eq!(b.pay("ids").await.0, 200);
    // Reconnecting to B with the last id seen on A: the payment comes.
    let mut on_b = b.sse_reader("ids", Some("1")).await;
    let e = on_b.next_data(T).await.unwrap();
    assert_eq!(
        (e.id.as_deref(), e.json()["status"].clone()),
        (Some("2"), json!("paid"))
    );
    // Reconnecting to A having seen 2 (on B): nothing new to tell.
    let mut again = a.sse_reader("ids", Some("2")).await;
    quiet(&mut again, Duration::from_millis(400)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expiry_reaches_waiters_on_an_instance_that_did_not_create_the_order() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let a = instance(redis.url()).await;
    let b = instance(redis.url()).await;
    a.create_body(json!({"order_no": "short", "ttl_ms": 300}))
        .await;
    let mut sse = b.sse_reader("short", None).await;
    assert_eq!(sse.next_data(T).await.unwrap().json()["status"], "pending");
    let e = sse.next_data(T).await.unwrap();
    assert_eq!(
        (e.id.as_deref(), e.json()["status"].clone()),
        (Some("2"), json!("expired"))
    );
    assert_eq!(a.pay("short").await.0, 409);
}

/// Redis unreachable for B only (its relay cut): B answers 503 with
/// `Retry-After`, keeps its waiters, and when Redis is reachable again it
/// tells each of them what changed meanwhile — even though the stream
/// entries of those changes are gone (trimmed), because the order's hash is
/// the truth after a gap. Told once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_redis_answers_503_keeps_waiters_and_tells_them_after() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let relay = Relay::start(redis.port).await;
    let a = instance(redis.url()).await;
    let b = instance(relay.url()).await;
    a.create("gap-sse").await;
    a.create("gap-lp").await;
    a.create("gap-ws").await;
    let mut sse = b.sse_reader("gap-sse", None).await;
    assert_eq!(sse.next_data(T).await.unwrap().id.as_deref(), Some("1"));
    let mut ws = b.ws().await;
    ws.subscribe("gap-ws").await;
    assert_eq!(ws.json(T).await["status"], "pending");
    let held = long_poll(&b, "gap-lp", 30);
    a.create("gap-short").await;
    let short = long_poll(&b, "gap-short", 2);
    tokio::time::sleep(Duration::from_millis(200)).await;

    relay.cut();
    // B cannot reach Redis: a check is 503 with Retry-After.
    let deadline = tokio::time::Instant::now() + T;
    let res = loop {
        let res = b
            .client
            .get(b.check_url("gap-sse", ""))
            .send()
            .await
            .unwrap();
        if res.status() == 503 || tokio::time::Instant::now() > deadline {
            break res;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(
        res.json::<Value>().await.unwrap()["error"],
        "order store unavailable"
    );
    // A new SSE stream: 503 with Retry-After too; a new WebSocket
    // subscription: the error, then Close 1013 so the client comes back.
    let res = b.sse("gap-sse", None).await;
    assert_eq!(
        (
            res.status().as_u16(),
            res.headers()["retry-after"].to_str().unwrap()
        ),
        (503, "1")
    );
    let mut ws2 = b.ws().await;
    ws2.subscribe("gap-ws").await;
    assert_eq!(
        ws2.json(T).await,
        json!({"error": "order store unavailable", "order_no": "gap-ws"})
    );
    assert!(matches!(
        ws2.non_heartbeat(T).await,
        WsEvent::Close(Some(1013))
    ));

    // A hold that ends while Redis is still unreachable: not a "pending"
    // that may be stale, but 503 (with Retry-After, as above).
    let (status, body) = tokio::time::timeout(Duration::from_secs(5), short)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (status, body),
        (503, json!({"error": "order store unavailable"}))
    );

    // Meanwhile the orders are paid on A, and the stream forgets it.
    for no in ["gap-sse", "gap-lp", "gap-ws"] {
        assert_eq!(a.pay(no).await.0, 200);
    }
    redis.cmd(&["XTRIM", "pw:changes", "MAXLEN", "0"]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !held.is_finished(),
        "the held long-poll is kept through the outage"
    );

    relay.mend();
    let e = sse.next_data(Duration::from_secs(10)).await.unwrap();
    assert_eq!(
        (e.id.as_deref(), e.json()["status"].clone()),
        (Some("2"), json!("paid"))
    );
    assert_eq!(ws.json(Duration::from_secs(10)).await["status"], "paid");
    let (status, body) = tokio::time::timeout(Duration::from_secs(10), held)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((status, body["status"].clone()), (200, json!("paid")));
    quiet(&mut sse, Duration::from_millis(400)).await;
    assert_eq!(b.check("gap-sse", "").await.1["status"], "paid");
}

/// A real Redis restart mid-watch: waiters on both instances see the
/// payment made after it, once; orders survive (append-only file).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_mid_watch() {
    let Some(mut redis) = Redis::start().await else {
        return;
    };
    let a = instance(redis.url()).await;
    let b = instance(redis.url()).await;
    a.create("restart").await;
    let mut on_a = a.sse_reader("restart", None).await;
    let mut on_b = b.sse_reader("restart", None).await;
    assert_eq!(on_a.next_data(T).await.unwrap().id.as_deref(), Some("1"));
    assert_eq!(on_b.next_data(T).await.unwrap().id.as_deref(), Some("1"));

    redis.down();
    let (status, _) = a.check("restart", "").await;
    assert_eq!(status, 503);
    redis.up().await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = b.pay("restart").await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(
            tokio::time::Instant::now() < deadline,
            "B never reached Redis again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for sse in [&mut on_a, &mut on_b] {
        let e = sse.next_data(Duration::from_secs(10)).await.unwrap();
        assert_eq!(
            (e.id.as_deref(), e.json()["status"].clone()),
            (Some("2"), json!("paid"))
        );
    }
    quiet(&mut on_a, Duration::from_millis(300)).await;
    quiet(&mut on_b, Duration::from_millis(100)).await;
}

/// Many waiters on one instance, many orders paid on the other: every
/// waiter is told, once. (Keeps the subscribe-then-read order honest under
/// load: a payment racing a subscription is never lost.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_racing_subscriptions_are_never_lost() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let a = Arc::new(instance(redis.url()).await);
    let b = Arc::new(instance(redis.url()).await);
    let mut waiters = JoinSet::new();
    for i in 0..200 {
        let no = format!("many-{i}");
        a.create(&no).await;
        let held = long_poll(&b, &no, 20);
        let a = a.clone();
        // Pay at about the moment B subscribes.
        waiters.spawn(async move {
            tokio::time::sleep(Duration::from_micros((i % 7) * 300)).await;
            assert_eq!(a.pay(&no).await.0, 200);
            let (status, body) = tokio::time::timeout(Duration::from_secs(15), held)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (status, body["status"].clone()),
                (200, json!("paid")),
                "{no}"
            );
        });
    }
    while let Some(done) = waiters.join_next().await {
        done.unwrap();
    }
    drop(b);
}

/// `--redis` pointing at nothing: the server refuses to start, saying why
/// (rather than serving 503s from its first request on).
#[tokio::test]
async fn unreachable_redis_at_start_is_an_error() {
    let config = paywatch_server::Config {
        port: 0,
        redis: Some(format!("redis://127.0.0.1:{}", free_port())),
        ..paywatch_server::Config::default()
    };
    let err = paywatch_server::start(config)
        .await
        .err()
        .expect("no server");
    assert!(
        err.to_string().starts_with("redis redis://127.0.0.1:"),
        "{err}"
    );
}
