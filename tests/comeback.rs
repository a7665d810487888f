//! Browser tests for the world a phone lives in (issue 7), in headless
//! Chromium against the real reference server: a server that pushes only
//! changes while the catch-up check fails, silently dead connections,
//! servers that never send heartbeats, `Retry-After`, polling that slows
//! down, `auto` stepping down the ladder, a push connection that never
//! opens, and `resumeWatches()` (the page coming back). The real page
//! lifecycle (frozen, back/forward cache, offline) is driven in
//! `tests/e2e/lifecycle.mjs`. Run by `make test`.
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod common;

use common::*;
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn open_key(strategy: &str) -> &'static str {
    if strategy == "sse" {
        "sse_open"
    } else {
        "ws_open"
    }
}

fn connects_key(strategy: &str) -> &'static str {
    if strategy == "sse" {
        "sse_connects"
    } else {
        "ws_connects"
    }
}

per_strategy!(
    [
        a_failing_catch_up_check_is_retried_against_a_changes_only_server,
        a_silently_dead_connection_is_replaced_and_the_payment_seen_once,
        a_server_without_heartbeats_causes_no_reconnects,
        resume_checks_at_once_even_on_an_open_connection,
    ]
    sse => "sse",
    websocket => "websocket",
);

per_strategy!(
    [
        polling_slows_down_after_slow_after_ms,
        retry_after_delays_the_next_check_and_is_reported_once,
        resume_checks_at_once_and_a_burst_makes_one_check,
    ]
    interval => "interval",
    poll => "poll",
);

/// The hole issue 7 found: a server that sends no status on open, an order
/// paid before the watch began, and a catch-up check that fails. Before the
/// fix no check was ever made again and the watch timed out.
async fn a_failing_catch_up_check_is_retried_against_a_changes_only_server(strategy: &str) {
    let no = create(&unique("changes-only")).await;
    behave(
        &no,
        json!({ "changes_only": true, "fail_next": 2, "fail_kind": "500" }),
    )
    .await;
    pay(&no).await;
    let rec = recorder();
    let opts = options(&rec, json!({ "strategy": strategy, "timeoutMs": 8000 }));
    let out = outcome(&watch(&no, Some(1.0), &opts)).await;
    assert_eq!(out["status"], "paid", "{out}");
    assert_eq!(out["strategy"], "poll", "the catch-up check saw it: {out}");
    let s = stats(&no).await;
    assert_eq!(
        num(&s, "checks"),
        3,
        "two failed catch-up checks, then one answer: {s}"
    );
    assert_eq!(num(&s, "max_in_flight"), 1, "one at a time: {s}");
    assert_eq!(
        num(&s, connects_key(strategy)),
        1,
        "no reconnect was needed: {s}"
    );
    let r = record(&rec);
    assert_eq!(hook_counts(&r), (1, 1, 1, 1), "{r}");
    assert_eq!(events_of(&rec, "retry").len(), 2, "{r}");
}

/// The server goes silent without closing (a half-open TCP connection);
/// the order is paid meanwhile. The client notices the silence after 2.5 ×
/// the server's announced heartbeat (300 ms in tests), reconnects, and sees
/// the payment once.
async fn a_silently_dead_connection_is_replaced_and_the_payment_seen_once(strategy: &str) {
    let (no, rec, p) = start_watch(
        "blackhole",
        json!({ "strategy": strategy, "timeoutMs": 10000 }),
    )
    .await;
    let key = open_key(strategy);
    wait_for(&no, "the connection", |s| num(s, key) >= 1).await;
    // Let a heartbeat or two arrive, so liveness is armed.
    sleep(700).await;
    let silenced = test_hook(&no, "blackhole", None).await;
    assert_eq!(num(&silenced, "silenced"), 1, "{silenced}");
    let at = js_sys::Date::now();
    pay(&no).await;
    let out = outcome(&p).await;
    let took = js_sys::Date::now() - at;
    assert_eq!(out["status"], "paid", "{out}");
    assert!(
        took < 5000.0,
        "seen {took} ms after the connection went silent"
    );
    let s = stats(&no).await;
    assert_eq!(
        num(&s, connects_key(strategy)),
        2,
        "one replacement connection: {s}"
    );
    let lost = events_of(&rec, "lost");
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert!(
        lost[0]["detail"]
            .as_str()
            .unwrap()
            .contains("nothing heard for 750 ms"),
        "liveness is 2.5 × the server's 300 ms heartbeat: {lost:?}"
    );
    sleep(300).await;
    assert_eq!(hook_counts(&record(&rec)), (1, 1, 1, 1));
}

