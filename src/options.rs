//! Options (CONTRACT §1): reading, merging and validating them. Pure: the
//! browser edge hands over every option but the callbacks as JSON values.
//!
//! Layers: built-in defaults < `configure()` < the `checkPayStatus()` call.
//! Each layer is a [`PartialOptions`]; [`PartialOptions::resolve`] turns the
//! merged result into a validated [`Config`].

use crate::crosstab::policy::DEFAULT_MARKER_MS;
use crate::display;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;

/// How a watch learns the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// A check every `intervalMs`; a tick while a check is in flight is skipped.
    Interval,
    /// The next check `intervalMs` after the previous one finished.
    Poll,
    /// Checks the server may hold for up to `longPollWaitSec`.
    LongPoll,
    /// Server-Sent Events on `sseUrl`.
    Sse,
    /// A WebSocket on `wsUrl`.
    WebSocket,
    /// WebSocket, falling back to SSE, then long polling, when one cannot connect.
    Auto,
}

impl Strategy {
    pub const NAMES: [&'static str; 6] =
        ["interval", "poll", "long-poll", "sse", "websocket", "auto"];

    pub fn parse(name: &str) -> Option<Strategy> {
        Some(match name {
            "interval" => Strategy::Interval,
            "poll" => Strategy::Poll,
            "long-poll" => Strategy::LongPoll,
            "sse" => Strategy::Sse,
            "websocket" => Strategy::WebSocket,
            "auto" => Strategy::Auto,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Strategy::Interval => "interval",
            Strategy::Poll => "poll",
            Strategy::LongPoll => "long-poll",
            Strategy::Sse => "sse",
            Strategy::WebSocket => "websocket",
            Strategy::Auto => "auto",
        }
    }
}

/// What a paid order of one `type` reports: the analytics label for
/// `kbnClickAna`, the event id for `PinganAna.fire`, and the `payStatus` given
/// to `onStatus`. A missing label or event id means that hook is not called.
#[derive(Debug, Clone, PartialEq)]
pub struct TypeEntry {
    pub label: Option<String>,
    pub event_id: Option<Value>,
    pub pay_status: Value,
}

/// The key of the fallback entry in `types`: used for every type without one.
pub const DEFAULT_TYPE_KEY: &str = "default";

/// The seed page's table: type 1 is the plaque purchase, anything else the report.
pub fn seed_types() -> BTreeMap<String, TypeEntry> {
    let entry = |label: &str, event: u32, status: u32| TypeEntry {
        label: Some(label.to_owned()),
        event_id: Some(Value::from(event)),
        pay_status: Value::from(status),
    };
    // Inserted one by one: `BTreeMap::from` would sort, and a sort routine
    // costs the wasm module more than these two calls.
    let mut types = BTreeMap::new();
    types.insert("1".to_owned(), entry("pc评价页牌匾扫码支付成功", 5357, 3));
    types.insert(
        DEFAULT_TYPE_KEY.to_owned(),
        entry("pc评价页报告扫码支付成功", 5358, 4),
    );
    types
}

/// One layer of options, every field optional. Built by [`PartialOptions::from_json`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PartialOptions {
    pub strategy: Option<Strategy>,
    pub endpoint: Option<String>,
    pub action: Option<String>,
    pub interval_ms: Option<f64>,
    pub long_poll_wait_sec: Option<f64>,
    pub sse_url: Option<String>,
    pub ws_url: Option<String>,
    pub timeout_ms: Option<f64>,
    pub request_timeout_ms: Option<f64>,
    pub slow_after_ms: Option<f64>,
    pub slow_interval_ms: Option<f64>,
    pub liveness_ms: Option<f64>,
    /// Entries replace the seed table's entry with the same key.
    pub types: BTreeMap<String, TypeEntry>,
    pub analytics: Option<bool>,
    pub exclusive: Option<bool>,
    pub cross_tab: Option<bool>,
    pub paid_marker_ms: Option<f64>,
    pub share_watch: Option<bool>,
}

/// Option names that are callbacks: the browser edge reads them, not this module.
pub const CALLBACK_KEYS: [&str; 4] = ["onStatus", "onPaid", "onError", "onEvent"];

const DATA_KEYS: [&str; 18] = [
    "strategy",
    "endpoint",
    "action",
    "intervalMs",
    "longPollWaitSec",
    "sseUrl",
    "wsUrl",
    "timeoutMs",
    "requestTimeoutMs",
    "slowAfterMs",
    "slowIntervalMs",
    "livenessMs",
    "types",
    "analytics",
    "exclusive",
    "crossTab",
    "paidMarkerMs",
    "shareWatch",
];

/// Number options that may be `Infinity` ("never").
const MAY_BE_INFINITE: [&str; 3] = ["timeoutMs", "slowAfterMs", "livenessMs"];

/// A problem with the input, worded for the developer who passed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionsError(pub String);

impl fmt::Display for OptionsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "paywatch: {}", self.0)
    }
}

