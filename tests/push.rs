//! Browser tests for `"long-poll"`, `"sse"`, `"websocket"` and `"auto"`, in
//! headless Chromium against the real reference server: detection, exactly
//! once across push and catch-up check, reconnects that miss nothing, stop
//! closing the connection, foreign and garbage frames. Run by `make test`.
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod common;

use common::*;
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The server-side count that shows a watch of `strategy` is connected.
fn open_key(strategy: &str) -> &'static str {
    match strategy {
        "sse" => "sse_open",
        "websocket" => "ws_open",
        _ => "long_poll_waiting",
    }
}

async fn connected(order_no: &str, strategy: &str) -> Value {
    let key = open_key(strategy);
    wait_for(order_no, key, |s| num(s, key) >= 1).await
}

per_strategy!(
    [
        paid_is_detected_and_hooks_run_once,
        exactly_once_when_push_and_catch_up_check_both_say_paid,
        stop_closes_the_connection,
        closed_and_expired_end_the_watch,
    ]
    long_poll => "long-poll",
    sse => "sse",
    websocket => "websocket",
);

// Only push connections can be dropped, reopened, or sent foreign frames.
per_strategy!(
    [
        paid_while_the_connection_is_down_is_still_seen_once,
        every_reopen_is_followed_by_one_http_check,
        a_non_json_frame_is_reported_not_fatal,
        a_message_for_another_order_does_not_count,
    ]
    sse_only => "sse",
    websocket_only => "websocket",
);

async fn paid_is_detected_and_hooks_run_once(strategy: &str) {
    let (no, rec, p) = start_watch(
        "push-paid",
        json!({ "strategy": strategy, "longPollWaitSec": 5 }),
    )
    .await;
    connected(&no, strategy).await;
    let checks_before = num(&stats(&no).await, "checks");
    pay(&no).await;
    let out = outcome(&p).await;
    assert_eq!(out["status"], "paid");
    assert_eq!(out["strategy"], strategy, "{out}");
    assert_eq!(out["payStatus"], 3);
    let r = record(&rec);
    assert_eq!(r["kbn"], json!(["pc评价页牌匾扫码支付成功"]));
    assert_eq!(r["pingan"], json!([5357]));
    assert_eq!(r["status"], json!([3]));
    assert_eq!(count(&r, "paid"), 1);
    if strategy == "long-poll" {
        // The held request answered: no new check was needed to see the payment.
        assert_eq!(num(&stats(&no).await, "checks"), checks_before);
    }
    sleep(300).await;
    assert_eq!(count(&record(&rec), "status"), 1);
}

async fn exactly_once_when_push_and_catch_up_check_both_say_paid(strategy: &str) {
    let no = create(&unique("push-both")).await;
    pay(&no).await;
    let rec = recorder();
    let opts = options(&rec, json!({ "strategy": strategy }));
    let out = outcome(&watch(&no, Some(2.0), &opts)).await;
    assert_eq!(out["status"], "paid");
    sleep(400).await;
    let r = record(&rec);
    assert_eq!(hook_counts(&r), (1, 1, 1, 1), "{r}");
    assert_eq!(r["kbn"], json!(["pc评价页报告扫码支付成功"]));
}

async fn stop_closes_the_connection(strategy: &str) {
    let (no, rec, p) = start_watch(
        "push-stop",
        json!({ "strategy": strategy, "longPollWaitSec": 20 }),
    )
    .await;
    connected(&no, strategy).await;
    paywatch::stop_pay_status(JsValue::from_str(&no)).unwrap();
    assert_eq!(outcome(&p).await["status"], "cancelled");
    let key = open_key(strategy);
    let s = wait_for(&no, "the server to see the connection go", |s| {
        num(s, key) == 0 && num(s, "in_flight") == 0
    })
    .await;
    let checks = num(&s, "checks");
    pay(&no).await;
    sleep(500).await;
    let after = stats(&no).await;
    assert_eq!(num(&after, "checks"), checks, "no request after stop");
    assert_eq!((num(&after, "sse_open"), num(&after, "ws_open")), (0, 0));
    assert_eq!(count(&record(&rec), "status"), 0, "no callback after stop");
}

