//! Orders, the `/pay` check and long-poll, static files, pages, shutdown.

mod common;

use std::time::{Duration, Instant};

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn create_pay_close_and_errors() {
    let s = start().await;

    // Generated order number, defaults.
    let res = s
        .client
        .post(format!("{}/orders", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let a: Value = res.json().await.unwrap();
    let no = a["order_no"].as_str().unwrap().to_string();
    assert!(
        no.starts_with("PW") && no.len() >= "PW20261122-000001".len(),
        "{no}"
    );
    assert_eq!(a["status"], "pending");
    assert!(a["expires_at"].as_u64().unwrap() > 0);
    assert!(a["pay_url"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{}/pay-link/", s.url)));
    let b = s.create_body(json!({})).await;
    assert_ne!(b["order_no"], a["order_no"]);

    let (status, body) = s.get(&format!("/orders/{}", enc(&no))).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"payed": 0, "status": "pending", "order_no": no, "expires_at": a["expires_at"]})
    );

    let (status, body) = s.pay(&no).await;
    assert_eq!(
        (status, &body["payed"], &body["status"]),
        (200, &json!(1), &json!("paid"))
    );
    let (status, again) = s.pay(&no).await;
    assert_eq!((status, again), (200, body), "pay is idempotent");
    let (status, err) = s.post(&format!("/orders/{}/close", enc(&no))).await;
    assert_eq!(status, 409);
    assert!(err["error"].is_string());

    let other = b["order_no"].as_str().unwrap();
    let (status, body) = s.post(&format!("/orders/{}/close", enc(other))).await;
    assert_eq!(
        (status, &body["status"], &body["payed"]),
        (200, &json!("closed"), &json!(0))
    );
    assert_eq!(s.pay(other).await.0, 409);

    // Unknown orders.
    assert_eq!(
        s.pay("nope").await,
        (404, json!({"error": "unknown order"}))
    );
    assert_eq!(
        s.post("/orders/nope/close").await,
        (404, json!({"error": "unknown order"}))
    );
    assert_eq!(
        s.get("/orders/nope").await,
        (404, json!({"error": "unknown order"}))
    );

    // Bad creates.
    s.create("dup").await;
    let (status, err) = s.post_json("/orders", json!({"order_no": "dup"})).await;
    assert_eq!(status, 409);
    assert!(err["error"].is_string());
    assert_eq!(s.post_json("/orders", json!({"order_no": ""})).await.0, 400);
    let res = s
        .client
        .post(format!("{}/orders", s.url))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn pay_check_answers() {
    let s = start().await;
    s.create("c1").await;
    let res = s.client.get(s.check_url("c1", "")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(
        res.headers().get("access-control-allow-origin").is_none(),
        "no CORS without an allow-list"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (&body["payed"], &body["status"], &body["order_no"]),
        (&json!(0), &json!("pending"), &json!("c1"))
    );

    s.pay("c1").await;
    let (status, body) = s.check("c1", "&wait=0").await;
    assert_eq!(
        (status, &body["payed"], &body["status"]),
        (200, &json!(1), &json!("paid"))
    );

    // Errors are JSON and no-store too.
    let res = s
        .client
        .get(format!("{}/pay?order_no=c1", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert!(res.json::<Value>().await.unwrap()["error"].is_string());
    let (status, _) = s.get("/pay?action=something_else&order_no=c1").await;
    assert_eq!(status, 400);
    assert_eq!(
        s.check("missing", "").await,
        (404, json!({"error": "unknown order"}))
    );
    assert_eq!(s.check("missing", "&wait=5").await.0, 404);
    assert_eq!(s.check("c1", "&wait=abc").await.0, 400);
}

#[tokio::test]
async fn special_order_number_in_query_and_path() {
    let s = start().await;
    let created = s.create(SPECIAL).await;
    assert_eq!(created["order_no"], SPECIAL);
    assert!(created["pay_url"]
        .as_str()
        .unwrap()
        .ends_with("/pay-link/A%26B%20%231%2F%E6%B5%8B%E8%AF%95"));

    let (status, body) = s.check(SPECIAL, "").await;
    assert_eq!((status, &body["order_no"]), (200, &json!(SPECIAL)));
    let stats = s.stats(SPECIAL).await;
    assert_eq!(stats["last_order_no"], SPECIAL);
    assert_eq!(
        stats["last_query"],
        "action=check_pay_status_by_order&order_no=A%26B%20%231%2F%E6%B5%8B%E8%AF%95&t=1"
    );

    // The encoded `/` stays inside the `{no}` segment.
    let res = s
        .client
        .post(format!(
            "{}/orders/A%26B%20%231%2F%E6%B5%8B%E8%AF%95/pay",
            s.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        (&body["order_no"], &body["status"]),
        (&json!(SPECIAL), &json!("paid"))
    );
    let (status, body) = s.get("/orders/A%26B%20%231%2F%E6%B5%8B%E8%AF%95").await;
    assert_eq!((status, &body["status"]), (200, &json!("paid")));
}

#[tokio::test]
async fn long_poll_holds_until_pay() {
    let s = start().await;
    s.create("lp").await;
    let url = s.check_url("lp", "&wait=10");
    let client = s.client.clone();
    let started = Instant::now();
    let req = tokio::spawn(async move {
        let res = client.get(url).send().await.unwrap();
        let body: Value = res.json().await.unwrap();
        (Instant::now(), body)
    });
    s.wait_stat("lp", "long_poll_waiting", 1).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!req.is_finished(), "long-poll answered before the pay");
    let paid_at = Instant::now();
    s.pay("lp").await;
    let (answered_at, body) = req.await.unwrap();
    assert_eq!(body["status"], "paid");
    let lag = answered_at - paid_at;
    assert!(
        lag < Duration::from_millis(100),
        "answered {lag:?} after the pay"
    );
    assert!(answered_at - started >= Duration::from_millis(200));
    assert_eq!(s.stats("lp").await["long_poll_waiting"], 0);
}

#[tokio::test]
async fn long_poll_times_out_and_final_answers_at_once() {
    let s = start().await;
    s.create("lp2").await;
    let t = Instant::now();
    let (status, body) = s.check("lp2", "&wait=1").await;
    let took = t.elapsed();
    assert_eq!((status, &body["status"]), (200, &json!("pending")));
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_millis(1800),
        "{took:?}"
    );

    s.pay("lp2").await;
    let t = Instant::now();
    let (_, body) = s.check("lp2", "&wait=30").await;
    assert_eq!(body["status"], "paid");
    assert!(t.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn expiry_wakes_long_poll() {
    let s = start().await;
    let created = s
        .create_body(json!({"order_no": "exp", "ttl_ms": 300}))
        .await;
    let t = Instant::now();
    let (status, body) = s.check("exp", "&wait=10").await;
    let took = t.elapsed();
    assert_eq!(
        (status, &body["status"], &body["payed"]),
        (200, &json!("expired"), &json!(0))
    );
    assert_eq!(body["expires_at"], created["expires_at"]);
    assert!(took < Duration::from_millis(1500), "{took:?}");
    assert_eq!(s.pay("exp").await.0, 409);
}

#[tokio::test]
async fn static_files_and_missing_dirs() {
    let www = temp_dir("www");
    std::fs::write(www.join("index.html"), "<h1>demo</h1>").unwrap();
    let pkg = temp_dir("pkg");
    std::fs::write(pkg.join("paywatch_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(pkg.join("paywatch.js"), "export {};").unwrap();
    let s = start_with(Options {
        www: Some(www.clone()),
        pkg: Some(pkg.clone()),
        ..Options::default()
    })
    .await;

    let res = s.client.get(format!("{}/", s.url)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(res.text().await.unwrap(), "<h1>demo</h1>");
    let res = s
        .client
        .get(format!("{}/pkg/paywatch_bg.wasm", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "application/wasm");
    let res = s
        .client
        .get(format!("{}/pkg/paywatch.js", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["content-type"], "text/javascript");
    let res = s
        .client
        .get(format!("{}/nope.html", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let _ = std::fs::remove_dir_all(www);
    let _ = std::fs::remove_dir_all(pkg);

    // Missing directories: 404s, and the API still works.
    let s = start().await;
    assert_eq!(
        s.client
            .get(format!("{}/", s.url))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        s.client
            .get(format!("{}/pkg/x.js", s.url))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    s.create("still-works").await;
}

#[tokio::test]
async fn pay_link_page_and_qr_code() {
    let s = start_with(Options {
        public_url: Some("http://phone.example:9000".into()),
        ..Options::default()
    })
    .await;
    let evil = "<script>alert(\"x\")</script>&'";
    let created = s.create(evil).await;
    let pay_url = created["pay_url"].as_str().unwrap();
    assert_eq!(
        pay_url,
        format!("http://phone.example:9000/pay-link/{}", enc(evil))
    );

    let res = s
        .client
        .get(format!("{}/pay-link/{}", s.url, enc(evil)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let page = res.text().await.unwrap();
    assert!(!page.contains(evil));
    assert!(!page.contains("<script>alert"));
    assert!(page
        .contains("data-order-no=\"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;\""));
    assert!(page.contains("Pay now"));
    assert!(page.contains("name=\"viewport\""));

    let res = s
        .client
        .get(format!("{}/orders/{}/qr.svg", s.url, enc(evil)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    let svg = res.text().await.unwrap();
    assert!(svg.contains("<svg") && svg.contains("</svg>"));

    assert_eq!(s.get("/orders/unknown/qr.svg").await.0, 404);
}

#[tokio::test]
async fn cors_preflight_follows_the_allow_list() {
    let mut limits = test_limits();
    limits.allow_origins = vec!["http://shop.example".into()];
    let s = start_with(Options {
        limits,
        ..Options::default()
    })
    .await;
    let preflight = |origin: &'static str| {
        s.client
            .request(reqwest::Method::OPTIONS, format!("{}/orders", s.url))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", "content-type")
            .send()
    };
    let res = preflight("http://shop.example").await.unwrap();
    assert!(res.status().is_success());
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "http://shop.example"
    );
    let methods = res.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(methods.contains("POST") && methods.contains("GET"));
    let res = preflight("http://other.example").await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn hooks_are_404_without_flag() {
    let s = start_with(Options {
        hooks: false,
        ..Options::default()
    })
    .await;
    s.create("h").await;
    assert_eq!(s.get("/_test/orders/h/stats").await.0, 404);
    assert_eq!(s.post("/_test/orders/h/expire").await.0, 404);
    assert_eq!(s.post("/_test/orders/h/drop").await.0, 404);
    // The public API is unaffected.
    assert_eq!(s.check("h", "").await.0, 200);
}

#[tokio::test]
async fn graceful_shutdown_closes_streams() {
    let s = start().await;
    s.create("sd").await;
    let mut sse = s.sse_reader("sd", None).await;
    sse.next_data(Duration::from_secs(2)).await.unwrap();
    let mut ws = s.ws().await;
    ws.subscribe("sd").await;
    ws.json(Duration::from_secs(2)).await;
    let url = s.check_url("sd", "&wait=30");
    let held = tokio::spawn(async move {
        reqwest::get(url)
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    });
    s.wait_stat("sd", "long_poll_waiting", 1).await;

    let t = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), s.server.shutdown())
        .await
        .expect("shutdown does not hang")
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(3));
    assert_eq!(held.await.unwrap()["status"], "pending");
    // Streams ended.
    loop {
        match sse.next_within(Duration::from_secs(2)).await {
            None => break,
            Some(b) => assert!(b.data.is_none(), "unexpected event {b:?}"),
        }
    }
    assert!(matches!(
        ws.non_heartbeat(Duration::from_secs(2)).await,
        WsEvent::Close(Some(1001))
    ));
}
