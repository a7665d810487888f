//! Options (CONTRACT §1): reading, merging and validating them. Pure: no
//! browser API.
//!
//! A layer of options ([`PartialOptions`]: `configure()`, or one call) is a
//! typed struct that implements `Deserialize`, read from the page's object
//! by serde-wasm-bindgen (natively, in the unit tests, by serde_json). Each
//! value is read loosely ([`read::Got`]) and checked by the reader of its
//! kind ([`read::number_of`], [`read::text_of`], …), which names the option
//! and what was wrong in its error: one reader per kind, not one per field.
//! Callbacks stay JS functions and are read by the browser edge (their
//! values are skipped here); a name of no option at all is rejected
//! ([`check_name`]): a typo such as `intervalMS` is not silently ignored.
//!
//! Layers: built-in defaults < `configure()` < the `checkPayStatus()` call;
//! [`PartialOptions::resolve`] turns the merged result into a validated
//! [`Config`].

use crate::display::{self, concat};
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
    /// [`Strategy::NAMES`], for messages.
    pub const NAMES_TEXT: &'static str = "interval, poll, long-poll, sse, websocket, auto";
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
    pub event_id: Option<EventId>,
    pub pay_status: PageValue,
}

/// An analytics event id: a number or a string, passed on as given.
#[derive(Debug, Clone, PartialEq)]
pub enum EventId {
    Number(f64),
    Text(String),
}

/// A value the page gave (`payStatus`) and gets back as it was: the JS value
/// itself in the browser (serde-wasm-bindgen's `preserve`), a JSON value in
/// the native tests.
#[cfg(target_arch = "wasm32")]
pub type PageValue = wasm_bindgen::JsValue;
#[cfg(not(target_arch = "wasm32"))]
pub type PageValue = serde_json::Value;

/// `null` as a [`PageValue`].
pub fn null_value() -> PageValue {
    #[cfg(target_arch = "wasm32")]
    return PageValue::NULL;
    #[cfg(not(target_arch = "wasm32"))]
    return PageValue::Null;
}

/// The `types` table: `(key, entry)` by key, `"default"` for the fallback.
/// A few entries: a list is smaller in the wasm module than a map.
pub type Types = Vec<(String, TypeEntry)>;

/// The key of the fallback entry in `types`: used for every type without one.
pub const DEFAULT_TYPE_KEY: &str = "default";

/// Default lifetime of a paid marker (`paidMarkerMs`): 24 hours.
pub const DEFAULT_MARKER_MS: u32 = 24 * 60 * 60 * 1000;

/// The seed page's table: type 1 is the plaque purchase, anything else the report.
pub fn seed_types() -> Types {
    let entry = |label: &str, event: u32, status: u32| TypeEntry {
        label: Some(label.to_owned()),
        event_id: Some(EventId::Number(event.into())),
        pay_status: PageValue::from(status),
    };
    vec![
        ("1".to_owned(), entry("pc评价页牌匾扫码支付成功", 5357, 3)),
        (
            DEFAULT_TYPE_KEY.to_owned(),
            entry("pc评价页报告扫码支付成功", 5358, 4),
        ),
    ]
}

/// `later` entries replace those of `types` with the same key (the order of
/// the entries does not matter: keys are unique).
fn merge_types(types: &Types, later: Types) -> Types {
    let mut out = later;
    for entry in types {
        if !out.iter().any(|(k, _)| *k == entry.0) {
            out.push(entry.clone());
        }
    }
    out
}

