//! JS values ⇄ JSON values ([`serde_json::Value`], the data type of the pure
//! modules), walked by hand. Text is parsed with the browser's `JSON.parse`:
//! the module ships no JSON parser or serializer of its own.

use crate::display::MAX_SAFE_INTEGER;
use js_sys::{Array, Object, Reflect};
use serde_json::{Map, Number, Value};
use wasm_bindgen::{JsCast, JsValue};

/// A JS value as JSON, as `JSON.stringify` would see the data: `undefined`
/// is `null`; safe integers are integer JSON numbers (so `-0` is `0`), other
/// finite numbers floats, `NaN` and the infinities `null`; objects are their
/// own enumerable string-keyed properties. `Err` for what has no JSON form
/// (functions, symbols, bigints), describing it.
pub fn from_js(v: &JsValue) -> Result<Value, &'static str> {
    if v.is_undefined() || v.is_null() {
        return Ok(Value::Null);
    }
    if let Some(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(n) = v.as_f64() {
        return Ok(number(n));
    }
    if let Some(s) = v.as_string() {
        return Ok(Value::String(s));
    }
    if let Some(items) = v.dyn_ref::<Array>() {
        return items.iter().map(|item| from_js(&item)).collect();
    }
    if v.is_object() {
        let mut map = Map::new();
        for (key, item) in entries(v) {
            map.insert(key, from_js(&item)?);
        }
        return Ok(Value::Object(map));
    }
    Err(if v.is_function() {
        "a function"
    } else {
        "a value with no JSON form"
    })
}

/// `Object.entries(obj)`: its own enumerable string-keyed properties.
pub fn entries(obj: &JsValue) -> impl Iterator<Item = (String, JsValue)> {
    Object::entries(obj.unchecked_ref())
        .into_iter()
        .map(|entry| {
            let pair: Array = entry.unchecked_into();
            (pair.get(0).as_string().unwrap_or_default(), pair.get(1))
        })
}

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER {
        Value::from(n as i64)
    } else {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// A JSON value as a plain JS value (objects as plain objects).
pub fn to_js(v: &Value) -> JsValue {
    match v {
        Value::Null => JsValue::NULL,
        Value::Bool(b) => JsValue::from_bool(*b),
        Value::Number(n) => JsValue::from_f64(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => JsValue::from_str(s),
        Value::Array(items) => items.iter().map(to_js).collect::<Array>().into(),
        Value::Object(map) => {
            let obj = Object::new();
            for (key, item) in map {
                let _ = Reflect::set(&obj, &JsValue::from_str(key), &to_js(item));
            }
            obj.into()
        }
    }
}

/// `JSON.parse(text)` as a JSON value; `None` when the text is not JSON.
pub fn parse_json(text: &str) -> Option<Value> {
    js_sys::JSON::parse(text)
        .ok()
        .and_then(|v| from_js(&v).ok())
}
