//! Status bodies and push messages in the browser: the browser's own
//! `JSON.parse`, then serde-wasm-bindgen into a small typed struct whose
//! fields stay JS values, then the browser's own `Number()` for `payed` (the
//! seed's `+res.payed === 1`) and `JSON.stringify` for messages. The module
//! ships no JSON parser and no copy of JavaScript's number grammar.

use crate::status::{heartbeat_interval, Body, OrderNo};
use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use std::fmt;
use wasm_bindgen::JsValue;

/// An object read by serde-wasm-bindgen as a map (what the readers of
/// [`Wire`] and [`crate::options::PartialOptions`] ask for): a plain
/// object's `Object.entries`, or the entries an iterable object (a `Map`)
/// yields. Neither reader asks for a struct, whose field lookup would bring
/// serde-wasm-bindgen's cache of field names (a `HashMap`, about 3 KB).
pub fn from_object<T: DeserializeOwned>(obj: JsValue) -> Result<T, serde_wasm_bindgen::Error> {
    serde_wasm_bindgen::from_value(obj)
}

/// The fields the wire protocol reads, as the page's JSON has them. A field
/// that is absent stays `None`; `null` is `Some(null)`.
#[derive(Default)]
struct Wire {
    payed: Option<JsValue>,
    status: Option<JsValue>,
    order_no: Option<JsValue>,
    heartbeat_ms: Option<JsValue>,
}

/// A JSON object: the four fields kept as the JS values they are (serde-wasm-
/// bindgen's `preserve`), every other name skipped unread.
impl<'de> Deserialize<'de> for Wire {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Wire, D::Error> {
        d.deserialize_map(WireVisitor)
    }
}

struct WireVisitor;

impl<'de> Visitor<'de> for WireVisitor {
    type Value = Wire;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a status body")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Wire, A::Error> {
        let mut wire = Wire::default();
        while let Some(key) = map.next_key::<String>()? {
            let slot = match key.as_str() {
                "payed" => &mut wire.payed,
                "status" => &mut wire.status,
                "order_no" => &mut wire.order_no,
                "heartbeat_ms" => &mut wire.heartbeat_ms,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *slot = Some(map.next_value_seed(Preserve)?);
        }
        Ok(wire)
    }
}

/// A value as the JS value it is.
struct Preserve;

impl<'de> DeserializeSeed<'de> for Preserve {
    type Value = JsValue;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<JsValue, D::Error> {
        serde_wasm_bindgen::preserve::deserialize(d)
    }
}

/// `JSON.parse(text)` read as a [`Body`]; `None` when the text is not JSON.
pub fn read_body(text: &str) -> Option<Body> {
    let value = js_sys::JSON::parse(text).ok()?;
    if !value.is_object() || js_sys::Array::is_array(&value) {
        return Some(Body::default());
    }
    let wire: Wire = from_object(value).ok()?;
    Some(Body {
        is_object: true,
        // `+payed === 1`: JavaScript's unary plus, by the browser (it cannot
        // throw: JSON holds no symbols or bigints).
        payed: wire.payed.map(|p| p.unchecked_into_f64() == 1.0),
        status: wire.status.and_then(|s| s.as_string()),
        order_no: wire.order_no.filter(|v| !v.is_null()).map(|v| {
            let json = json(&v);
            OrderNo {
                text: v.as_string().or_else(|| v.as_f64().map(|_| json.clone())),
                json,
            }
        }),
        heartbeat_ms: wire
            .heartbeat_ms
            .map(|ms| ms.as_f64().and_then(heartbeat_interval)),
    })
}

/// `JSON.stringify(v)`.
pub fn json(v: &JsValue) -> String {
    js_sys::JSON::stringify(v)
        .map(String::from)
        .unwrap_or_default()
}