/// The one table of data options. Each row: the field's doc line (what it
/// does and its default, which [`PartialOptions::resolve`] applies), the
/// field and its type, the JS name, the reader of its kind ([`read::Slot`],
/// with its arguments), and how a later layer merges over an earlier one.
/// The macro writes [`PartialOptions`], [`DATA_KEYS`], [`KNOWN_KEYS`],
/// [`PartialOptions::slot`] and [`PartialOptions::merge`] from it, so a new
/// option is one row here plus its use.
macro_rules! data_options {
    ($(
        $(#[doc = $doc:literal])*
        $field:ident: $ty:ty = $key:literal, $kind:ident $(($($arg:expr),*))?, $merge:ident;
    )*) => {
        /// One layer of options, every field optional: `null` and `undefined`
        /// leave an option unset. The defaults are those of
        /// [`PartialOptions::resolve`]. Deserialized from an object of options
        /// (see [`read`]); the names of callbacks are skipped, those of no
        /// option at all are the edge's to reject.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct PartialOptions {
            $($(#[doc = $doc])* pub $field: $ty,)*
        }

        /// The data options' JS names, in the table's order.
        const DATA_KEYS: &[&str] = &[$($key),*];

        /// [`DATA_KEYS`] and [`CALLBACK_KEYS`], for messages (written out at
        /// compile time: `join` at run time costs the wasm module more).
        const KNOWN_KEYS: &str = concat!($($key, ", ",)* "onStatus, onPaid, onError, onEvent");

        impl PartialOptions {
            /// `later` over `self`: each option `later` sets wins; `types`
            /// merge by key. `later`'s options move into the result; `self`'s
            /// are copied.
            pub fn merge(&self, later: PartialOptions) -> PartialOptions {
                PartialOptions {
                    $($field: $merge(&self.$field, later.$field),)*
                }
            }

            /// The slot of the data option `key`; `None` for other names.
            pub fn slot(&mut self, key: &str) -> Option<read::Slot<'_>> {
                Some(match key {
                    $($key => read::Slot::$kind(&mut self.$field $(, $($arg),*)?),)*
                    _ => return None,
                })
            }
        }
    };
}

data_options! {
    /// `"poll"`; one of [`Strategy::NAMES`].
    strategy: Option<Strategy> = "strategy", Strategy, or;
    /// `"/pay"`: the status URL.
    endpoint: Option<String> = "endpoint", Url, pick;
    /// `"check_pay_status_by_order"`: the `action` query parameter.
    action: Option<String> = "action", Text, pick;
    /// `2000`: ms between polling checks; > 0.
    interval_ms: Option<f64> = "intervalMs", Number(true, false), or;
    /// `25`: s a long-poll server may hold a check; >= 0.
    long_poll_wait_sec: Option<f64> = "longPollWaitSec", Number(false, false), or;
    /// `"/payment-status"`: the EventSource URL.
    sse_url: Option<String> = "sseUrl", Url, pick;
    /// `ws(s)://<page host>/ws` (filled in by the browser edge).
    ws_url: Option<String> = "wsUrl", Url, pick;
    /// `900000` (15 min): give up after this long; `Infinity`: never.
    timeout_ms: Option<f64> = "timeoutMs", Number(true, true), or;
    /// `10000`: abort one check (or an opening connection) after this long.
    request_timeout_ms: Option<f64> = "requestTimeoutMs", Number(true, false), or;
    /// `60000`: polling slows down after this long; `Infinity`: never.
    slow_after_ms: Option<f64> = "slowAfterMs", Number(false, true), or;
    /// `10000`: ms between polling checks after `slowAfterMs`.
    slow_interval_ms: Option<f64> = "slowIntervalMs", Number(true, false), or;
    /// 2.5 × the server's heartbeat: silence that means a dead connection;
    /// `Infinity`: never.
    liveness_ms: Option<f64> = "livenessMs", Number(true, true), or;
    /// The seed table; entries replace the seed table's entry with the same key.
    types: Types = "types", Types, merge_types;
    /// `true`: call the page's analytics globals when paid.
    analytics: Option<bool> = "analytics", Flag, or;
    /// `true`: a new watch cancels every running one.
    exclusive: Option<bool> = "exclusive", Flag, or;
    /// `true`: tabs watching the same order cooperate (one leader, outcomes
    /// shared, analytics once per browser profile).
    cross_tab: Option<bool> = "crossTab", Flag, or;
    /// One day: how long the paid marker keeps another tab or a reload from
    /// firing the analytics again; 0: no marker; >= 0.
    paid_marker_ms: Option<f64> = "paidMarkerMs", Number(false, false), or;
    /// `true`: only the leader tab runs the transport.
    share_watch: Option<bool> = "shareWatch", Flag, or;
}

/// Option names that are callbacks: the browser edge reads them, not this module.
pub const CALLBACK_KEYS: [&str; 4] = ["onStatus", "onPaid", "onError", "onEvent"];

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

/// Checks one name of an options object: unknown names are rejected, so
/// that a typo such as `intervalMS` is not silently ignored.
pub fn check_name(key: &str) -> Result<(), OptionsError> {
    if DATA_KEYS.contains(&key) {
        return Ok(());
    }
    check_other_name(key)
}

/// [`check_name`] for a name that is no data option's (the reader knows
/// those by their slots, [`read::Slot`]): only a callback's passes.
fn check_other_name(key: &str) -> Result<(), OptionsError> {
    if CALLBACK_KEYS.contains(&key) {
        return Ok(());
    }
    err(concat(&[
        "unknown option ",
        &display::quoted(key),
        "; known options are ",
        KNOWN_KEYS,
    ]))
}

impl PartialOptions {
    /// This layer over the defaults ([`Config::default`]), each value
    /// turned into what the transports use (whole milliseconds; `None` for
    /// `Infinity`). `ws_url` stays `None` when unset: only the browser knows
    /// the page's host, so the edge supplies `ws(s)://<host>/ws`.
    pub fn resolve(self) -> Config {
        let d = Config::default();
        Config {
            strategy: self.strategy.unwrap_or(d.strategy),
            endpoint: self.endpoint.unwrap_or(d.endpoint),
            action: self.action.unwrap_or(d.action),
            interval_ms: self.interval_ms.map_or(d.interval_ms, to_ms),
            long_poll_wait_sec: self.long_poll_wait_sec.map_or(d.long_poll_wait_sec, to_ms),
            sse_url: self.sse_url.unwrap_or(d.sse_url),
            ws_url: self.ws_url,
            timeout_ms: self.timeout_ms.map_or(d.timeout_ms, finite_ms),
            request_timeout_ms: self.request_timeout_ms.map_or(d.request_timeout_ms, to_ms),
            slow_after_ms: self.slow_after_ms.map_or(d.slow_after_ms, finite_ms),
            slow_interval_ms: self.slow_interval_ms.map_or(d.slow_interval_ms, to_ms),
            liveness_ms: self.liveness_ms.map(finite_ms),
            types: merge_types(&d.types, self.types),
            analytics: self.analytics.unwrap_or(d.analytics),
            exclusive: self.exclusive.unwrap_or(d.exclusive),
            cross_tab: self.cross_tab.unwrap_or(d.cross_tab),
            paid_marker_ms: self.paid_marker_ms.map_or(d.paid_marker_ms, to_ms),
            share_watch: self.share_watch.unwrap_or(d.share_watch),
        }
    }
}

/// `later` when it is set, else `earlier` (copied).
fn pick(earlier: &Option<String>, later: Option<String>) -> Option<String> {
    later.or_else(|| earlier.clone())
}

/// [`pick`] for the options that are `Copy`.
fn or<T: Copy>(earlier: &Option<T>, later: Option<T>) -> Option<T> {
    later.or(*earlier)
}

/// Whole milliseconds for timers; timers cannot wait longer than `u32::MAX` ms.
/// Not inlined: one copy serves every option in milliseconds.
#[inline(never)]
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
    pub types: Types,
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

/// Every default, in one place (each [`PartialOptions`] field's doc line
/// says its own).
impl Default for Config {
    fn default() -> Self {
        Config {
            strategy: Strategy::Poll,
            endpoint: "/pay".into(),
            action: "check_pay_status_by_order".into(),
            interval_ms: 2000,
            long_poll_wait_sec: 25,
            sse_url: "/payment-status".into(),
            ws_url: None,
            timeout_ms: Some(900_000),
            request_timeout_ms: 10_000,
            slow_after_ms: Some(60_000),
            slow_interval_ms: 10_000,
            liveness_ms: None,
            types: seed_types(),
            analytics: true,
            exclusive: true,
            cross_tab: true,
            paid_marker_ms: DEFAULT_MARKER_MS,
            share_watch: true,
        }
    }
}

impl Config {
    /// The entry for an order's `type`, or the `default` entry.
    pub fn type_entry(&self, ty: Option<i64>) -> &TypeEntry {
        let find = |key: &str| self.types.iter().find(|(k, _)| k == key).map(|(_, e)| e);
        // A type's key is the text JavaScript gives the number, as in
        // `types: { [type]: … }` (the same digits as Rust's for every safe
        // integer).
        ty.and_then(|t| find(&display::float(t as f64)))
            .or_else(|| find(DEFAULT_TYPE_KEY))
            // `resolve` starts from the seed table, which has a default entry.
            .unwrap()
    }
}

/// Checks the order number and `type` of a call: a non-empty string, and an
/// integer or nothing.
pub fn check_order(order_no: Option<&str>, ty: Option<f64>) -> Result<Option<i64>, OptionsError> {
    match order_no {
        None => return err("order number must be a non-empty string"),
        Some(no) if no.chars().all(char::is_whitespace) => {
            return err("order number must be a non-empty string, got an empty one")
        }
        Some(_) => {}
    }
    match ty {
        None => Ok(None),
        Some(t) if t.is_finite() && t.fract() == 0.0 => Ok(Some(t as i64)),
        Some(t) => Err(read::must_be("type", "an integer", &read::Got::Number(t))),
    }
}

/// Reading one option value: what the page passed, loosely typed, so that
/// the error can name the option and say what it got instead of failing
/// inside serde.
///
/// Every value goes through [`read::Got`]'s visitor, which accepts any
/// type, so serde's own "invalid type" errors never come from these
/// readers; the ones inside serde-wasm-bindgen are patched so that they do
/// not link core's float formatter (`vendor/README.md`).
pub mod read {
    use super::*;
    use serde::de::{
        self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
    };

    /// A value as the page passed it.
    #[derive(Debug, Clone, PartialEq)]
    pub enum Got {
        /// `null` or `undefined`: the option is unset.
        Unset,
        Bool(bool),
        Number(f64),
        Text(String),
        Array,
        /// An object where none is wanted ([`Want::Value`]).
        Object,
        /// An object read as the `types` table ([`Want::Types`]).
        Types(Types),
        /// An object read as one entry of `types` ([`Want::Entry`]).
        Entry(TypeEntry),
    }

    impl Got {
        /// The value, for an error message: `-5`, `the string "soon"`, `an array`.
        pub fn describe(&self) -> String {
            match self {
                Got::Unset => "null".into(),
                Got::Bool(b) => b.to_string(),
                Got::Number(n) => display::float(*n),
                Got::Text(s) => concat(&["the string ", &display::quoted(s)]),
                Got::Array => "an array".into(),
                Got::Object | Got::Types(_) | Got::Entry(_) => "an object".into(),
            }
        }
    }

    /// What a reader makes of an object: the `types` table and its entries
    /// are read where they belong; any other object is only noted.
    #[derive(Clone, Copy)]
    pub enum Want<'a> {
        Value,
        Types,
        /// An entry of `types`, by its name in errors (`types[<key>]`).
        Entry(&'a str),
    }

    /// Reads any value as [`Got`], an object as its [`Want`] says. One
    /// visitor for every level, so that serde-wasm-bindgen's
    /// `deserialize_any` is compiled once.
    struct GotVisitor<'a>(Want<'a>);

    impl<'de> Visitor<'de> for GotVisitor<'_> {
        type Value = Got;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("any value")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Got, E> {
            Ok(Got::Bool(v))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Got, E> {
            Ok(Got::Number(v as f64))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Got, E> {
            Ok(Got::Number(v as f64))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Got, E> {
            Ok(Got::Number(v))
        }
        fn visit_str<E>(self, v: &str) -> Result<Got, E> {
            Ok(Got::Text(v.to_owned()))
        }
        fn visit_string<E>(self, v: String) -> Result<Got, E> {
            Ok(Got::Text(v))
        }
        fn visit_unit<E>(self) -> Result<Got, E> {
            Ok(Got::Unset)
        }
        fn visit_bytes<E>(self, _: &[u8]) -> Result<Got, E> {
            Ok(Got::Object) // a typed array or ArrayBuffer
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Got, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Got::Array)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Got, A::Error> {
            match self.0 {
                Want::Value => {
                    // Keys as `String`, as every other map here reads them:
                    // no second copy of the key reader.
                    while map.next_key::<String>()?.is_some() {
                        map.next_value::<IgnoredAny>()?;
                    }
                    Ok(Got::Object)
                }
                Want::Types => types_table(map).map(Got::Types),
                Want::Entry(key) => types_entry(key, map).map(Got::Entry),
            }
        }
    }

    /// Any value, `null`/`undefined` as [`Got::Unset`]. Not inlined: one
    /// copy serves every option.
    #[inline(never)]
    pub fn got<'de, D: Deserializer<'de>>(d: D, want: Want) -> Result<Got, D::Error> {
        d.deserialize_any(GotVisitor(want))
    }

    fn fail<E: de::Error>(e: OptionsError) -> E {
        E::custom(e.0)
    }

    /// `<key> must be <want>, got <what it got>`: the wording of every value
    /// of the wrong type or out of range.
    pub fn must_be(key: &str, want: &str, got: &Got) -> OptionsError {
        OptionsError(concat(&[key, " must be ", want, ", got ", &got.describe()]))
    }

    /// A number option: > 0 where `positive`, else >= 0; `Infinity`
    /// ("never") only where `may_be_infinite`.
    pub fn number_of(
        key: &str,
        got: Got,
        positive: bool,
        may_be_infinite: bool,
    ) -> Result<Option<f64>, OptionsError> {
        let n = match got {
            Got::Unset => return Ok(None),
            Got::Number(n) => n,
            other => return Err(must_be(key, "a number", &other)),
        };
        let in_range = if positive { n > 0.0 } else { n >= 0.0 };
        if !in_range || (n.is_infinite() && !may_be_infinite) {
            let want = if positive {
                "a positive number"
            } else {
                "a number >= 0"
            };
            return Err(must_be(key, want, &Got::Number(n)));
        }
        Ok(Some(n))
    }

    /// A string option.
    pub fn text_of(key: &str, got: Got) -> Result<Option<String>, OptionsError> {
        match got {
            Got::Unset => Ok(None),
            Got::Text(s) => Ok(Some(s)),
            other => Err(must_be(key, "a string", &other)),
        }
    }

    /// A URL option: a non-empty string.
    pub fn url_of(key: &str, got: Got) -> Result<Option<String>, OptionsError> {
        let url = text_of(key, got)?;
        if url
            .as_deref()
            .is_some_and(|s| s.chars().all(char::is_whitespace))
        {
            return err(concat(&[key, " must be a non-empty URL"]));
        }
        Ok(url)
    }

    /// A true/false option.
    pub fn flag_of(key: &str, got: Got) -> Result<Option<bool>, OptionsError> {
        match got {
            Got::Unset => Ok(None),
            Got::Bool(b) => Ok(Some(b)),
            other => Err(must_be(key, "true or false", &other)),
        }
    }

    /// `strategy`: one of [`Strategy::NAMES`].
    pub fn strategy_of(got: Got) -> Result<Option<Strategy>, OptionsError> {
        let Some(name) = text_of("strategy", got)? else {
            return Ok(None);
        };
        match Strategy::parse(&name) {
            Some(s) => Ok(Some(s)),
            None => err(concat(&[
                "unknown strategy ",
                &display::quoted(&name),
                "; expected one of ",
                Strategy::NAMES_TEXT,
            ])),
        }
    }

    /// Where one data option goes, and the reader of its kind.
    pub enum Slot<'a> {
        Strategy(&'a mut Option<Strategy>),
        Text(&'a mut Option<String>),
        Url(&'a mut Option<String>),
        /// A number: whether it must be > 0 (else >= 0), and whether it
        /// may be `Infinity`.
        Number(&'a mut Option<f64>, bool, bool),
        Flag(&'a mut Option<bool>),
        /// Read with [`Want::Types`].
        Types(&'a mut Types),
    }

    impl Slot<'_> {
        /// Sets the option `key` from the value the page gave, checked by
        /// the reader of its kind.
        pub fn set(self, key: &str, got: Got) -> Result<(), OptionsError> {
            match self {
                Slot::Strategy(v) => *v = strategy_of(got)?,
                Slot::Text(v) => *v = text_of(key, got)?,
                Slot::Url(v) => *v = url_of(key, got)?,
                Slot::Number(v, positive, may_be_infinite) => {
                    *v = number_of(key, got, positive, may_be_infinite)?
                }
                Slot::Flag(v) => *v = flag_of(key, got)?,
                Slot::Types(v) => *v = types_of(got)?,
            }
            Ok(())
        }
    }

    /// An options object: each data option read as [`Got`] and checked by
    /// the reader of its [`Slot`]; a callback's value is skipped unread, and
    /// any other name is rejected ([`check_name`]).
    ///
    /// One visitor by hand, on purpose: `#[derive(Deserialize)]` on
    /// [`PartialOptions`] cost the page +21.9 KB gzip, and still +5.7 KB
    /// with serde's error formatting cut (measured against this one).
    impl<'de> Deserialize<'de> for PartialOptions {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_map(OptionsVisitor)
        }
    }

    struct OptionsVisitor;

    impl<'de> Visitor<'de> for OptionsVisitor {
        type Value = PartialOptions;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("an options object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PartialOptions, A::Error> {
            let mut options = PartialOptions::default();
            while let Some(key) = map.next_key::<String>()? {
                let Some(slot) = options.slot(&key) else {
                    check_other_name(&key).map_err(fail)?;
                    map.next_value::<IgnoredAny>()?;
                    continue;
                };
                let want = match slot {
                    Slot::Types(_) => Want::Types,
                    _ => Want::Value,
                };
                let got = map.next_value_seed(AnyValue(want))?;
                slot.set(&key, got).map_err(fail)?;
            }
            Ok(options)
        }
    }

    /// `types`: `{ <type or "default">: { label, eventId, payStatus } }`.
    pub fn types_of(got: Got) -> Result<Types, OptionsError> {
        match got {
            Got::Unset => Ok(Types::new()),
            Got::Types(types) => Ok(types),
            other => Err(must_be(
                "types",
                "an object like { 1: { label, eventId, payStatus } }",
                &other,
            )),
        }
    }

    /// The `types` table: each key checked, each entry read as an object.
    fn types_table<'de, A: MapAccess<'de>>(mut map: A) -> Result<Types, A::Error> {
        let mut out = Types::new();
        while let Some(key) = map.next_key::<String>()? {
            if key != DEFAULT_TYPE_KEY && key.parse::<i64>().is_err() {
                return Err(fail(OptionsError(concat(&[
                    "types keys must be integer types or ",
                    &display::quoted(DEFAULT_TYPE_KEY),
                    ", got ",
                    &display::quoted(&key),
                ]))));
            }
            let name = concat(&["types[", &key, "]"]);
            let entry = match map.next_value_seed(AnyValue(Want::Entry(&name)))? {
                Got::Entry(entry) => entry,
                other => return Err(fail(must_be(&name, "an object", &other))),
            };
            match out.iter_mut().find(|(k, _)| *k == key) {
                Some(same) => same.1 = entry,
                None => out.push((key, entry)),
            }
        }
        Ok(out)
    }

    /// One entry of `types`, named `name` (`types[<key>]`) in errors.
    fn types_entry<'de, A: MapAccess<'de>>(name: &str, mut map: A) -> Result<TypeEntry, A::Error> {
        let mut entry = TypeEntry {
            label: None,
            event_id: None,
            pay_status: null_value(),
        };
        while let Some(field) = map.next_key::<String>()? {
            match field.as_str() {
                "label" => {
                    let got = map.next_value_seed(AnyValue(Want::Value))?;
                    entry.label = text_of(&concat(&[name, ".label"]), got).map_err(fail)?;
                }
                "eventId" => {
                    entry.event_id = match map.next_value_seed(AnyValue(Want::Value))? {
                        Got::Unset => None,
                        Got::Number(n) => Some(EventId::Number(n)),
                        Got::Text(s) => Some(EventId::Text(s)),
                        other => {
                            let key = concat(&[name, ".eventId"]);
                            return Err(fail(must_be(&key, "a number or string", &other)));
                        }
                    };
                }
                "payStatus" => entry.pay_status = map.next_value_seed(Keep)?,
                other => {
                    return Err(fail(OptionsError(concat(&[
                        name,
                        " has unknown field ",
                        &display::quoted(other),
                        "; expected label, eventId, payStatus",
                    ]))))
                }
            }
        }
        Ok(entry)
    }

    /// Any value, as [`Got`].
    struct AnyValue<'a>(Want<'a>);

    impl<'de> DeserializeSeed<'de> for AnyValue<'_> {
        type Value = Got;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Got, D::Error> {
            got(d, self.0)
        }
    }

    /// The value itself, kept as the page gave it.
    struct Keep;

    impl<'de> DeserializeSeed<'de> for Keep {
        type Value = PageValue;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<PageValue, D::Error> {
            #[cfg(target_arch = "wasm32")]
            return serde_wasm_bindgen::preserve::deserialize(d);
            #[cfg(not(target_arch = "wasm32"))]
            return serde::Deserialize::deserialize(d);
        }
    }
}

// Native only: a page value is a JSON value there.
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use serde_json::json;

    use serde_json::Value;

    /// What the browser edge does (it checks the names in the same pass).
    fn parse(v: Value) -> Result<PartialOptions, OptionsError> {
        for key in v.as_object().unwrap().keys() {
            check_name(key)?;
        }
        serde_json::from_value(v).map_err(|e| OptionsError(e.to_string()))
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
        assert_eq!(one.event_id, Some(EventId::Number(5357.0)));
        assert_eq!(one.pay_status, json!(3));
        for other in [None, Some(2), Some(0), Some(-7)] {
            let e = c.type_entry(other);
            assert_eq!(e.label.as_deref(), Some("pc评价页报告扫码支付成功"));
            assert_eq!(e.event_id, Some(EventId::Number(5358.0)));
            assert_eq!(e.pay_status, json!(4));
        }
    }

    #[test]
    fn the_lists_in_messages_match_the_lists() {
        assert_eq!(Strategy::NAMES.join(", "), Strategy::NAMES_TEXT);
        // The reader knows the data options by their slots.
        for key in DATA_KEYS {
            assert!(PartialOptions::default().slot(key).is_some(), "{key}");
        }
        for key in CALLBACK_KEYS {
            assert!(PartialOptions::default().slot(key).is_none(), "{key}");
        }
        assert_eq!(
            [DATA_KEYS, &CALLBACK_KEYS[..]].concat().join(", "),
            KNOWN_KEYS
        );
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
        // `Infinity` has no JSON form: the readers are called as serde would.
        let inf = || read::Got::Number(f64::INFINITY);
        let forever = PartialOptions {
            timeout_ms: read::number_of("timeoutMs", inf(), true, true).unwrap(),
            slow_after_ms: read::number_of("slowAfterMs", inf(), false, true).unwrap(),
            liveness_ms: read::number_of("livenessMs", inf(), true, true).unwrap(),
            ..PartialOptions::default()
        }
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
        assert!(read::number_of("slowIntervalMs", inf(), true, false).is_err());
        assert_eq!(
            read::number_of("intervalMs", read::Got::Number(f64::NAN), true, false),
            Err(OptionsError(
                "intervalMs must be a positive number, got NaN".into()
            ))
        );
        assert!(parse(json!({ "slowAfterMs": -1 })).is_err());
        assert!(parse(json!({ "livenessMs": 0 })).is_err());
        assert!(read::number_of("intervalMs", inf(), true, false).is_err());
        assert_eq!(
            parse(json!({ "timeoutMs": "soon" })).unwrap_err().0,
            "timeoutMs must be a number, got the string \"soon\""
        );
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
        assert_eq!(
            c.type_entry(Some(2)).event_id,
            Some(EventId::Text("e-9".into()))
        );
        assert_eq!(c.type_entry(Some(2)).pay_status, json!(9));
        let fallback = c.type_entry(Some(5));
        assert_eq!(fallback.label, None);
        assert_eq!(fallback.pay_status, json!("done"));
        assert!(parse(json!({ "types": { "x": {} } })).is_err());
        let e = parse(json!({ "types": { "1": { "lable": "x" } } })).unwrap_err();
        assert!(e.0.contains("types[1] has unknown field \"lable\""), "{e}");
        let e = parse(json!({ "types": [1] })).unwrap_err();
        assert!(e.0.starts_with("types must be an object"), "{e}");
        let e = parse(json!({ "types": { "1": 5 } })).unwrap_err();
        assert_eq!(e.0, "types[1] must be an object, got 5");
        let e = parse(json!({ "types": { "1": { "eventId": [] } } })).unwrap_err();
        assert!(
            e.0.contains("types[1].eventId must be a number or string, got an array"),
            "{e}"
        );
    }

    #[test]
    fn later_layers_win_and_types_merge() {
        let page = parse(
            json!({ "strategy": "sse", "intervalMs": 500, "types": { "1": { "label": "a" } } }),
        )
        .unwrap();
        let call = parse(json!({ "intervalMs": 100, "types": { "3": { "label": "c" } } })).unwrap();
        let c = page.merge(call).resolve();
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