fn err<T>(msg: impl Into<String>) -> Result<T, OptionsError> {
    Err(OptionsError(msg.into()))
}

/// Whether `key` names an option at all (callbacks included).
pub fn is_known_key(key: &str) -> bool {
    DATA_KEYS.contains(&key) || CALLBACK_KEYS.contains(&key)
}

impl PartialOptions {
    /// Reads the data options of a JS options object. `null`/`undefined`
    /// (absent here) leave the option unset. Unknown keys are rejected so that a
    /// typo such as `intervalMS` is not silently ignored.
    pub fn from_json(map: &Map<String, Value>) -> Result<PartialOptions, OptionsError> {
        let mut out = PartialOptions::default();
        for (key, value) in map {
            if !is_known_key(key) {
                return err(format!(
                    "unknown option {}; known options are {}, {}",
                    display::quoted(key),
                    DATA_KEYS.join(", "),
                    CALLBACK_KEYS.join(", ")
                ));
            }
            if value.is_null() {
                continue;
            }
            match key.as_str() {
                "strategy" => {
                    let name = string(key, value)?;
                    out.strategy = Some(Strategy::parse(&name).ok_or_else(|| {
                        OptionsError(format!(
                            "unknown strategy {}; expected one of {}",
                            display::quoted(&name),
                            Strategy::NAMES.join(", ")
                        ))
                    })?);
                }
                "endpoint" => out.endpoint = Some(url(key, value)?),
                "sseUrl" => out.sse_url = Some(url(key, value)?),
                "wsUrl" => out.ws_url = Some(url(key, value)?),
                "action" => out.action = Some(string(key, value)?),
                "intervalMs" => out.interval_ms = Some(number(key, value, Bound::Positive)?),
                "longPollWaitSec" => {
                    out.long_poll_wait_sec = Some(number(key, value, Bound::NonNegative)?)
                }
                "timeoutMs" => out.timeout_ms = Some(number(key, value, Bound::Positive)?),
                "requestTimeoutMs" => {
                    out.request_timeout_ms = Some(number(key, value, Bound::Positive)?)
                }
                "slowAfterMs" => out.slow_after_ms = Some(number(key, value, Bound::NonNegative)?),
                "slowIntervalMs" => {
                    out.slow_interval_ms = Some(number(key, value, Bound::Positive)?)
                }
                "livenessMs" => out.liveness_ms = Some(number(key, value, Bound::Positive)?),
                "analytics" => out.analytics = Some(boolean(key, value)?),
                "exclusive" => out.exclusive = Some(boolean(key, value)?),
                "crossTab" => out.cross_tab = Some(boolean(key, value)?),
                "paidMarkerMs" => {
                    out.paid_marker_ms = Some(number(key, value, Bound::NonNegative)?)
                }
                "shareWatch" => out.share_watch = Some(boolean(key, value)?),
                "types" => out.types = types(value)?,
                _ => {} // callbacks: read by the browser edge
            }
        }
        Ok(out)
    }

