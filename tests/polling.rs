//! Browser tests for `"interval"` and `"poll"` and the semantics every
//! strategy keeps (CONTRACT §1), in headless Chromium against the real
//! reference server. Run by `make test`.
#![cfg(target_arch = "wasm32")]

#[macro_use]
mod common;

use common::*;
use serde_json::{json, Value};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

per_strategy!(
    [
        paid_is_detected_and_hooks_run_once_with_type_1_labels,
        type_2_uses_the_report_labels,
        exactly_once_while_the_server_keeps_answering_paid,
        a_new_order_cancels_the_old_watch,
        the_same_order_returns_the_same_promise,
        stop_means_the_server_sees_no_more_checks,
        a_slow_server_never_sees_two_checks_at_once,
        a_hung_request_is_aborted_and_watching_goes_on,
        timeout_ends_the_watch,
        closed_and_expired_end_the_watch_without_hooks,
        bad_answers_are_reported_and_watching_goes_on,
        the_order_number_reaches_the_server_byte_for_byte,
    ]
    interval => "interval",
    poll => "poll",
);

async fn paid_is_detected_and_hooks_run_once_with_type_1_labels(strategy: &str) {
    let (no, rec, p) = start_watch("paid", json!({ "strategy": strategy })).await;
    sleep(250).await;
    assert_eq!(record(&rec)["status"], json!([]), "not paid yet: no status");
    pay(&no).await;
    let out = outcome(&p).await;
    assert_eq!(out["status"], "paid");
    assert_eq!(out["orderNo"], no.as_str());
    assert_eq!(out["type"], 1);
    assert_eq!(out["payStatus"], 3);
    assert_eq!(out["strategy"], strategy);
    assert!(num(&out, "attempts") >= 2, "{out}");
    let r = record(&rec);
    assert_eq!(r["kbn"], json!(["pc评价页牌匾扫码支付成功"]));
    assert_eq!(r["pingan"], json!([5357]));
    assert_eq!(r["status"], json!([3]));
    assert_eq!(count(&r, "paid"), 1);
    assert_eq!(r["paid"][0]["status"], "paid");
    assert_eq!(r["errors"], json!([]));
}

async fn type_2_uses_the_report_labels(strategy: &str) {
    for ty in [Some(2.0), None] {
        let no = create(&unique("type2")).await;
        pay(&no).await;
        let rec = recorder();
        let out = outcome(&watch(
            &no,
            ty,
            &options(&rec, json!({ "strategy": strategy })),
        ))
        .await;
        assert_eq!(out["status"], "paid");
        assert_eq!(out["payStatus"], 4);
        let r = record(&rec);
        assert_eq!(r["kbn"], json!(["pc评价页报告扫码支付成功"]), "type {ty:?}");
        assert_eq!(r["pingan"], json!([5358]));
        assert_eq!(r["status"], json!([4]));
    }
}

async fn exactly_once_while_the_server_keeps_answering_paid(strategy: &str) {
    let no = create(&unique("once")).await;
    pay(&no).await;
    // Slow answers and a short interval: ticks pile up while the paid answer is on its way.
    behave(&no, json!({ "delay_ms": 250 })).await;
    let rec = recorder();
    let opts = options(&rec, json!({ "strategy": strategy, "intervalMs": 50 }));
    let out = outcome(&watch(&no, Some(1.0), &opts)).await;
    assert_eq!(out["status"], "paid");
    sleep(500).await;
    let r = record(&rec);
    assert_eq!(count(&r, "status"), 1, "{r}");
    assert_eq!(count(&r, "paid"), 1);
    assert_eq!(count(&r, "kbn"), 1);
    assert_eq!(count(&r, "pingan"), 1);
    // Asking again about an order this page already saw paid reports the
    // first outcome and fires nothing: a re-render cannot double-count.
    let again = outcome(&watch(&no, Some(1.0), &opts)).await;
    assert_eq!(again["status"], "paid");
    let r = record(&rec);
    assert_eq!(
        (count(&r, "status"), count(&r, "kbn"), count(&r, "pingan")),
        (1, 1, 1),
        "{r}"
    );
    assert_eq!(
        num(&stats(&no).await, "checks"),
        num(&out, "attempts"),
        "no check after the outcome"
    );
}

