//! Shared helpers for the browser tests: talk to the real reference server
//! (its URL comes from `PAYWATCH_SERVER` at build time; `make test` starts
//! the server and sets it), record every callback, and read outcomes.
#![allow(dead_code)]
// The rule on `format!` (clippy.toml) is for the module's size; test helpers format freely.
#![allow(clippy::disallowed_macros)]

use js_sys::Promise;

/// Generates one browser test per (module, strategy) for each listed check:
/// `per_strategy!([check_a, check_b] interval => "interval", poll => "poll")`
/// makes `interval::check_a`, which calls `check_a("interval")`, and so on.
#[macro_export]
macro_rules! per_strategy {
    ($checks:tt $($module:ident => $strategy:literal),+ $(,)?) => {
        $( $crate::per_strategy!(@module $module $strategy $checks); )+
    };
    (@module $module:ident $strategy:literal [$($check:ident),* $(,)?]) => {
        mod $module {
            use wasm_bindgen_test::wasm_bindgen_test;
            $(
                #[wasm_bindgen_test]
                async fn $check() {
                    super::$check($strategy).await
                }
            )*
        }
    };
}
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(inline_js = r#"
export async function api(base, method, path, body) {
  const init = { method };
  if (body !== undefined) {
    init.headers = { "content-type": "application/json" };
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let parsed;
  try { parsed = JSON.parse(text); } catch { parsed = text; }
  return JSON.stringify({ status: res.status, body: parsed });
}

// Records every callback and analytics call of a watch, and installs the
// seed page's analytics globals.
export function recorder() {
  const r = { status: [], paid: [], errors: [], events: [], kbn: [], pingan: [] };
  globalThis.kbnClickAna = (label) => { r.kbn.push(label); };
  globalThis.PinganAna = { fire(id) { if (this !== globalThis.PinganAna) throw new Error("fire lost its this"); r.pingan.push(id); } };
  r.options = (extra) => Object.assign({
    onStatus: (s) => { r.status.push(s); },
    onPaid: (o) => { r.paid.push(o); },
    onError: (e) => { r.errors.push({ name: e.name, kind: e.kind, message: e.message, strategy: e.strategy, orderNo: e.orderNo }); },
    onEvent: (e) => { r.events.push(e); },
  }, extra);
  return r;
}

export function withOptions(r, json) { return r.options(JSON.parse(json)); }
export function setHook(opts, name, behaviour) {
  if (behaviour === "throw") opts[name] = () => { throw new Error(name + " broke"); };
  return opts;
}
export function throwingGlobal(name) {
  if (name === "kbnClickAna") globalThis.kbnClickAna = () => { throw new Error("analytics down"); };
}
export function record(r) {
  return JSON.stringify({ status: r.status, paid: r.paid, errors: r.errors, kbn: r.kbn, pingan: r.pingan,
    events: r.events.map((e) => ({ kind: e.kind, strategy: e.strategy, detail: e.detail, at: e.at })) });
}
export function same(a, b) { return Object.is(a, b); }
export function toJson(v) { return JSON.stringify(v); }
export function errorMessage(e) { return e instanceof Error ? e.name + ": " + e.message : "not an Error: " + String(e); }
export function sleep(ms) { return new Promise((res) => setTimeout(res, ms)); }
export function jsonValue(text) { return JSON.parse(text); }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = api)]
    fn api_js(base: &str, method: &str, path: &str, body: JsValue) -> Promise;
    pub fn recorder() -> JsValue;
    #[wasm_bindgen(js_name = withOptions)]
    fn with_options_js(r: &JsValue, json: &str) -> JsValue;
    #[wasm_bindgen(js_name = setHook)]
    pub fn set_hook(opts: &JsValue, name: &str, behaviour: &str) -> JsValue;
    #[wasm_bindgen(js_name = throwingGlobal)]
    pub fn throwing_global(name: &str);
    #[wasm_bindgen(js_name = record)]
    fn record_js(r: &JsValue) -> String;
    pub fn same(a: &JsValue, b: &JsValue) -> bool;
    #[wasm_bindgen(js_name = toJson)]
    fn to_json_js(v: &JsValue) -> String;
    #[wasm_bindgen(js_name = errorMessage)]
    pub fn error_message(e: &JsValue) -> String;
    #[wasm_bindgen(js_name = sleep)]
    fn sleep_js(ms: u32) -> Promise;
    #[wasm_bindgen(js_name = jsonValue)]
    pub fn json_value(text: &str) -> JsValue;
}