/// A server that never sends heartbeats is never suspected, however short
/// `livenessMs` is: no reconnect churn.
async fn a_server_without_heartbeats_causes_no_reconnects(strategy: &str) {
    let no = create(&unique("no-heartbeat")).await;
    behave(&no, json!({ "no_heartbeat": true })).await;
    let rec = recorder();
    let p = watch(
        &no,
        Some(1.0),
        &options(&rec, json!({ "strategy": strategy, "livenessMs": 200 })),
    );
    let key = open_key(strategy);
    wait_for(&no, "the connection", |s| num(s, key) >= 1).await;
    sleep(1500).await;
    let s = stats(&no).await;
    assert_eq!(num(&s, connects_key(strategy)), 1, "no churn: {s}");
    assert_eq!(events_of(&rec, "lost").len(), 0, "{}", record(&rec));
    pay(&no).await;
    assert_eq!(outcome(&p).await["status"], "paid");
}

/// `resumeWatches()` (what the page coming back triggers) checks at once on
/// a push transport too: a server that pushes only changes and missed one
/// (here: the order paid by a path that pushes nothing) is asked.
async fn resume_checks_at_once_even_on_an_open_connection(strategy: &str) {
    let no = create(&unique("resume-push")).await;
    let rec = recorder();
    let opts = options(&rec, json!({ "strategy": strategy, "livenessMs": 100_000 }));
    let p = watch(&no, Some(1.0), &opts);
    let key = open_key(strategy);
    wait_for(&no, "the connection", |s| {
        num(s, key) >= 1 && num(s, "checks") >= 1
    })
    .await;
    // A silent connection that liveness will not notice in time: the
    // payment is not pushed.
    test_hook(&no, "blackhole", None).await;
    let checks = num(&stats(&no).await, "checks");
    pay(&no).await;
    let at = js_sys::Date::now();
    paywatch::resume_watches();
    let out = outcome(&p).await;
    assert_eq!(out["status"], "paid", "{out}");
    assert_eq!(out["strategy"], "poll", "the wake-up check saw it: {out}");
    assert!(js_sys::Date::now() - at < 1000.0, "seen at once");
    assert_eq!(num(&stats(&no).await, "checks"), checks + 1);
    assert_eq!(hook_counts(&record(&rec)), (1, 1, 1, 1));
}

/// `intervalMs` for the first `slowAfterMs`, then `slowIntervalMs`.
async fn polling_slows_down_after_slow_after_ms(strategy: &str) {
    let (no, _rec, p) = start_watch(
        "slowdown",
        json!({ "strategy": strategy, "intervalMs": 100, "slowAfterMs": 700, "slowIntervalMs": 500 }),
    )
    .await;
    sleep(2600).await;
    paywatch::stop_pay_status(JsValue::from_str(&no)).unwrap();
    assert_eq!(outcome(&p).await["status"], "cancelled");
    let times = check_times(&stats(&no).await);
    let start = times[0];
    let gaps: Vec<(f64, f64)> = times
        .windows(2)
        .map(|w| (w[0] - start, w[1] - w[0]))
        .collect();
    let fast = gaps.iter().filter(|(at, _)| *at < 500.0).count();
    assert!(fast >= 3, "fast checks at first: {gaps:?}");
    let late: Vec<f64> = gaps
        .iter()
        .filter(|(at, _)| *at > 900.0)
        .map(|g| g.1)
        .collect();
    assert!(!late.is_empty(), "{gaps:?}");
    for gap in &late {
        assert!(*gap >= 400.0, "slow checks later: {gaps:?}");
    }
    assert!(times.len() <= 12, "{} checks: {gaps:?}", times.len());
}

/// A 429 with `Retry-After: 1` holds the next check back at least 1 s;
/// three 429s in a row are reported once.
async fn retry_after_delays_the_next_check_and_is_reported_once(strategy: &str) {
    let no = create(&unique("retry-after")).await;
    behave(
        &no,
        json!({ "fail_next": 3, "fail_kind": "429", "retry_after": "1" }),
    )
    .await;
    let rec = recorder();
    let p = watch(
        &no,
        Some(1.0),
        &options(&rec, json!({ "strategy": strategy })),
    );
    let s = wait_for(&no, "four checks", |s| num(s, "checks") >= 4).await;
    let times = check_times(&s);
    for pair in times.windows(2).take(3) {
        assert!(
            pair[1] - pair[0] >= 950.0,
            "each 429 holds the next check back 1 s: {times:?}"
        );
    }
    let r = record(&rec);
    let reported: Vec<&Value> = r["errors"].as_array().unwrap().iter().collect();
    assert_eq!(reported.len(), 1, "reported once, not once per retry: {r}");
    assert!(
        reported[0]["message"]
            .as_str()
            .unwrap()
            .contains("HTTP 429"),
        "{r}"
    );
    pay(&no).await;
    assert_eq!(outcome(&p).await["status"], "paid");
}