async fn a_message_for_another_order_does_not_count(strategy: &str) {
    let (no, rec, p) = start_watch("push-foreign", json!({ "strategy": strategy })).await;
    connected(&no, strategy).await;
    let other = json!({ "payed": 1, "status": "paid", "order_no": "SOMEONE-ELSE" });
    let sent = test_hook(&no, "push", Some(other)).await;
    assert!(num(&sent, "sent") >= 1, "{sent}");
    sleep(300).await;
    assert_eq!(events_of(&rec, "ignored").len(), 1, "{}", record(&rec));
    assert_eq!(
        count(&record(&rec), "status"),
        0,
        "another order's payment does not count"
    );
    assert_eq!(paywatch::active_watches(), 1);
    pay(&no).await;
    assert_eq!(outcome(&p).await["status"], "paid");
    assert_eq!(count(&record(&rec), "status"), 1);
}

async fn closed_and_expired_end_the_watch(strategy: &str) {
    let (no, rec, p) = start_watch("push-closed", json!({ "strategy": strategy })).await;
    connected(&no, strategy).await;
    close(&no).await;
    assert_eq!(outcome(&p).await["status"], "closed");
    let expiring = create_with_ttl(&unique("push-expired"), 600).await;
    let out = outcome(&watch(
        &expiring,
        Some(1.0),
        &options(&rec, json!({ "strategy": strategy })),
    ))
    .await;
    assert_eq!(out["status"], "expired");
    assert_eq!(
        out["strategy"], strategy,
        "the push channel reported the expiry: {out}"
    );
    let r = record(&rec);
    assert_eq!(
        (count(&r, "status"), count(&r, "paid"), count(&r, "kbn")),
        (0, 0, 0)
    );
}

async fn paid_while_the_connection_is_down_is_still_seen_once(strategy: &str) {
    let (no, rec, p) = start_watch("push-down", json!({ "strategy": strategy })).await;
    connected(&no, strategy).await;
    // The server drops the connection and refuses new ones; the order is paid meanwhile.
    behave(&no, json!({ "refuse_push": true })).await;
    let dropped = test_hook(&no, "drop", None).await;
    assert_eq!(num(&dropped, "dropped"), 1, "{dropped}");
    pay(&no).await;
    sleep(300).await;
    behave(&no, json!({ "refuse_push": false })).await;
    let out = outcome(&p).await;
    assert_eq!(out["status"], "paid");
    let r = record(&rec);
    assert_eq!(hook_counts(&r), (1, 1, 1, 1), "{r}");
    assert!(
        !events_of(&rec, "lost").is_empty(),
        "the drop was noticed: {r}"
    );
    let connection_errors = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "connection")
        .count();
    assert!(connection_errors >= 1, "the drop was reported: {r}");
}

async fn every_reopen_is_followed_by_one_http_check(strategy: &str) {
    let (no, rec, p) = start_watch("push-reopen", json!({ "strategy": strategy })).await;
    connected(&no, strategy).await;
    wait_for(&no, "the first catch-up check", |s| num(s, "checks") == 1).await;
    test_hook(&no, "drop", None).await;
    let key = open_key(strategy);
    let total = if strategy == "sse" {
        "sse_connects"
    } else {
        "ws_connects"
    };
    wait_for(&no, "a reconnect", |s| {
        num(s, total) >= 2 && num(s, key) == 1
    })
    .await;
    let s = wait_for(&no, "the catch-up check after the reopen", |s| {
        num(s, "checks") == 2
    })
    .await;
    assert_eq!(num(&s, "max_in_flight"), 1);
    assert!(!events_of(&rec, "reconnect").is_empty());
    // Quiet while connected: no more checks.
    sleep(600).await;
    assert_eq!(num(&stats(&no).await, "checks"), 2);
    paywatch::stop_pay_status(JsValue::from_str(&no)).unwrap();
    assert_eq!(outcome(&p).await["status"], "cancelled");
}