    /// `later` over `self`: each option `later` sets wins; `types` merge by key.
    pub fn merge(&self, later: &PartialOptions) -> PartialOptions {
        let mut types = self.types.clone();
        types.extend(later.types.clone());
        PartialOptions {
            strategy: later.strategy.or(self.strategy),
            endpoint: later.endpoint.clone().or_else(|| self.endpoint.clone()),
            action: later.action.clone().or_else(|| self.action.clone()),
            interval_ms: later.interval_ms.or(self.interval_ms),
            long_poll_wait_sec: later.long_poll_wait_sec.or(self.long_poll_wait_sec),
            sse_url: later.sse_url.clone().or_else(|| self.sse_url.clone()),
            ws_url: later.ws_url.clone().or_else(|| self.ws_url.clone()),
            timeout_ms: later.timeout_ms.or(self.timeout_ms),
            request_timeout_ms: later.request_timeout_ms.or(self.request_timeout_ms),
            slow_after_ms: later.slow_after_ms.or(self.slow_after_ms),
            slow_interval_ms: later.slow_interval_ms.or(self.slow_interval_ms),
            liveness_ms: later.liveness_ms.or(self.liveness_ms),
            types,
            analytics: later.analytics.or(self.analytics),
            exclusive: later.exclusive.or(self.exclusive),
            cross_tab: later.cross_tab.or(self.cross_tab),
            paid_marker_ms: later.paid_marker_ms.or(self.paid_marker_ms),
            share_watch: later.share_watch.or(self.share_watch),
        }
    }

    /// Fills in the defaults. `ws_url` stays `None` when unset: only the
    /// browser knows the page's host, so the edge supplies `ws(s)://<host>/ws`.
    pub fn resolve(&self) -> Config {
        let mut types = seed_types();
        types.extend(self.types.clone());
        Config {
            strategy: self.strategy.unwrap_or(Strategy::Poll),
            endpoint: self.endpoint.clone().unwrap_or_else(|| "/pay".into()),
            action: self
                .action
                .clone()
                .unwrap_or_else(|| "check_pay_status_by_order".into()),
            interval_ms: to_ms(self.interval_ms.unwrap_or(2000.0)),
            long_poll_wait_sec: to_ms(self.long_poll_wait_sec.unwrap_or(25.0)),
            sse_url: self
                .sse_url
                .clone()
                .unwrap_or_else(|| "/payment-status".into()),
            ws_url: self.ws_url.clone(),
            timeout_ms: finite_ms(self.timeout_ms.unwrap_or(900_000.0)),
            request_timeout_ms: to_ms(self.request_timeout_ms.unwrap_or(10_000.0)),
            slow_after_ms: finite_ms(self.slow_after_ms.unwrap_or(60_000.0)),
            slow_interval_ms: to_ms(self.slow_interval_ms.unwrap_or(10_000.0)),
            liveness_ms: self.liveness_ms.map(finite_ms),
            types,
            analytics: self.analytics.unwrap_or(true),
            exclusive: self.exclusive.unwrap_or(true),
            cross_tab: self.cross_tab.unwrap_or(true),
            paid_marker_ms: to_ms(self.paid_marker_ms.unwrap_or(DEFAULT_MARKER_MS.into())),
            share_watch: self.share_watch.unwrap_or(true),
        }
    }
}

/// Whole milliseconds for timers; timers cannot wait longer than `u32::MAX` ms.
fn to_ms(v: f64) -> u32 {
    v.round().clamp(0.0, u32::MAX as f64) as u32
}

/// Whole milliseconds, or `None` for `Infinity` ("never").
fn finite_ms(v: f64) -> Option<u32> {
    v.is_finite().then(|| to_ms(v))
}

/// Validated options of one watch.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub strategy: Strategy,
    pub endpoint: String,
    pub action: String,
    pub interval_ms: u32,
    pub long_poll_wait_sec: u32,
    pub sse_url: String,
    pub ws_url: Option<String>,
    /// `None`: never give up (`timeoutMs: Infinity`).
    pub timeout_ms: Option<u32>,
    /// Also the deadline for a push connection to open.
    pub request_timeout_ms: u32,
    /// When polling slows from `interval_ms` to `slow_interval_ms`; `None`:
    /// never (`slowAfterMs: Infinity`).
    pub slow_after_ms: Option<u32>,
    pub slow_interval_ms: u32,
    /// Silence after which a push connection that has sent heartbeats is
    /// taken for dead. `None`: 2.5 × the interval the server announces;
    /// `Some(None)`: never (`livenessMs: Infinity`).
    pub liveness_ms: Option<Option<u32>>,
    pub types: BTreeMap<String, TypeEntry>,
    pub analytics: bool,
    pub exclusive: bool,
    /// Tabs of the browser profile watching the same order cooperate: one
    /// leader, outcomes told to the others, analytics once (`crossTab`).
    pub cross_tab: bool,
    /// How long the paid marker in `localStorage` keeps a reload or another
    /// tab from firing the analytics again; 0: no marker (`paidMarkerMs`).
    pub paid_marker_ms: u32,
    /// Only the leader tab runs the transport (`shareWatch`).
    pub share_watch: bool,
}

