//! What a status body means (CONTRACT §2). Pure: no browser APIs.
//!
//! A body is JSON like `{"payed": 0|1, "status"?: "pending"|"paid"|"closed"|"expired",
//! "order_no"?: "...", "expires_at"?: <ms>}`. It means *paid* when `payed` is what the
//! seed page's `+res.payed === 1` accepts (`1`, `"1"`, `true`, …) or `status` is
//! `"paid"`; `"closed"` and `"expired"` are final and not paid.

use crate::display;
use serde_json::Value;
use std::fmt;

/// What one status body says about the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not paid yet; keep watching.
    Pending,
    Paid,
    Closed,
    Expired,
}

impl Verdict {
    /// Whether this verdict ends the watch.
    pub fn is_final(self) -> bool {
        self != Verdict::Pending
    }

    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pending => "pending",
            Verdict::Paid => "paid",
            Verdict::Closed => "closed",
            Verdict::Expired => "expired",
        }
    }
}

/// Why an answer was not a usable status body. Reported through `onError`;
/// watching goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// The HTTP status was not 2xx.
    Http(u16),
    /// The body was not JSON (an HTML error page, plain text, …).
    NotJson(String),
    /// JSON, but neither `payed` nor a known `status` is in it.
    NotStatusBody(String),
    /// A status body for a different order (push channels carry these).
    OtherOrder(String),
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::Http(code) => write!(f, "status check failed with HTTP {code}"),
            BodyError::NotJson(start) => {
                write!(f, "status answer is not JSON: {}", display::quoted(start))
            }
            BodyError::NotStatusBody(start) => {
                write!(f, "status answer has neither `payed` nor `status`: {start}")
            }
            BodyError::OtherOrder(no) => write!(
                f,
                "status body is for another order: {}",
                display::quoted(no)
            ),
        }
    }
}

/// Reads one answer: `http_status` (use 200 for push messages) and its text.
/// `order_no` is the order being watched; a body naming another order is
/// [`BodyError::OtherOrder`]. `parse_json` reads the text as JSON (`None`
/// when it is not JSON); the caller supplies it so that the browser can use
/// its own `JSON.parse` instead of shipping a parser in the module.
pub fn read_answer(
    http_status: u16,
    text: &str,
    order_no: &str,
    parse_json: impl FnOnce(&str) -> Option<Value>,
) -> Result<Verdict, BodyError> {
    if !(200..300).contains(&http_status) {
        return Err(BodyError::Http(http_status));
    }
    let value = parse_json(text).ok_or_else(|| BodyError::NotJson(excerpt(text)))?;
    verdict_of(&value, text, order_no)
}

/// One message on a push channel: a status body, or an application
/// heartbeat `{"heartbeat_ms": N}` (no `payed`, no `status`) that proves the
/// connection is alive and says how often the server sends one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushMessage {
    Status(Verdict),
    /// The server's heartbeat interval in ms, when it gave a usable one.
    Heartbeat(Option<u32>),
}

/// Reads one push message (SSE `message` data, WebSocket text frame).
pub fn read_push_message(
    text: &str,
    order_no: &str,
    parse_json: impl FnOnce(&str) -> Option<Value>,
) -> Result<PushMessage, BodyError> {
    let value = parse_json(text).ok_or_else(|| BodyError::NotJson(excerpt(text)))?;
    if let Some(every) = heartbeat_of(&value) {
        return Ok(PushMessage::Heartbeat(every));
    }
    verdict_of(&value, text, order_no).map(PushMessage::Status)
}

/// `Some` when `value` is a heartbeat: an object with `heartbeat_ms` and
/// neither `payed` nor `status`; inside, the interval when it is a whole
/// number of ms that fits a timer.
pub fn heartbeat_of(value: &Value) -> Option<Option<u32>> {
    let Value::Object(body) = value else {
        return None;
    };
    if body.contains_key("payed") || body.contains_key("status") {
        return None;
    }
    let every = body.get("heartbeat_ms")?;
    Some(
        every
            .as_u64()
            .filter(|ms| (1..=u64::from(u32::MAX)).contains(ms))
            .map(|ms| ms as u32),
    )
}