/// The page coming back checks at once (not at the next tick), and a burst
/// of wake-ups makes one check.
async fn resume_checks_at_once_and_a_burst_makes_one_check(strategy: &str) {
    let (no, rec, p) = start_watch(
        "resume-poll",
        json!({ "strategy": strategy, "intervalMs": 5000 }),
    )
    .await;
    wait_for(&no, "the first check", |s| {
        num(s, "checks") == 1 && num(s, "in_flight") == 0
    })
    .await;
    // Right after a routine check: that check may have missed the payment,
    // so it does not stand for the wake-up's check.
    pay(&no).await;
    let at = js_sys::Date::now();
    paywatch::resume_watches();
    paywatch::resume_watches();
    paywatch::resume_watches();
    let out = outcome(&p).await;
    assert_eq!(out["status"], "paid", "{out}");
    assert!(
        js_sys::Date::now() - at < 1000.0,
        "not at the next tick, 5 s later"
    );
    assert_eq!(
        num(&stats(&no).await, "checks"),
        2,
        "one check for the burst"
    );
    assert_eq!(events_of(&rec, "wake").len(), 3);
    assert_eq!(hook_counts(&record(&rec)), (1, 1, 1, 1));
}

/// A held long-poll is replaced by a fresh one when the page comes back (it
/// may have died with the network), still one request at a time.
#[wasm_bindgen_test]
async fn resume_replaces_a_held_long_poll() {
    let (no, rec, p) = start_watch(
        "resume-lp",
        json!({ "strategy": "long-poll", "longPollWaitSec": 20 }),
    )
    .await;
    wait_for(&no, "a held request", |s| num(s, "long_poll_waiting") == 1).await;
    sleep(1100).await;
    paywatch::resume_watches();
    // The held request is aborted before the fresh one is sent; the server
    // may notice the abort a moment after the new request arrives.
    wait_for(&no, "the replacement alone", |s| {
        num(s, "checks") == 2 && num(s, "long_poll_waiting") == 1 && num(s, "in_flight") == 1
    })
    .await;
    assert_eq!(events_of(&rec, "replace").len(), 1);
    pay(&no).await;
    assert_eq!(outcome(&p).await["status"], "paid");
}

/// `auto` that keeps choosing: WebSocket opens, then every reconnect is
/// refused; it steps down to SSE (refused too) and then long polling, says
/// so, and still sees the payment once.
#[wasm_bindgen_test]
async fn auto_steps_down_when_its_transport_keeps_failing() {
    let (no, rec, p) = start_watch("auto-step", json!({ "strategy": "auto" })).await;
    wait_for(&no, "the WebSocket", |s| num(s, "ws_open") == 1).await;
    behave(&no, json!({ "refuse_push": true })).await;
    test_hook(&no, "drop", None).await;
    let s = wait_for(&no, "long polling", |s| num(s, "long_poll_waiting") == 1).await;
    assert_eq!(
        num(&s, "ws_connects"),
        1 + 3,
        "three failed reconnects: {s}"
    );
    let steps: Vec<Value> = events_of(&rec, "fallback")
        .iter()
        .map(|e| json!([e["strategy"], e["detail"]]))
        .collect();
    assert_eq!(
        steps,
        vec![json!(["websocket", "sse"]), json!(["sse", "long-poll"])]
    );
    pay(&no).await;
    let out = outcome(&p).await;
    assert_eq!(
        (&out["status"], &out["strategy"]),
        (&json!("paid"), &json!("long-poll")),
        "{out}"
    );
    assert_eq!(hook_counts(&record(&rec)), (1, 1, 1, 1));
}

/// A WebSocket whose upgrade is swallowed never opens nor closes (as in
/// WebKit behind some proxies): the connect deadline (`requestTimeoutMs`)
/// gives up on it and `auto` moves on to SSE.
#[wasm_bindgen_test]
async fn a_connection_that_never_opens_hits_the_connect_deadline() {
    let hang = ws_server() + "/_test/hang";
    let (no, rec, p) = start_watch(
        "never-opens",
        json!({ "strategy": "auto", "wsUrl": hang, "requestTimeoutMs": 1500 }),
    )
    .await;
    wait_for(&no, "SSE", |s| num(s, "sse_open") == 1).await;
    let lost = events_of(&rec, "lost");
    assert!(
        lost[0]["detail"]
            .as_str()
            .unwrap()
            .contains("did not open within 1500 ms"),
        "{lost:?}"
    );
    pay(&no).await;
    assert_eq!(outcome(&p).await["strategy"], "sse");
}
