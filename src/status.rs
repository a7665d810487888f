//! What a status body means (CONTRACT §2). Pure: no browser APIs.
//!
//! A body is JSON like `{"payed": 0|1, "status"?: "pending"|"paid"|"closed"|"expired",
//! "order_no"?: "...", "expires_at"?: <ms>}`. It means *paid* when `payed` is what the
//! seed page's `+res.payed === 1` accepts (`1`, `"1"`, `true`, …) or `status` is
//! `"paid"`; `"closed"` and `"expired"` are final and not paid.

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
            BodyError::NotJson(start) => write!(f, "status answer is not JSON: {start:?}"),
            BodyError::NotStatusBody(start) => {
                write!(f, "status answer has neither `payed` nor `status`: {start}")
            }
            BodyError::OtherOrder(no) => write!(f, "status body is for another order: {no:?}"),
        }
    }
}

/// Reads one answer: `http_status` (use 200 for push messages) and its text.
/// `order_no` is the order being watched; a body naming another order is
/// [`BodyError::OtherOrder`].
pub fn read_answer(http_status: u16, text: &str, order_no: &str) -> Result<Verdict, BodyError> {
    if !(200..300).contains(&http_status) {
        return Err(BodyError::Http(http_status));
    }
    let value: Value = serde_json::from_str(text).map_err(|_| BodyError::NotJson(excerpt(text)))?;
    let Value::Object(body) = &value else {
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
            Value::Number(n) => n.to_string() == order_no,
            Value::Null => true,
            _ => false,
        };
        if !same {
            return Err(BodyError::OtherOrder(excerpt(&other.to_string())));
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

/// The seed's `+res.payed === 1`: JavaScript's unary plus, then a strict
/// comparison with 1. `1`, `1.0`, `"1"`, `" 1 "`, `"1e0"` and `true` are paid;
/// `0`, `"abc"`, `null`, `[]`, `{}`, `false` are not.
pub fn is_paid_value(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() == Some(1.0),
        Value::String(s) => js_to_number(s) == Some(1.0),
        // `+[1]` and `+["1"]` are 1 in JavaScript too.
        Value::Array(items) if items.len() == 1 => match &items[0] {
            Value::Number(_) | Value::String(_) => is_paid_value(&items[0]),
            Value::Array(_) => is_paid_value(&items[0]),
            _ => false,
        },
        _ => false,
    }
}

/// JavaScript's `Number(string)` for the cases that can equal 1: decimal
/// (with exponent) after trimming white space, or `0x`/`0o`/`0b` integers.
fn js_to_number(s: &str) -> Option<f64> {
    let t = s.trim();
    let radix = |p: &str, r| {
        t.strip_prefix(p)
            .and_then(|d| u64::from_str_radix(d, r).ok())
    };
    if let Some(n) = radix("0x", 16).or_else(|| radix("0X", 16)) {
        return Some(n as f64);
    }
    if let Some(n) = radix("0o", 8).or_else(|| radix("0O", 8)) {
        return Some(n as f64);
    }
    if let Some(n) = radix("0b", 2).or_else(|| radix("0B", 2)) {
        return Some(n as f64);
    }
    // Rust accepts "inf"/"nan" spellings JavaScript does not; they are never 1 anyway.
    t.parse::<f64>().ok()
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

    fn verdict(body: &str) -> Result<Verdict, BodyError> {
        read_answer(200, body, "A1")
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
            read_answer(500, r#"{"payed":1}"#, "A1"),
            Err(BodyError::Http(500))
        );
        assert_eq!(read_answer(404, "", "A1"), Err(BodyError::Http(404)));
    }

    #[test]
    fn a_body_for_another_order_does_not_count() {
        assert_eq!(
            verdict(r#"{"payed":1,"order_no":"B2"}"#),
            Err(BodyError::OtherOrder("\"B2\"".into()))
        );
        assert_eq!(verdict(r#"{"payed":1,"order_no":"A1"}"#), Ok(Verdict::Paid));
        assert_eq!(
            read_answer(200, r#"{"payed":1,"order_no":7}"#, "7"),
            Ok(Verdict::Paid)
        );
    }

    #[test]
    fn long_bodies_are_cut_in_messages() {
        let long = "x".repeat(500);
        let BodyError::NotJson(start) = verdict(&long).unwrap_err() else {
            panic!("not json expected")
        };
        assert_eq!(start.chars().count(), 81);
    }
}
