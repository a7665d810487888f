//! What a status body means (CONTRACT §2). Pure: no browser APIs.
//!
//! A body is JSON like `{"payed": 0|1, "status"?: "pending"|"paid"|"closed"|"expired",
//! "order_no"?: "...", "expires_at"?: <ms>}`. It means *paid* when `payed` is what the
//! seed page's `+res.payed === 1` accepts (`1`, `"1"`, `true`, …) or `status` is
//! `"paid"`; `"closed"` and `"expired"` are final and not paid.
//!
//! The text is read by the caller into a [`Body`] (in the browser: `JSON.parse`,
//! serde-wasm-bindgen, and the browser's own `Number()` for `payed`), so the
//! module ships neither a JSON parser nor a copy of JavaScript's number
//! grammar.

use crate::display;
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
        // Two plain writes: no formatting arguments. The code through
        // `display::float`: no integer formatter in the wasm.
        let (what, detail) = match self {
            BodyError::Http(code) => (
                "status check failed with HTTP ",
                display::float((*code).into()),
            ),
            BodyError::NotJson(start) => ("status answer is not JSON: ", display::quoted(start)),
            BodyError::NotStatusBody(start) => (
                "status answer has neither `payed` nor `status`: ",
                start.clone(),
            ),
            BodyError::OtherOrder(no) => {
                ("status body is for another order: ", display::quoted(no))
            }
        };
        f.write_str(what)?;
        f.write_str(&detail)
    }
}

/// The fields of a JSON text that the wire protocol reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body {
    /// The text is a JSON object (a status body or heartbeat can only be one).
    pub is_object: bool,
    /// `payed` is present (`null` too): whether `+payed === 1`.
    pub payed: Option<bool>,
    /// `status`, when it is a string.
    pub status: Option<String>,
    /// `order_no`, when present and not `null`.
    pub order_no: Option<OrderNo>,
    /// `heartbeat_ms` is present: its value when a whole number of ms from 1
    /// to `u32::MAX`.
    pub heartbeat_ms: Option<Option<u32>>,
}

/// The `order_no` of a body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderNo {
    /// The order it names: a string as is, a number as JSON writes it;
    /// `None` for other values, which name no order.
    pub text: Option<String>,
    /// Its JSON text, for messages.
    pub json: String,
}

/// Reads one answer: `http_status` (use 200 for push messages) and its text.
/// `order_no` is the order being watched; a body naming another order is
/// [`BodyError::OtherOrder`]. `read_body` reads the text (`None` when it is
/// not JSON); the caller supplies it so that the browser can use its own
/// `JSON.parse`.
pub fn read_answer(
    http_status: u16,
    text: &str,
    order_no: &str,
    read_body: impl FnOnce(&str) -> Option<Body>,
) -> Result<Verdict, BodyError> {
    if !(200..300).contains(&http_status) {
        return Err(BodyError::Http(http_status));
    }
    let body = read_body(text).ok_or_else(|| BodyError::NotJson(excerpt(text)))?;
    verdict_of(&body, text, order_no)
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
    read_body: impl FnOnce(&str) -> Option<Body>,
) -> Result<PushMessage, BodyError> {
    let body = read_body(text).ok_or_else(|| BodyError::NotJson(excerpt(text)))?;
    if let Some(every) = heartbeat_of(&body) {
        return Ok(PushMessage::Heartbeat(every));
    }
    verdict_of(&body, text, order_no).map(PushMessage::Status)
}

/// `Some` when `body` is a heartbeat: an object with `heartbeat_ms` and
/// neither `payed` nor `status`; inside, the interval when usable.
pub fn heartbeat_of(body: &Body) -> Option<Option<u32>> {
    if !body.is_object || body.payed.is_some() || body.status.is_some() {
        return None;
    }
    body.heartbeat_ms
}

fn verdict_of(body: &Body, text: &str, order_no: &str) -> Result<Verdict, BodyError> {
    if !body.is_object {
        return Err(not_status(text));
    }
    // The verdict `status` names, when it names one.
    let named = [
        Verdict::Pending,
        Verdict::Paid,
        Verdict::Closed,
        Verdict::Expired,
    ]
    .into_iter()
    .find(|v| body.status.as_deref() == Some(v.name()));
    if body.payed.is_none() && named.is_none() {
        return Err(not_status(text));
    }
    if let Some(other) = &body.order_no {
        if other.text.as_deref() != Some(order_no) {
            return Err(BodyError::OtherOrder(excerpt(&other.json)));
        }
    }
    if body.payed == Some(true) {
        return Ok(Verdict::Paid);
    }
    Ok(named.unwrap_or(Verdict::Pending))
}

/// Whether a heartbeat's `heartbeat_ms` (a JSON number) is a usable interval.
pub fn heartbeat_interval(ms: f64) -> Option<u32> {
    (ms.fract() == 0.0 && (1.0..=f64::from(u32::MAX)).contains(&ms)).then_some(ms as u32)
}

/// Whether `text` is a JSON object or array cut off before its end: it opens
/// with `{` or `[` (after JSON's whitespace, which is ASCII) and ends with a
/// bracket still open or inside a string.
///
/// Only a connection cut mid-body produces that, so it is a failed check,
/// not a bad answer. Chromium and Firefox reject such a body themselves;
/// WebKit hands a chunked response that was cut over as if it were complete
/// (even to a stream reader), so the transport asks this too.
pub fn is_cut_json(text: &str) -> bool {
    let text = text.trim_ascii_start();
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

fn not_status(text: &str) -> BodyError {
    BodyError::NotStatusBody(excerpt(text))
}

/// The first 80 characters, so an error message stays readable.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((end, _)) => display::concat(&[text.get(..end).unwrap_or_default(), "…"]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// A native stand-in for the browser's reader: serde_json, and a unary
    /// plus good enough for these bodies (the browser tests check the real
    /// one, `Number()`, against the seed's corner cases).
    fn parse(text: &str) -> Option<Body> {
        let v: Value = serde_json::from_str(text).ok()?;
        let Value::Object(map) = &v else {
            return Some(Body::default());
        };
        let plus_one = |v: &Value| match v {
            Value::Bool(b) => *b,
            Value::Number(n) => n.as_f64() == Some(1.0),
            Value::String(s) => s.trim().parse::<f64>() == Ok(1.0),
            _ => false,
        };
        Some(Body {
            is_object: true,
            payed: map.get("payed").map(plus_one),
            status: map.get("status").and_then(Value::as_str).map(String::from),
            order_no: map
                .get("order_no")
                .filter(|v| !v.is_null())
                .map(|v| OrderNo {
                    text: match v {
                        Value::String(s) => Some(s.clone()),
                        Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    },
                    json: v.to_string(),
                }),
            heartbeat_ms: map
                .get("heartbeat_ms")
                .map(|v| v.as_f64().and_then(heartbeat_interval)),
        })
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
    fn heartbeat_intervals_are_whole_ms_that_fit_a_timer() {
        assert_eq!(heartbeat_interval(15000.0), Some(15000));
        assert_eq!(heartbeat_interval(0.0), None);
        assert_eq!(heartbeat_interval(1.5), None);
        assert_eq!(heartbeat_interval(-3.0), None);
        assert_eq!(heartbeat_interval(f64::from(u32::MAX) + 1.0), None);
        assert_eq!(heartbeat_interval(f64::NAN), None);
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
}