fn verdict_of(value: &Value, text: &str, order_no: &str) -> Result<Verdict, BodyError> {
    let Value::Object(body) = value else {
        return Err(not_status(text));
    };
    let payed = body.get("payed");
    let status = body.get("status").and_then(Value::as_str);
    let known_status = matches!(status, Some("pending" | "paid" | "closed" | "expired"));
    if payed.is_none() && !known_status {
        return Err(not_status(text));
    }
    if let Some(other) = body.get("order_no") {
        let same = match other {
            Value::String(s) => s == order_no,
            Value::Number(_) => display::json(other) == order_no,
            Value::Null => true,
            _ => false,
        };
        if !same {
            return Err(BodyError::OtherOrder(excerpt(&display::json(other))));
        }
    }
    if payed.is_some_and(is_paid_value) || status == Some("paid") {
        return Ok(Verdict::Paid);
    }
    Ok(match status {
        Some("closed") => Verdict::Closed,
        Some("expired") => Verdict::Expired,
        _ => Verdict::Pending,
    })
}

/// Whether `text` is a JSON object or array cut off before its end: it opens
/// with `{` or `[` and ends with a bracket still open or inside a string.
///
/// Only a connection cut mid-body produces that, so it is a failed check,
/// not a bad answer. Chromium and Firefox reject such a body themselves;
/// WebKit hands a chunked response that was cut over as if it were complete
/// (even to a stream reader), so the transport asks this too.
pub fn is_cut_json(text: &str) -> bool {
    let text = text.trim_start();
    if !(text.starts_with('{') || text.starts_with('[')) {
        return false;
    }
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return false; // the value is complete (whatever follows)
                }
            }
            _ => {}
        }
    }
    true
}

/// The seed's `+res.payed === 1`: JavaScript's unary plus, then a strict
/// comparison with 1. `1`, `1.0`, `"1"`, `" 1 "`, `"1e0"` and `true` are paid;
/// `0`, `"abc"`, `null`, `[]`, `{}`, `false` are not.
pub fn is_paid_value(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() == Some(1.0),
        Value::String(s) => js_number_is_one(s),
        // `+[1]` and `+["1"]` are 1 in JavaScript too.
        Value::Array(items) if items.len() == 1 => match &items[0] {
            Value::Number(_) | Value::String(_) => is_paid_value(&items[0]),
            Value::Array(_) => is_paid_value(&items[0]),
            _ => false,
        },
        _ => false,
    }
}

/// Whether JavaScript's `Number(string)` is 1, for the strings that can be:
/// decimal (with exponent) after trimming white space, or `0x`/`0o`/`0b`
/// integers.
fn js_number_is_one(s: &str) -> bool {
    let t = s.trim();
    let radix = |p: &str, r| {
        t.strip_prefix(p)
            .and_then(|d| u64::from_str_radix(d, r).ok())
    };
    if let Some(n) = radix("0x", 16).or_else(|| radix("0X", 16)) {
        return n == 1;
    }
    if let Some(n) = radix("0o", 8).or_else(|| radix("0O", 8)) {
        return n == 1;
    }
    if let Some(n) = radix("0b", 2).or_else(|| radix("0B", 2)) {
        return n == 1;
    }
    decimal_is_one(t)
}

