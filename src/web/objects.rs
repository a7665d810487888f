//! The objects paywatch hands the page, written out as JS objects by
//! serde-wasm-bindgen: the outcome a watch resolves with and the `onEvent`
//! events.
//!
//! `Serialize` is by hand: each object is a list of named [`Value`]s
//! written as one map, so the module holds one copy of the map-writing code
//! for every field of every object (serde's derive, one copy per field type
//! and the struct path's cache of field names, measured about 2 KB gzip more).

use serde::ser::{Serialize, SerializeMap, Serializer};
use wasm_bindgen::JsValue;

/// One field's value.
pub enum Value<'a> {
    Text(&'a str),
    Number(f64),
    /// A value the page gave, handed back as it was (serde-wasm-bindgen's
    /// `preserve`).
    Page(&'a JsValue),
    Null,
}

impl Serialize for Value<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Text(t) => s.serialize_str(t),
            Value::Number(n) => s.serialize_f64(*n),
            Value::Page(v) => serde_wasm_bindgen::preserve::serialize(*v, s),
            Value::Null => s.serialize_unit(),
        }
    }
}

/// Named values, written out as a plain JS object in their order.
pub struct Fields<'a>(pub &'a [(&'static str, Value<'a>)]);

impl Serialize for Fields<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// `fields` as a plain JS object, [`Value::Null`] as `null` (the
/// JSON-compatible serializer: plain objects, and `null` for a unit).
/// Strings, numbers and JS values always serialize, so this cannot fail.
pub fn to_js(fields: &[(&'static str, Value<'_>)]) -> JsValue {
    Fields(fields)
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::UNDEFINED)
}