/// The reference server, e.g. `http://127.0.0.1:41234`.
pub fn server() -> &'static str {
    match option_env!("PAYWATCH_SERVER") {
        Some(url) => url,
        None => panic!("build the tests with PAYWATCH_SERVER set (make test does)"),
    }
}

/// The same server as a WebSocket URL.
pub fn ws_server() -> String {
    server().replacen("http://", "ws://", 1)
}

pub async fn sleep(ms: u32) {
    JsFuture::from(sleep_js(ms)).await.unwrap();
}

/// `(HTTP status, JSON body)` of a call to the reference server.
pub async fn api(method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    // A JSON string is sent as its raw text (to push non-JSON frames).
    let body = match body {
        None => JsValue::UNDEFINED,
        Some(Value::String(raw)) => JsValue::from_str(&raw),
        Some(b) => JsValue::from_str(&b.to_string()),
    };
    let text = JsFuture::from(api_js(server(), method, path, body))
        .await
        .expect("server reachable");
    let v: Value = serde_json::from_str(&text.as_string().unwrap()).unwrap();
    (v["status"].as_u64().unwrap() as u16, v["body"].clone())
}

pub fn enc(order_no: &str) -> String {
    js_sys::encode_uri_component(order_no).into()
}

/// A fresh order number: tests never share orders.
pub fn unique(prefix: &str) -> String {
    thread_local!(static N: std::cell::Cell<u32> = const { std::cell::Cell::new(0) });
    let n = N.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    format!("{prefix}-{}-{n}", js_sys::Date::now() as u64)
}

/// Creates a pending order on the server and returns its number.
pub async fn create(order_no: &str) -> String {
    let (code, body) = api("POST", "/orders", Some(json!({ "order_no": order_no }))).await;
    assert_eq!(code, 201, "create {order_no}: {body}");
    body["order_no"].as_str().unwrap().to_owned()
}

pub async fn create_with_ttl(order_no: &str, ttl_ms: u32) -> String {
    let (code, body) = api(
        "POST",
        "/orders",
        Some(json!({ "order_no": order_no, "ttl_ms": ttl_ms })),
    )
    .await;
    assert_eq!(code, 201, "create {order_no}: {body}");
    order_no.to_owned()
}

/// Pays through the test hook: this page is on another origin than the
/// server, and the demo's pay endpoint answers same-origin requests only.
pub async fn pay(order_no: &str) {
    let (code, body) = api(
        "POST",
        &format!("/_test/orders/{}/pay", enc(order_no)),
        None,
    )
    .await;
    assert_eq!(code, 200, "pay {order_no}: {body}");
}

pub async fn close(order_no: &str) {
    let (code, body) = api(
        "POST",
        &format!("/_test/orders/{}/close", enc(order_no)),
        None,
    )
    .await;
    assert_eq!(code, 200, "close {order_no}: {body}");
}

/// The server's test counters for an order (checks, in flight, connections…).
pub async fn stats(order_no: &str) -> Value {
    let (code, body) = api(
        "GET",
        &format!("/_test/orders/{}/stats", enc(order_no)),
        None,
    )
    .await;
    assert_eq!(code, 200, "stats {order_no}: {body}");
    body
}