/// Exactly `t.parse::<f64>() == Ok(1.0)`, without Rust's float parser: its
/// tables are over 10 KB of the wasm module, and only this check needs it.
///
/// A decimal `t` reads as 1.0 when its value rounds to 1.0, that is when it
/// lies in [1 − 2⁻⁵⁴, 1 + 2⁻⁵³] (both ends round to the even 1.0). Both
/// bounds have finite decimal expansions, so comparing digit strings is
/// exact. The grammar is Rust's: `[+-]digits[.digits][(e|E)[+-]digits]`
/// with at least one mantissa digit on either side of the point; its
/// `inf`/`nan` spellings are never 1.
fn decimal_is_one(t: &str) -> bool {
    /// 1 + 2⁻⁵³ and 1 − 2⁻⁵⁴: significant digits after "0." when written as
    /// 0.1000… × 10¹ and 0.9999… × 10⁰.
    const UPPER: &str = "100000000000000011102230246251565404236316680908203125";
    const LOWER: &str = "999999999999999944488848768742172978818416595458984375";
    let t = t.strip_prefix('+').unwrap_or(t);
    let (mantissa, exp) = match t.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (t, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.len() + frac.len() == 0 || !all_digits(int) || !all_digits(frac) {
        return false;
    }
    // The exponent saturates: anything far from 0 cannot give 1 anyway.
    let exp: i64 = match exp {
        None => 0,
        Some(e) => {
            let (negative, digits) = match e.strip_prefix('-') {
                Some(digits) => (true, digits),
                None => (false, e.strip_prefix('+').unwrap_or(e)),
            };
            if digits.is_empty() || !all_digits(digits) {
                return false;
            }
            let magnitude = digits.bytes().fold(0i64, |acc, b| {
                (acc * 10 + i64::from(b - b'0')).min(1_000_000_000)
            });
            if negative {
                -magnitude
            } else {
                magnitude
            }
        }
    };
    // The value is 0.significant × 10^point.
    let all = format!("{int}{frac}");
    let significant = all.trim_start_matches('0');
    let point = int.len() as i64 - (all.len() - significant.len()) as i64 + exp;
    let significant = significant.trim_end_matches('0');
    match point {
        1 => significant <= UPPER,
        0 => !significant.is_empty() && significant >= LOWER,
        _ => false,
    }
}

fn not_status(text: &str) -> BodyError {
    BodyError::NotStatusBody(excerpt(text))
}

/// The first 80 characters, so an error message stays readable.
fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(80).collect();
    if text.chars().nth(80).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Option<Value> {
        serde_json::from_str(text).ok()
    }

    fn verdict(body: &str) -> Result<Verdict, BodyError> {
        read_answer(200, body, "A1", parse)
    }

    #[test]
    fn a_json_text_cut_before_its_end_is_recognised() {
        for cut in [
            "{",
            " {\"payed\":1",
            "{\"payed\":1,\"status\":\"pa",
            "{\"a\":\"}\"",
            "{\"a\":\"\\\"}\"",
            "[{\"payed\":1}",
            "{\"a\":[1,{}]",
        ] {
            assert!(is_cut_json(cut), "{cut:?} is cut");
        }
        for whole in [
            "",
            "{}",
            "{\"payed\":1}",
            " {\"a\":\"{[\"}\n",
            "{\"a\":\"\\\\\"}",
            "[1,2]",
            "{\"payed\":1}}",
            "<html><body>502 Bad Gateway</body></html>",
            "payed=1",
            "1",
            "\"{\"",
        ] {
            assert!(!is_cut_json(whole), "{whole:?} is not cut");
        }
    }

    #[test]
    fn payed_follows_the_seeds_unary_plus() {
        for paid in [json!(1), json!(1.0), json!("1"), json!(" 1 "), json!("1e0")] {
            assert!(is_paid_value(&paid), "{paid} should be paid");
        }
        assert!(is_paid_value(&json!(true)));
        assert!(is_paid_value(&json!("0x1")));
        assert!(is_paid_value(&json!([1])));
        for unpaid in [
            json!(0),
            json!("0"),
            json!("abc"),
            json!(null),
            json!(false),
            json!(2),
            json!(""),
            json!([]),
            json!({}),
            json!([1, 1]),
            json!("1abc"),
        ] {
            assert!(!is_paid_value(&unpaid), "{unpaid} should not be paid");
        }
    }

    #[test]
    fn bodies_map_to_verdicts() {
        assert_eq!(verdict(r#"{"payed":1}"#), Ok(Verdict::Paid));
        assert_eq!(verdict(r#"{"payed":"1"}"#), Ok(Verdict::Paid));
        assert_eq!(verdict(r#"{"payed":true}"#), Ok(Verdict::Paid));
        assert_eq!(verdict(r#"{"payed":0}"#), Ok(Verdict::Pending));
        assert_eq!(verdict(r#"{"payed":"abc"}"#), Ok(Verdict::Pending));
        assert_eq!(verdict(r#"{"payed":null}"#), Ok(Verdict::Pending));
        assert_eq!(verdict(r#"{"status":"paid"}"#), Ok(Verdict::Paid));
        assert_eq!(
            verdict(r#"{"payed":0,"status":"pending"}"#),
            Ok(Verdict::Pending)
        );
        assert_eq!(
            verdict(r#"{"payed":0,"status":"closed"}"#),
            Ok(Verdict::Closed)
        );
        assert_eq!(
            verdict(r#"{"status":"expired","expires_at":5}"#),
            Ok(Verdict::Expired)
        );
        // `payed` wins over a contradicting status: a payment is never missed.
        assert_eq!(
            verdict(r#"{"payed":1,"status":"closed"}"#),
            Ok(Verdict::Paid)
        );
        assert_eq!(
            verdict(r#"{"payed":0,"status":"refunding"}"#),
            Ok(Verdict::Pending)
        );
    }

    #[test]
    fn a_missing_payed_is_not_a_status_body() {
        assert!(matches!(
            verdict(r#"{"hello":"world"}"#),
            Err(BodyError::NotStatusBody(_))
        ));
        assert!(matches!(
            verdict(r#"{"status":"weird"}"#),
            Err(BodyError::NotStatusBody(_))
        ));
        assert!(matches!(verdict("[1]"), Err(BodyError::NotStatusBody(_))));
        assert!(matches!(verdict("1"), Err(BodyError::NotStatusBody(_))));
        assert!(matches!(verdict("null"), Err(BodyError::NotStatusBody(_))));
    }

    #[test]
    fn non_json_and_http_errors_are_errors() {
        assert!(matches!(
            verdict("<html>oops</html>"),
            Err(BodyError::NotJson(_))
        ));
        assert!(matches!(verdict(""), Err(BodyError::NotJson(_))));
        assert_eq!(
            read_answer(500, r#"{"payed":1}"#, "A1", parse),
            Err(BodyError::Http(500))
        );
        assert_eq!(read_answer(404, "", "A1", parse), Err(BodyError::Http(404)));
    }

    #[test]
    fn a_body_for_another_order_does_not_count() {
        assert_eq!(
            verdict(r#"{"payed":1,"order_no":"B2"}"#),
            Err(BodyError::OtherOrder("\"B2\"".into()))
        );
        assert_eq!(verdict(r#"{"payed":1,"order_no":"A1"}"#), Ok(Verdict::Paid));
        assert_eq!(
            read_answer(200, r#"{"payed":1,"order_no":7}"#, "7", parse),
            Ok(Verdict::Paid)
        );
    }

    #[test]
    fn heartbeats_are_told_apart_from_status_bodies() {
        let push = |t: &str| read_push_message(t, "A1", parse);
        assert_eq!(
            push(r#"{"heartbeat_ms":15000}"#),
            Ok(PushMessage::Heartbeat(Some(15000)))
        );
        assert_eq!(
            push(r#"{"heartbeat_ms":"soon"}"#),
            Ok(PushMessage::Heartbeat(None))
        );
        assert_eq!(
            push(r#"{"heartbeat_ms":0}"#),
            Ok(PushMessage::Heartbeat(None))
        );
        // A status body that also carries heartbeat_ms is a status body.
        assert_eq!(
            push(r#"{"payed":1,"heartbeat_ms":5}"#),
            Ok(PushMessage::Status(Verdict::Paid))
        );
        assert_eq!(
            push(r#"{"status":"pending"}"#),
            Ok(PushMessage::Status(Verdict::Pending))
        );
        assert!(matches!(push("beat"), Err(BodyError::NotJson(_))));
        assert!(matches!(
            push(r#"{"hello":1}"#),
            Err(BodyError::NotStatusBody(_))
        ));
    }

    #[test]
    fn long_bodies_are_cut_in_messages() {
        let long = "x".repeat(500);
        let BodyError::NotJson(start) = verdict(&long).unwrap_err() else {
            panic!("not json expected")
        };
        assert_eq!(start.chars().count(), 81);
    }

    #[test]
    fn decimal_strings_equal_one_exactly_as_rust_parses_them() {
        let mut cases: Vec<String> = [
            "1",
            "+1",
            "-1",
            "1.",
            ".1",
            "1.0",
            "01",
            "001.000",
            "1e0",
            "1E0",
            "10e-1",
            "0.1e1",
            "100e-2",
            "0.001e3",
            "1e+0",
            "1e-0",
            "1e",
            "1e+",
            "e1",
            ".",
            "",
            "+",
            "-",
            "1..0",
            "1.0.0",
            "1_0",
            " 1",
            "inf",
            "NaN",
            "infinity",
            "0",
            "0.0",
            "2",
            "0.5",
            "0x1",
            "1f",
            "1e99999999999999999999",
            "1e-99999999999",
            "0e5",
            "0.9999999999999999",
            "0.99999999999999994",
            "0.99999999999999995",
            "0.999999999999999944488848768742172978818416595458984375",
            "0.999999999999999944488848768742172978818416595458984374",
            "0.9999999999999999444888487687421729788184165954589843749999",
            "1.00000000000000011102230246251565404236316680908203125",
            "1.00000000000000011102230246251565404236316680908203126",
            "1.000000000000000111022302462515654042363166809082031250000",
            "1.0000000000000001",
            "1.0000000000000002",
            "1.00000000000000022",
            "100000000000000011102230246251565404236316680908203125e-53",
            "99999999999999994448884876874217297881841659545898437.5e-53",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Digits around the two bounds, in assorted spellings.
        for tail in 0..40u32 {
            cases.push(format!("1.00000000000000011102230246251565{tail}"));
            cases.push(format!("0.99999999999999994448884876874217{tail}"));
            cases.push(format!("0.0{tail}e2"));
        }
        for c in &cases {
            assert_eq!(decimal_is_one(c), c.parse::<f64>() == Ok(1.0), "{c:?}");
        }
    }
}