async fn a_new_order_cancels_the_old_watch(strategy: &str) {
    let first = create(&unique("first")).await;
    let second = create(&unique("second")).await;
    let rec = recorder();
    let opts = options(&rec, json!({ "strategy": strategy }));
    let p1 = watch(&first, Some(1.0), &opts);
    sleep(150).await;
    let p2 = watch(&second, Some(1.0), &opts);
    let out1 = outcome(&p1).await;
    assert_eq!(out1["status"], "cancelled");
    assert_eq!(out1["orderNo"], first.as_str());
    let checks = num(&stats(&first).await, "checks");
    pay(&first).await;
    pay(&second).await;
    let out2 = outcome(&p2).await;
    assert_eq!(out2["status"], "paid");
    assert_eq!(out2["orderNo"], second.as_str());
    sleep(300).await;
    assert_eq!(
        num(&stats(&first).await, "checks"),
        checks,
        "the cancelled watch kept checking"
    );
    assert_eq!(
        count(&record(&rec), "status"),
        1,
        "only the second order's status"
    );
}

async fn the_same_order_returns_the_same_promise(strategy: &str) {
    let no = create(&unique("same")).await;
    let rec = recorder();
    let opts = options(&rec, json!({ "strategy": strategy }));
    let p1 = watch(&no, Some(1.0), &opts);
    let p2 = watch(&no, Some(1.0), &opts);
    assert!(
        same(&p1, &p2),
        "a second call for the same order returns the running promise"
    );
    assert_eq!(paywatch::active_watches(), 1);
    pay(&no).await;
    assert_eq!(outcome(&p2).await["status"], "paid");
    assert_eq!(count(&record(&rec), "status"), 1);
}

async fn stop_means_the_server_sees_no_more_checks(strategy: &str) {
    let (no, rec, p) = start_watch("stop", json!({ "strategy": strategy })).await;
    // Stop once it has been checking (two checks seen), however slow the
    // machine: a fixed sleep here flaked on a loaded one.
    for _ in 0..100 {
        if num(&stats(&no).await, "checks") >= 2 {
            break;
        }
        sleep(50).await;
    }
    paywatch::stop_pay_status(JsValue::from_str(&no)).unwrap();
    let out = outcome(&p).await;
    assert_eq!(out["status"], "cancelled");
    assert_eq!(paywatch::active_watches(), 0);
    sleep(50).await;
    let before = stats(&no).await;
    assert!(num(&before, "checks") >= 2, "it was checking: {before}");
    pay(&no).await;
    sleep(500).await;
    let after = stats(&no).await;
    assert_eq!(
        num(&after, "checks"),
        num(&before, "checks"),
        "checks after stop"
    );
    assert_eq!(num(&after, "in_flight"), 0);
    assert_eq!(count(&record(&rec), "status"), 0, "no callback after stop");
}

async fn a_slow_server_never_sees_two_checks_at_once(strategy: &str) {
    let no = create(&unique("slow")).await;
    behave(&no, json!({ "delay_ms": 350 })).await;
    let rec = recorder();
    let p = watch(
        &no,
        Some(1.0),
        &options(&rec, json!({ "strategy": strategy, "intervalMs": 100 })),
    );
    sleep(1500).await;
    let s = stats(&no).await;
    assert_eq!(num(&s, "max_in_flight"), 1, "{s}");
    assert!(num(&s, "checks") >= 3, "it kept checking: {s}");
    if strategy == "interval" {
        let skipped = record(&rec)["events"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "skip")
            .count();
        assert!(
            skipped >= 3,
            "ticks during a check are skipped, saw {skipped}"
        );
    }
    pay(&no).await;
    assert_eq!(outcome(&p).await["status"], "paid");
    assert_eq!(num(&stats(&no).await, "max_in_flight"), 1);
}