impl Config {
    /// The entry for an order's `type`, or the `default` entry.
    pub fn type_entry(&self, ty: Option<i64>) -> &TypeEntry {
        ty.and_then(|t| self.types.get(&t.to_string()))
            .or_else(|| self.types.get(DEFAULT_TYPE_KEY))
            .expect("the seed table always has a default entry")
    }
}

/// Checks the order number and `type` of a call: a non-empty string, and an
/// integer or nothing.
pub fn check_order(order_no: Option<&str>, ty: Option<f64>) -> Result<Option<i64>, OptionsError> {
    match order_no {
        None => return err("order number must be a non-empty string"),
        Some(no) if no.trim().is_empty() => {
            return err("order number must be a non-empty string, got an empty one")
        }
        Some(_) => {}
    }
    match ty {
        None => Ok(None),
        Some(t) if t.is_finite() && t.fract() == 0.0 => Ok(Some(t as i64)),
        Some(t) => err(format!(
            "type must be an integer, got {}",
            display::float(t)
        )),
    }
}

enum Bound {
    Positive,
    NonNegative,
}

fn number(key: &str, value: &Value, bound: Bound) -> Result<f64, OptionsError> {
    // `Infinity` arrives as the string "Infinity" from the edge (JSON has no infinity).
    let n = match value {
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) if s == "Infinity" && MAY_BE_INFINITE.contains(&key) => f64::INFINITY,
        other => return err(format!("{key} must be a number, got {}", describe(other))),
    };
    let ok = match bound {
        Bound::Positive => n > 0.0,
        Bound::NonNegative => n >= 0.0,
    };
    if !ok || n.is_nan() || (n.is_infinite() && !MAY_BE_INFINITE.contains(&key)) {
        let want = match bound {
            Bound::Positive => "a positive number",
            Bound::NonNegative => "a number >= 0",
        };
        return err(format!("{key} must be {want}, got {}", display::float(n)));
    }
    Ok(n)
}

fn string(key: &str, value: &Value) -> Result<String, OptionsError> {
    match value {
        Value::String(s) => Ok(s.clone()),
        other => err(format!("{key} must be a string, got {}", describe(other))),
    }
}

fn url(key: &str, value: &Value) -> Result<String, OptionsError> {
    let s = string(key, value)?;
    if s.trim().is_empty() {
        return err(format!("{key} must be a non-empty URL"));
    }
    Ok(s)
}

fn boolean(key: &str, value: &Value) -> Result<bool, OptionsError> {
    match value {
        Value::Bool(b) => Ok(*b),
        other => err(format!(
            "{key} must be true or false, got {}",
            describe(other)
        )),
    }
}