async fn a_non_json_frame_is_reported_not_fatal(strategy: &str) {
    let (no, rec, p) = start_watch("push-garbage", json!({ "strategy": strategy })).await;
    connected(&no, strategy).await;
    test_hook(&no, "push", Some(json!("this is not json"))).await;
    sleep(300).await;
    let r = record(&rec);
    let body_errors: Vec<_> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "body")
        .collect();
    assert_eq!(body_errors.len(), 1, "{r}");
    assert!(
        body_errors[0]["message"]
            .as_str()
            .unwrap()
            .contains("not JSON"),
        "{r}"
    );
    assert_eq!(body_errors[0]["strategy"], strategy);
    pay(&no).await;
    assert_eq!(outcome(&p).await["status"], "paid");
}

// ---- long polling -----------------------------------------------------------

#[wasm_bindgen_test]
async fn long_poll_against_a_server_that_ignores_wait_keeps_the_interval() {
    let no = create(&unique("lp-ignore")).await;
    behave(&no, json!({ "ignore_wait": true })).await;
    let rec = recorder();
    let p = watch(
        &no,
        Some(1.0),
        &options(&rec, json!({ "strategy": "long-poll", "intervalMs": 300 })),
    );
    sleep(1700).await;
    paywatch::stop_pay_status(JsValue::from_str(&no)).unwrap();
    assert_eq!(outcome(&p).await["status"], "cancelled");
    let s = stats(&no).await;
    let times = check_times(&s);
    assert!(
        (4..=7).contains(&times.len()),
        "about one check per 300 ms: {times:?}"
    );
    // When each check started, client side, and whether the page coming
    // back (a `focus` the test browser's window got, say) started it: such
    // a check may come at any time, by design.
    let mut checks: Vec<(f64, bool)> = Vec::new();
    let mut woken = false;
    for e in record(&rec)["events"].as_array().unwrap() {
        match e["kind"].as_str().unwrap() {
            "wake" => woken = true,
            "check" => checks.push((e["at"].as_f64().unwrap(), std::mem::take(&mut woken))),
            _ => {}
        }
    }
    assert_eq!(checks.len(), times.len(), "{checks:?}");
    for pair in checks.windows(2) {
        let ((before, _), (at, by_wake)) = (pair[0], pair[1]);
        assert!(
            by_wake || at - before >= 270.0,
            "checks {} ms apart: {checks:?}",
            at - before
        );
    }
    assert!(
        s["last_query"].as_str().unwrap().ends_with("&wait=25"),
        "{s}"
    );
}

#[wasm_bindgen_test]
async fn long_poll_cut_while_paid_is_still_seen_once() {
    let (no, rec, p) = start_watch(
        "lp-cut",
        json!({ "strategy": "long-poll", "intervalMs": 300, "longPollWaitSec": 20 }),
    )
    .await;
    connected(&no, "long-poll").await;
    // The server cuts the held request and stays down for two more checks;
    // the order is paid meanwhile.
    behave(&no, json!({ "fail_next": 2, "fail_kind": "500" })).await;
    let cut = test_hook(&no, "drop", None).await;
    assert_eq!(num(&cut, "dropped"), 1, "{cut}");
    pay(&no).await;
    let out = outcome(&p).await;
    assert_eq!(out["status"], "paid");
    assert_eq!(out["strategy"], "long-poll");
    let r = record(&rec);
    assert_eq!(hook_counts(&r), (1, 1, 1, 1), "{r}");
    let check_errors = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "check")
        .count();
    assert_eq!(
        check_errors, 3,
        "the cut request and two 500s were reported: {r}"
    );
    let times = check_times(&stats(&no).await);
    for pair in times[1..].windows(2) {
        assert!(
            pair[1] - pair[0] >= 270.0,
            "no hammering while down: {times:?}"
        );
    }
}