pub async fn behave(order_no: &str, behaviour: Value) {
    let (code, body) = api(
        "POST",
        &format!("/_test/orders/{}/behavior", enc(order_no)),
        Some(behaviour),
    )
    .await;
    assert_eq!(code, 200, "behavior {order_no}: {body}");
}

pub async fn test_hook(order_no: &str, what: &str, body: Option<Value>) -> Value {
    let (code, answer) = api(
        "POST",
        &format!("/_test/orders/{}/{what}", enc(order_no)),
        body,
    )
    .await;
    assert_eq!(code, 200, "{what} {order_no}: {answer}");
    answer
}

/// Callback options pointed at the test server, plus `extra` (JSON).
pub fn options(rec: &JsValue, extra: Value) -> JsValue {
    let mut all = json!({
        "endpoint": format!("{}/pay", server()),
        "sseUrl": format!("{}/payment-status", server()),
        "wsUrl": format!("{}/ws", ws_server()),
        "intervalMs": 100,
        "requestTimeoutMs": 3000,
        "timeoutMs": 20000,
    });
    for (k, v) in extra.as_object().unwrap() {
        all[k] = v.clone();
    }
    with_options_js(rec, &all.to_string())
}

/// Everything a recorder saw, as JSON.
pub fn record(rec: &JsValue) -> Value {
    serde_json::from_str(&record_js(rec)).unwrap()
}

pub fn to_json(v: &JsValue) -> Value {
    serde_json::from_str(&to_json_js(v)).unwrap()
}

/// `checkPayStatus(order_no, type, options)`.
pub fn watch(order_no: &str, ty: Option<f64>, opts: &JsValue) -> Promise {
    paywatch::check_pay_status(
        JsValue::from_str(order_no),
        ty.map_or(JsValue::UNDEFINED, JsValue::from_f64),
        opts.clone(),
    )
}

/// Awaits a watch's outcome, as JSON.
pub async fn outcome(p: &Promise) -> Value {
    let v = JsFuture::from(p.clone())
        .await
        .expect("a watch's promise never rejects once started");
    to_json(&v)
}

/// Awaits a promise that must reject; returns the error text.
pub async fn rejection(p: &Promise) -> String {
    match JsFuture::from(p.clone()).await {
        Ok(v) => panic!("expected a rejection, got {}", to_json(&v)),
        Err(e) => error_message(&e),
    }
}

pub fn count(v: &Value, key: &str) -> usize {
    v[key].as_array().map_or(0, Vec::len)
}

pub fn num(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

/// Creates an order and starts watching it as type 1 with `extra` options:
/// `(order number, recorder, the watch's promise)`.
pub async fn start_watch(prefix: &str, extra: Value) -> (String, JsValue, Promise) {
    let no = create(&unique(prefix)).await;
    let rec = recorder();
    let p = watch(&no, Some(1.0), &options(&rec, extra));
    (no, rec, p)
}

/// How often `onStatus`, `onPaid`, `kbnClickAna` and `PinganAna.fire` ran.
pub fn hook_counts(r: &Value) -> (usize, usize, usize, usize) {
    (
        count(r, "status"),
        count(r, "paid"),
        count(r, "kbn"),
        count(r, "pingan"),
    )
}

/// Polls the server's stats of `order_no` until `ok` holds (8 s at most).
pub async fn wait_for(order_no: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..160 {
        let s = stats(order_no).await;
        if ok(&s) {
            return s;
        }
        sleep(50).await;
    }
    panic!("timed out waiting for {what}: {}", stats(order_no).await);
}

/// When each status check reached the server (epoch ms), from its stats.
pub fn check_times(stats: &Value) -> Vec<f64> {
    stats["check_times_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_f64().unwrap())
        .collect()
}

/// The recorded `onEvent` events of one kind.
pub fn events_of(rec: &JsValue, kind: &str) -> Vec<Value> {
    record(rec)["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == kind)
        .cloned()
        .collect()
}
