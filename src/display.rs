//! How numbers and JSON values are written into messages. Pure.
//!
//! Error messages quote option values and answers back to the developer. In
//! the wasm build, core's float formatter and serde_json's serializer would be
//! a large share of the module just for that, so this module writes them
//! itself: integers exactly, other numbers as the platform prints them
//! (JavaScript's `Number#toString` in the browser — the notation the
//! developer wrote them in — and Rust's `{}` natively), JSON compactly.

use serde_json::{Number, Value};

/// A number for a message: `-5`, `2000`, `0.25`, `NaN`, `Infinity`.
pub fn float(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER {
        return (n as i64).to_string();
    }
    platform_text(n)
}

/// Compact JSON text of a value, keys in map order.
pub fn json(v: &Value) -> String {
    let mut out = String::new();
    write_json(v, &mut out);
    out
}

/// `format!("{s:?}")` for the strings messages quote: in double quotes, with
/// `"`, `\`, tab, CR, LF, NUL and other control characters escaped as Rust
/// escapes them. Rust's `{:?}` also escapes the few non-control characters
/// it deems unprintable or combining, using Unicode tables that would weigh
/// about 9 KB in the wasm module; here those stand as they are.
pub fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`);
/// up to it, integral numbers convert to `i64` exactly.
pub const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

fn write_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&json_number(n)),
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(key, out);
                out.push(':');
                write_json(item, out);
            }
            out.push('}');
        }
    }
}

fn json_number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    // serde_json numbers are finite; both platforms' texts are valid JSON.
    float(n.as_f64().unwrap_or(0.0))
}

/// serde_json's string escaping: `"`, `\`, and control characters.
fn write_json_string(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                out.push(HEX[(c as usize) >> 4] as char);
                out.push(HEX[(c as usize) & 0xf] as char);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A finite, non-integral number as the platform prints it.
#[cfg(target_arch = "wasm32")]
fn platform_text(n: f64) -> String {
    js_sys::Number::from(n)
        .to_string_with_radix(10)
        .map(String::from)
        .unwrap_or_default()
}

/// A finite, non-integral number as the platform prints it.
#[cfg(not(target_arch = "wasm32"))]
fn platform_text(n: f64) -> String {
    format!("{n}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_read_as_written() {
        assert_eq!(float(-5.0), "-5");
        assert_eq!(float(2000.0), "2000");
        assert_eq!(float(-0.0), "0");
        assert_eq!(float(0.25), "0.25");
        assert_eq!(float(-1.5), "-1.5");
        assert_eq!(float(9_007_199_254_740_991.0), "9007199254740991");
        assert_eq!(float(f64::NAN), "NaN");
        assert_eq!(float(f64::INFINITY), "Infinity");
        assert_eq!(float(f64::NEG_INFINITY), "-Infinity");
    }

    #[test]
    fn json_is_compact_and_escaped() {
        let v = json!({ "b": [1, -2, 0.5, true, null], "a": "q\"\\\n\u{1}测" });
        let text = json(&v);
        assert_eq!(text, r#"{"a":"q\"\\\n\u0001测","b":[1,-2,0.5,true,null]}"#);
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, v, "valid JSON that reads back as the value");
        assert_eq!(json(&json!(u64::MAX)), u64::MAX.to_string());
        assert_eq!(json(&json!({ "order_no": "A&B" })), r#"{"order_no":"A&B"}"#);
    }

    #[test]
    fn quoted_escapes_quotes_and_controls() {
        assert_eq!(quoted("smoke-signals"), r#""smoke-signals""#);
        assert_eq!(quoted("a\"b\\c\td\n\0"), r#""a\"b\\c\td\n\0""#);
        assert_eq!(quoted("\u{7f}"), r#""\u{7f}""#);
        assert_eq!(quoted("测试"), "\"测试\"");
        for s in ["plain", "with \"quotes\"", "tab\there", "x\u{1b}y"] {
            assert_eq!(
                quoted(s),
                format!("{s:?}"),
                "same as Rust's Debug for {s:?}"
            );
        }
    }
}