fn types(value: &Value) -> Result<BTreeMap<String, TypeEntry>, OptionsError> {
    let Value::Object(map) = value else {
        return err(format!(
            "types must be an object like {{ 1: {{ label, eventId, payStatus }} }}, got {}",
            describe(value)
        ));
    };
    let mut out = BTreeMap::new();
    for (key, entry) in map {
        if key != DEFAULT_TYPE_KEY && key.parse::<i64>().is_err() {
            return err(format!(
                "types keys must be integer types or {}, got {}",
                display::quoted(DEFAULT_TYPE_KEY),
                display::quoted(key)
            ));
        }
        let Value::Object(fields) = entry else {
            return err(format!(
                "types[{key}] must be an object, got {}",
                describe(entry)
            ));
        };
        let mut parsed = TypeEntry {
            label: None,
            event_id: None,
            pay_status: Value::Null,
        };
        for (field, v) in fields {
            match field.as_str() {
                "label" if v.is_null() => {}
                "label" => parsed.label = Some(string(&format!("types[{key}].label"), v)?),
                "eventId" => match v {
                    Value::Null => {}
                    Value::Number(_) | Value::String(_) => parsed.event_id = Some(v.clone()),
                    other => {
                        return err(format!(
                            "types[{key}].eventId must be a number or string, got {}",
                            describe(other)
                        ))
                    }
                },
                "payStatus" => parsed.pay_status = v.clone(),
                other => {
                    return err(format!(
                        "types[{key}] has unknown field {}; expected label, eventId, payStatus",
                        display::quoted(other)
                    ))
                }
            }
        }
        out.insert(key.clone(), parsed);
    }
    Ok(out)
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("the string {}", display::quoted(s)),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
        other => display::json(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<PartialOptions, OptionsError> {
        PartialOptions::from_json(v.as_object().unwrap())
    }

    #[test]
    fn defaults_match_the_contract() {
        let c = PartialOptions::default().resolve();
        assert_eq!(c.strategy, Strategy::Poll);
        assert_eq!(c.endpoint, "/pay");
        assert_eq!(c.action, "check_pay_status_by_order");
        assert_eq!(c.interval_ms, 2000);
        assert_eq!(c.long_poll_wait_sec, 25);
        assert_eq!(c.sse_url, "/payment-status");
        assert_eq!(c.ws_url, None);
        assert_eq!(c.timeout_ms, Some(900_000));
        assert_eq!(c.request_timeout_ms, 10_000);
        assert_eq!(c.slow_after_ms, Some(60_000));
        assert_eq!(c.slow_interval_ms, 10_000);
        assert_eq!(c.liveness_ms, None);
        assert!(c.analytics);
        assert!(c.exclusive);
        assert!(c.cross_tab);
        assert_eq!(c.paid_marker_ms, 86_400_000);
        assert!(c.share_watch);
        let one = c.type_entry(Some(1));
        assert_eq!(one.label.as_deref(), Some("pc评价页牌匾扫码支付成功"));
        assert_eq!(one.event_id, Some(json!(5357)));
        assert_eq!(one.pay_status, json!(3));
        for other in [None, Some(2), Some(0), Some(-7)] {
            let e = c.type_entry(other);
            assert_eq!(e.label.as_deref(), Some("pc评价页报告扫码支付成功"));
            assert_eq!(e.event_id, Some(json!(5358)));
            assert_eq!(e.pay_status, json!(4));
        }
    }

    #[test]
    fn every_strategy_name_parses_and_unknown_ones_are_named() {
        for name in Strategy::NAMES {
            let o = parse(json!({ "strategy": name })).unwrap();
            assert_eq!(o.strategy.unwrap().name(), name);
        }
        let e = parse(json!({ "strategy": "carrier-pigeon" })).unwrap_err();
        assert!(e.0.contains("unknown strategy \"carrier-pigeon\""), "{e}");
        assert!(e.0.contains("long-poll"), "{e}");
    }

    #[test]
    fn numbers_are_checked() {
        let e = parse(json!({ "intervalMs": -5 })).unwrap_err();
        assert_eq!(
            e.to_string(),
            "paywatch: intervalMs must be a positive number, got -5"
        );
        assert!(parse(json!({ "intervalMs": 0 })).is_err());
        assert!(parse(json!({ "intervalMs": "2000" }))
            .unwrap_err()
            .0
            .contains("must be a number"));
        assert!(parse(json!({ "longPollWaitSec": 0 })).is_ok());
        assert!(parse(json!({ "longPollWaitSec": -1 })).is_err());
        assert!(parse(json!({ "requestTimeoutMs": 0 })).is_err());
        let forever = parse(
            json!({ "timeoutMs": "Infinity", "slowAfterMs": "Infinity", "livenessMs": "Infinity" }),
        )
        .unwrap()
        .resolve();
        assert_eq!(forever.timeout_ms, None);
        assert_eq!(forever.slow_after_ms, None);
        assert_eq!(forever.liveness_ms, Some(None));
        let slow = parse(json!({ "slowAfterMs": 0, "slowIntervalMs": 5000, "livenessMs": 800 }))
            .unwrap()
            .resolve();
        assert_eq!(
            (slow.slow_after_ms, slow.slow_interval_ms, slow.liveness_ms),
            (Some(0), 5000, Some(Some(800)))
        );
        assert!(parse(json!({ "slowIntervalMs": 0 })).is_err());
        assert!(parse(json!({ "slowIntervalMs": "Infinity" })).is_err());
        assert!(parse(json!({ "slowAfterMs": -1 })).is_err());
        assert!(parse(json!({ "livenessMs": 0 })).is_err());
        assert!(parse(json!({ "intervalMs": "Infinity" })).is_err());
        assert_eq!(
            parse(json!({ "intervalMs": 250.4 }))
                .unwrap()
                .resolve()
                .interval_ms,
            250
        );
    }

    #[test]
    fn unknown_and_mistyped_options_are_rejected() {
        let e = parse(json!({ "intervalMS": 100 })).unwrap_err();
        assert!(e.0.starts_with("unknown option \"intervalMS\""), "{e}");
        assert!(parse(json!({ "analytics": "yes" })).is_err());
        assert!(parse(json!({ "endpoint": "" })).is_err());
        assert!(parse(json!({ "endpoint": 5 })).is_err());
        // Callbacks are the edge's business, and null means "not set".
        assert_eq!(
            parse(json!({ "onPaid": {}, "endpoint": null })).unwrap(),
            PartialOptions::default()
        );
    }

    #[test]
    fn cross_tab_options_are_read_and_checked() {
        let c = parse(json!({ "crossTab": false, "paidMarkerMs": 0, "shareWatch": false }))
            .unwrap()
            .resolve();
        assert!(!c.cross_tab);
        assert_eq!(c.paid_marker_ms, 0);
        assert!(!c.share_watch);
        let week = parse(json!({ "paidMarkerMs": 604_800_000 }))
            .unwrap()
            .resolve();
        assert_eq!(week.paid_marker_ms, 604_800_000);
        assert!(parse(json!({ "paidMarkerMs": -1 })).is_err());
        assert!(parse(json!({ "crossTab": "no" })).is_err());
        assert!(parse(json!({ "shareWatch": 1 })).is_err());
        assert!(parse(json!({ "crosstab": false }))
            .unwrap_err()
            .0
            .starts_with("unknown option \"crosstab\""));
    }

    #[test]
    fn types_replace_entries_of_the_seed_table() {
        let o = parse(json!({ "types": {
            "2": { "label": "vip", "eventId": "e-9", "payStatus": 9 },
            "default": { "payStatus": "done" }
        }}))
        .unwrap();
        let c = o.resolve();
        assert_eq!(
            c.type_entry(Some(1)).label.as_deref(),
            Some("pc评价页牌匾扫码支付成功")
        );
        assert_eq!(c.type_entry(Some(2)).event_id, Some(json!("e-9")));
        assert_eq!(c.type_entry(Some(2)).pay_status, json!(9));
        let fallback = c.type_entry(Some(5));
        assert_eq!(fallback.label, None);
        assert_eq!(fallback.pay_status, json!("done"));
        assert!(parse(json!({ "types": { "x": {} } })).is_err());
        assert!(parse(json!({ "types": { "1": { "lable": "x" } } })).is_err());
        assert!(parse(json!({ "types": [] })).is_err());
    }

    #[test]
    fn later_layers_win_and_types_merge() {
        let page = parse(
            json!({ "strategy": "sse", "intervalMs": 500, "types": { "1": { "label": "a" } } }),
        )
        .unwrap();
        let call = parse(json!({ "intervalMs": 100, "types": { "3": { "label": "c" } } })).unwrap();
        let c = page.merge(&call).resolve();
        assert_eq!(c.strategy, Strategy::Sse);
        assert_eq!(c.interval_ms, 100);
        assert_eq!(c.type_entry(Some(1)).label.as_deref(), Some("a"));
        assert_eq!(c.type_entry(Some(3)).label.as_deref(), Some("c"));
    }

    #[test]
    fn order_numbers_and_types_are_checked() {
        assert!(check_order(None, None).is_err());
        assert!(check_order(Some(""), None).is_err());
        assert!(check_order(Some("  "), None).is_err());
        assert_eq!(check_order(Some("A&B #1/测试"), Some(1.0)), Ok(Some(1)));
        assert_eq!(check_order(Some("x"), None), Ok(None));
        assert!(check_order(Some("x"), Some(1.5)).is_err());
        assert!(check_order(Some("x"), Some(f64::NAN)).is_err());
    }
}