async fn a_hung_request_is_aborted_and_watching_goes_on(strategy: &str) {
    let no = create(&unique("hung")).await;
    behave(&no, json!({ "delay_ms": 60000 })).await;
    let rec = recorder();
    let opts = options(
        &rec,
        json!({ "strategy": strategy, "requestTimeoutMs": 300 }),
    );
    let p = watch(&no, Some(1.0), &opts);
    sleep(1000).await;
    let r = record(&rec);
    let aborted = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "check" && e["message"].as_str().unwrap().contains("aborted"));
    assert!(
        aborted.count() >= 2,
        "hung checks are aborted and retried: {r}"
    );
    assert_eq!(r["errors"][0]["name"], "PayWatchError");
    assert_eq!(r["errors"][0]["orderNo"], no.as_str());
    behave(&no, json!({ "delay_ms": 0 })).await;
    pay(&no).await;
    assert_eq!(outcome(&p).await["status"], "paid");
}

async fn timeout_ends_the_watch(strategy: &str) {
    let (no, rec, p) =
        start_watch("timeout", json!({ "strategy": strategy, "timeoutMs": 600 })).await;
    let out = outcome(&p).await;
    assert_eq!(out["status"], "timeout");
    assert_eq!(out["payStatus"], json!(null));
    let elapsed = num(&out, "elapsedMs");
    assert!(
        (550..3000).contains(&elapsed),
        "timed out after {elapsed} ms"
    );
    let checks = num(&stats(&no).await, "checks");
    pay(&no).await;
    sleep(400).await;
    assert_eq!(
        num(&stats(&no).await, "checks"),
        checks,
        "no check after timeout"
    );
    assert_eq!(count(&record(&rec), "status"), 0);
}

async fn closed_and_expired_end_the_watch_without_hooks(strategy: &str) {
    let (closed, rec, p) = start_watch("closed", json!({ "strategy": strategy })).await;
    sleep(200).await;
    close(&closed).await;
    let out = outcome(&p).await;
    assert_eq!(out["status"], "closed");
    assert_eq!(out["payStatus"], json!(null));

    let expiring = create_with_ttl(&unique("expired"), 400).await;
    let out = outcome(&watch(
        &expiring,
        Some(1.0),
        &options(&rec, json!({ "strategy": strategy })),
    ))
    .await;
    assert_eq!(out["status"], "expired");
    let r = record(&rec);
    assert_eq!(hook_counts(&r), (0, 0, 0, 0));
}

async fn bad_answers_are_reported_and_watching_goes_on(strategy: &str) {
    for kind in ["500", "html", "non_json", "other_json"] {
        let no = create(&unique("bad")).await;
        behave(&no, json!({ "fail_next": 2, "fail_kind": kind })).await;
        pay(&no).await;
        let rec = recorder();
        let out = outcome(&watch(
            &no,
            Some(1.0),
            &options(&rec, json!({ "strategy": strategy })),
        ))
        .await;
        assert_eq!(out["status"], "paid", "{kind}");
        let r = record(&rec);
        assert_eq!(count(&r, "errors"), 2, "{kind}: {r}");
        let want = if kind == "500" { "check" } else { "body" };
        assert_eq!(r["errors"][0]["kind"], want, "{kind}");
        assert_eq!(count(&r, "status"), 1);
    }
}

async fn the_order_number_reaches_the_server_byte_for_byte(strategy: &str) {
    let no = "A&B #1/测试?x=1+2%20 ".to_owned() + &unique("enc");
    create(&no).await;
    let rec = recorder();
    let p = watch(
        &no,
        Some(1.0),
        &options(&rec, json!({ "strategy": strategy })),
    );
    sleep(250).await;
    let s = stats(&no).await;
    assert_eq!(
        s["last_order_no"],
        no.as_str(),
        "decoded by the server exactly"
    );
    let query = s["last_query"].as_str().unwrap();
    assert!(query.starts_with("action=check_pay_status_by_order&order_no=A%26B%20%231%2F%E6%B5%8B%E8%AF%95%3Fx%3D1%2B2%2520%20"), "{query}");
    assert!(query.contains("&t="), "{query}");
    pay(&no).await;
    assert_eq!(outcome(&p).await["orderNo"], no.as_str());
}

