//! How numbers and strings are written into messages. Pure.
//!
//! Error messages quote option values back to the developer. In the wasm
//! build, core's float formatter would be a large share of the module just
//! for that, so numbers are written as the platform prints them:
//! JavaScript's `Number#toString` in the browser (the notation the developer
//! wrote them in), Rust's `{}` natively.

/// The parts, one after another: what `[..].concat()` does, without the
/// standard library's length-overflow check (a panic path and location) in
/// every build of the module.
pub fn concat(parts: &[&str]) -> String {
    let mut out = String::new();
    for part in parts {
        out.push_str(part);
    }
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
            c if c.is_control() => {
                out.push_str("\\u{");
                out.push_str(&hex(c.into()));
                out.push('}');
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A number for a message, as JavaScript prints it (`Number#toString`):
/// `-5`, `2000`, `0.25`, `NaN`, `Infinity`.
#[cfg(target_arch = "wasm32")]
pub fn float(n: f64) -> String {
    in_radix(n, 10)
}

/// `n` in lowercase hex, as `{:x}` writes it.
#[cfg(target_arch = "wasm32")]
fn hex(n: u32) -> String {
    in_radix(n.into(), 16)
}

#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::disallowed_macros)] // native only: not in the module
fn hex(n: u32) -> String {
    format!("{n:x}")
}

/// `Number#toString(radix)`: the browser writes the digits, so the wasm
/// module links no integer or float formatter for them.
#[cfg(target_arch = "wasm32")]
pub fn in_radix(n: f64, radix: u8) -> String {
    js_sys::Number::from(n)
        .to_string_with_radix(radix)
        .map(String::from)
        .unwrap_or_default()
}

/// A number for a message, as JavaScript prints it, by Rust: `-0` as `0`,
/// and `NaN` and the infinities in JavaScript's words.
#[cfg(not(target_arch = "wasm32"))]
#[allow(clippy::disallowed_macros)] // native only: not in the module
pub fn float(n: f64) -> String {
    if n.is_nan() {
        return "NaN".into();
    }
    if n.is_infinite() {
        return if n > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if n == 0.0 {
        return "0".into();
    }
    format!("{n}")
}

#[cfg(test)]
#[allow(clippy::disallowed_macros)] // Rust's own formatting is the reference
mod tests {
    use super::*;

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