#[wasm_bindgen_test]
async fn long_poll_is_answered_by_the_held_request() {
    let (no, _, p) = start_watch(
        "lp-held",
        json!({ "strategy": "long-poll", "longPollWaitSec": 10 }),
    )
    .await;
    connected(&no, "long-poll").await;
    sleep(700).await;
    let s = stats(&no).await;
    assert_eq!(num(&s, "checks"), 1, "one held request, no polling: {s}");
    pay(&no).await;
    let out = outcome(&p).await;
    assert_eq!(out["status"], "paid");
    assert_eq!(num(&out, "attempts"), 1);
}

// ---- auto -------------------------------------------------------------------

#[wasm_bindgen_test]
async fn auto_prefers_websocket() {
    let (no, _, p) = start_watch("auto-ws", json!({ "strategy": "auto" })).await;
    connected(&no, "websocket").await;
    pay(&no).await;
    assert_eq!(outcome(&p).await["strategy"], "websocket");
}

#[wasm_bindgen_test]
async fn auto_falls_back_to_sse_when_websocket_cannot_connect() {
    // Port 9 on loopback: nothing listens, the socket fails to open.
    let (no, rec, p) = start_watch(
        "auto-sse",
        json!({ "strategy": "auto", "wsUrl": "ws://127.0.0.1:9/ws" }),
    )
    .await;
    connected(&no, "sse").await;
    pay(&no).await;
    let out = outcome(&p).await;
    assert_eq!(out["strategy"], "sse", "{out}");
    assert_eq!(events_of(&rec, "fallback").len(), 1);
    assert_eq!(count(&record(&rec), "status"), 1);
}

#[wasm_bindgen_test]
async fn auto_falls_back_to_long_poll_when_no_push_channel_opens() {
    let no = create(&unique("auto-lp")).await;
    let rec = recorder();
    let bad_sse = [server(), "/no-such-stream"].concat();
    let p = watch(
        &no,
        Some(1.0),
        &options(
            &rec,
            json!({ "strategy": "auto", "wsUrl": "ws://127.0.0.1:9/ws", "sseUrl": bad_sse }),
        ),
    );
    connected(&no, "long-poll").await;
    pay(&no).await;
    let out = outcome(&p).await;
    assert_eq!(out["strategy"], "long-poll", "{out}");
    assert_eq!(events_of(&rec, "fallback").len(), 2);
}

/// `payed` means paid exactly when the seed's `+res.payed === 1` holds: the
/// browser's own unary plus on the value, whatever its type (the native
/// tests of `status` cannot check this; the module has no copy of it).
#[wasm_bindgen_test]
async fn payed_is_read_like_the_seeds_unary_plus() {
    let (no, rec, p) = start_watch("plus-unpaid", json!({ "strategy": "sse" })).await;
    connected(&no, "sse").await;
    for unpaid in [
        json!(0),
        json!("0"),
        json!(2),
        json!("abc"),
        json!("1abc"),
        json!(""),
        json!(null),
        json!(false),
        json!([]),
        json!([1, 1]),
        json!({}),
    ] {
        let body = json!({ "payed": unpaid, "order_no": no });
        assert!(num(&test_hook(&no, "push", Some(body)).await, "sent") >= 1);
    }
    sleep(300).await;
    let r = record(&rec);
    assert_eq!(count(&r, "status"), 0, "none of these is paid: {r}");
    assert_eq!(paywatch::active_watches(), 1);
    paywatch::stop_pay_status(JsValue::from_str(&no)).unwrap();
    assert_eq!(outcome(&p).await["status"], "cancelled");

    for paid in [
        json!(1),
        json!(1.0),
        json!("1"),
        json!(" 1 "),
        json!("1e0"),
        json!("0x1"),
        json!(true),
        json!([1]),
        json!(["1"]),
    ] {
        let (no, rec, p) = start_watch("plus-paid", json!({ "strategy": "sse" })).await;
        connected(&no, "sse").await;
        let body = json!({ "payed": paid, "order_no": no });
        test_hook(&no, "push", Some(body)).await;
        let out = outcome(&p).await;
        assert_eq!(out["status"], "paid", "payed: {paid}");
        assert_eq!(
            out["strategy"], "sse",
            "payed: {paid} (the server says unpaid)"
        );
        assert_eq!(count(&record(&rec), "status"), 1);
    }
}