// ---- input checks: before any request --------------------------------------

#[wasm_bindgen_test]
async fn bad_input_rejects_before_any_request() {
    let no = create(&unique("bad-input")).await;
    let rec = recorder();
    let cases = [
        (
            JsValue::from_str(""),
            json!({}),
            "order number must be a non-empty string",
        ),
        (
            JsValue::from_f64(12.0),
            json!({}),
            "order number must be a non-empty string",
        ),
        (
            JsValue::UNDEFINED,
            json!({}),
            "order number must be a non-empty string",
        ),
        (
            JsValue::from_str(&no),
            json!({ "strategy": "smoke-signals" }),
            "unknown strategy \"smoke-signals\"",
        ),
        (
            JsValue::from_str(&no),
            json!({ "intervalMs": -1 }),
            "intervalMs must be a positive number, got -1",
        ),
        (
            JsValue::from_str(&no),
            json!({ "intervalMS": 5 }),
            "unknown option \"intervalMS\"",
        ),
        (
            // A control character is quoted as Rust's `{:?}` writes it (the
            // browser writes its hex digits).
            JsValue::from_str(&no),
            json!({ "interval\u{1b}Ms": 5 }),
            "unknown option \"interval\\u{1b}Ms\"",
        ),
        (
            JsValue::from_str(&no),
            json!({ "timeoutMs": "soon" }),
            "timeoutMs must be a number",
        ),
    ];
    for (order, extra, want) in cases {
        let opts = options(&rec, extra);
        let p = paywatch::check_pay_status(order, JsValue::from_f64(1.0), opts);
        let msg = rejection(&p).await;
        assert!(msg.starts_with("PayWatchError: paywatch: "), "{msg}");
        assert!(msg.contains(want), "{msg:?} should contain {want:?}");
    }
    let p = paywatch::check_pay_status(
        JsValue::from_str(&no),
        JsValue::from_str("1"),
        JsValue::UNDEFINED,
    );
    assert!(rejection(&p).await.contains("type must be a number"));
    let p = paywatch::check_pay_status(
        JsValue::from_str(&no),
        JsValue::UNDEFINED,
        json_value("[1]"),
    );
    assert!(rejection(&p).await.contains("options must be an object"));
    let not_fn = options(&rec, json!({ "onPaid": 5 }));
    let p = paywatch::check_pay_status(JsValue::from_str(&no), JsValue::UNDEFINED, not_fn);
    assert!(rejection(&p).await.contains("onPaid must be a function"));
    sleep(200).await;
    assert_eq!(num(&stats(&no).await, "checks"), 0, "no request was made");
    assert_eq!(paywatch::active_watches(), 0);
}

#[wasm_bindgen_test]
async fn configure_sets_page_defaults_and_rejects_bad_options() {
    let err = paywatch::configure(json_value(r#"{"strategy":"nope"}"#)).unwrap_err();
    assert!(error_message(&err).contains("unknown strategy"));
    let no = create(&unique("configured")).await;
    let rec = recorder();
    // Page-wide: a custom type table and the test server's endpoint.
    let page = options(
        &rec,
        json!({ "types": { "7": { "label": "seven", "eventId": 77, "payStatus": 70 } } }),
    );
    paywatch::configure(page).unwrap();
    pay(&no).await;
    let p = paywatch::check_pay_status(
        JsValue::from_str(&no),
        JsValue::from_f64(7.0),
        JsValue::UNDEFINED,
    );
    let out = outcome(&p).await;
    paywatch::configure(json_value(
        r#"{"types":{"7":{"label":"pc评价页报告扫码支付成功","eventId":5358,"payStatus":4}}}"#,
    ))
    .unwrap();
    assert_eq!(out["status"], "paid");
    assert_eq!(out["payStatus"], 70);
    let r = record(&rec);
    assert_eq!(r["kbn"], json!(["seven"]));
    assert_eq!(r["pingan"], json!([77]));
    assert_eq!(r["status"], json!([70]));
}

#[wasm_bindgen_test]
async fn a_hook_that_throws_does_not_stop_the_rest() {
    let no = create(&unique("throws")).await;
    pay(&no).await;
    let rec = recorder();
    throwing_global("kbnClickAna");
    let opts = set_hook(&options(&rec, json!({})), "onStatus", "throw");
    let out = outcome(&watch(&no, Some(1.0), &opts)).await;
    assert_eq!(out["status"], "paid");
    let r = record(&rec);
    assert_eq!(
        r["pingan"],
        json!([5357]),
        "the next analytics hook still ran"
    );
    assert_eq!(count(&r, "paid"), 1, "onPaid still ran");
    let hook_errors: Vec<_> = r["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "hook")
        .collect();
    assert_eq!(hook_errors.len(), 2, "{r}");
    assert!(hook_errors[0]["message"]
        .as_str()
        .unwrap()
        .contains("kbnClickAna threw: analytics down"));
    assert!(hook_errors[1]["message"]
        .as_str()
        .unwrap()
        .contains("onStatus threw: onStatus broke"));
}

#[wasm_bindgen_test]
async fn analytics_false_skips_the_globals() {
    let no = create(&unique("no-analytics")).await;
    pay(&no).await;
    let rec = recorder();
    let out = outcome(&watch(
        &no,
        Some(1.0),
        &options(&rec, json!({ "analytics": false })),
    ))
    .await;
    assert_eq!(out["status"], "paid");
    let r = record(&rec);
    assert_eq!(
        (count(&r, "kbn"), count(&r, "pingan"), count(&r, "status")),
        (0, 0, 1)
    );
}

#[wasm_bindgen_test]
async fn stop_without_an_order_stops_every_watch() {
    let a = create(&unique("all-a")).await;
    let b = create(&unique("all-b")).await;
    let rec = recorder();
    let opts = options(&rec, json!({ "exclusive": false }));
    let pa = watch(&a, None, &opts);
    let pb = watch(&b, None, &opts);
    assert_eq!(
        paywatch::active_watches(),
        2,
        "non-exclusive watches run side by side"
    );
    sleep(150).await;
    paywatch::stop_pay_status(JsValue::UNDEFINED).unwrap();
    assert_eq!(outcome(&pa).await["status"], "cancelled");
    assert_eq!(outcome(&pb).await["status"], "cancelled");
    assert_eq!(paywatch::active_watches(), 0);
}

/// The outcome and the events are plain objects with the contract's
/// fields: `type` and `payStatus` are `null` when there is none, and an
/// event without a detail has no `detail` key.
#[wasm_bindgen_test]
async fn outcome_and_events_have_the_contract_shape() {
    let no = create(&unique("shape")).await;
    let rec = recorder();
    let p = watch(&no, None, &options(&rec, json!({ "strategy": "poll" })));
    for _ in 0..100 {
        if !events_of(&rec, "answer").is_empty() {
            break;
        }
        sleep(50).await;
    }
    paywatch::stop_pay_status(JsValue::from_str(&no)).unwrap();
    let out = outcome(&p).await;
    let fields = out.as_object().expect("a plain object");
    let mut keys: Vec<&str> = fields.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "attempts",
            "elapsedMs",
            "orderNo",
            "payStatus",
            "source",
            "status",
            "strategy",
            "type"
        ]
    );
    assert_eq!(out["status"], "cancelled");
    assert_eq!(fields["type"], Value::Null);
    assert_eq!(fields["payStatus"], Value::Null);
    let check = &events_of(&rec, "check")[0];
    // (The recorder keeps `detail` as it came: a `null` would show.)
    assert!(check.get("detail").is_none(), "{check}");
    assert!(check["at"].as_f64().is_some(), "{check}");
    let answer = &events_of(&rec, "answer")[0];
    assert_eq!(answer["detail"], "pending", "{answer}");
}
