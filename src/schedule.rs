//! Timing and URL rules shared by the transports. Pure: no browser APIs.

/// Reconnect delays for push transports: exponential from `base_ms`, capped at
/// `cap_ms`, with "equal jitter" (half fixed, half random) so that many pages
/// dropped by one server restart do not all come back in the same instant.
#[derive(Debug, Clone)]
pub struct Backoff {
    base_ms: u32,
    cap_ms: u32,
    failures: u32,
}

impl Backoff {
    pub fn new(base_ms: u32, cap_ms: u32) -> Backoff {
        Backoff {
            base_ms: base_ms.max(1),
            cap_ms: cap_ms.max(base_ms),
            failures: 0,
        }
    }

    /// The delay before the next attempt. `random` is in `[0, 1)`.
    pub fn next_delay(&mut self, random: f64) -> u32 {
        let ceiling = self
            .base_ms
            .saturating_mul(1u32.checked_shl(self.failures.min(20)).unwrap_or(u32::MAX))
            .min(self.cap_ms);
        self.failures = self.failures.saturating_add(1);
        let half = ceiling / 2;
        half + ((ceiling - half) as f64 * random.clamp(0.0, 1.0)) as u32
    }

    /// A connection opened: the next failure starts again from `base_ms`.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// The gap between two polling checks at `elapsed_ms` into a watch: the
/// fast `interval_ms` for the first `slow_after_ms`, then `slow_interval_ms`
/// (the way payment providers ask merchants to back off). `None` for
/// `slow_after_ms` (`slowAfterMs: Infinity`) keeps the fast interval.
pub fn poll_gap(
    interval_ms: u32,
    slow_after_ms: Option<u32>,
    slow_interval_ms: u32,
    elapsed_ms: f64,
) -> u32 {
    match slow_after_ms {
        Some(after) if elapsed_ms >= f64::from(after) => slow_interval_ms,
        _ => interval_ms,
    }
}

/// How long a `Retry-After` header asks the client to wait, in ms: either
/// whole seconds (`"120"`) or an HTTP date, read by `parse_date` (ms since
/// the epoch; the browser's `Date.parse`) and taken relative to `now_ms`.
/// `None` when the value is neither; a date in the past is 0. Whitespace
/// around the value is ASCII whitespace (what HTTP allows there).
pub fn retry_after_ms(
    value: &str,
    now_ms: f64,
    parse_date: impl FnOnce(&str) -> Option<f64>,
) -> Option<u32> {
    let v = value.trim_ascii();
    if v.is_empty() {
        return None;
    }
    let ms = if v.bytes().all(|b| b.is_ascii_digit()) {
        // In floating point: no 64-bit overflow checks; a huge number
        // becomes infinity, capped below like a far date.
        1000.0 * v.bytes().fold(0.0, |n, b| n * 10.0 + f64::from(b - b'0'))
    } else {
        parse_date(v).filter(|t| t.is_finite())? - now_ms
    };
    Some(ms.clamp(0.0, f64::from(u32::MAX)) as u32)
}

/// The pause before the next long-poll check. A server that held the request
/// (`elapsed_ms` ≥ `interval_ms`) is asked again at once; one that answered
/// quickly (it ignores `wait`, or failed fast) is asked again only once
/// `interval_ms` has passed since the previous check began: no hammering.
pub fn long_poll_gap(interval_ms: u32, elapsed_ms: u32) -> u32 {
    interval_ms.saturating_sub(elapsed_ms)
}

/// How long one HTTP check may take before it is aborted: the request timeout,
/// plus the time a long-poll server may hold it.
pub fn request_deadline_ms(request_timeout_ms: u32, wait_sec: u32) -> u32 {
    request_timeout_ms.saturating_add(wait_sec.saturating_mul(1000))
}

/// `encodeURIComponent`: every byte but `A-Z a-z 0-9 - _ . ! ~ * ' ( )` is
/// percent-encoded as UTF-8.
pub fn encode_component(s: &str) -> String {
    let mut out = String::new();
    push_encoded(&mut out, s);
    out
}

/// Appends `s` to `out` as [`encode_component`] writes it.
fn push_encoded(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(HEX[usize::from(b >> 4)].into());
            out.push(HEX[usize::from(b & 15)].into());
        }
    }
}

/// `base` with `params` appended to its query (`?` or `&` as needed; a
/// `#fragment` stays at the end). The names are plain words, written as
/// they are; the values are encoded.
pub fn with_query(base: &str, params: &[(&str, &str)]) -> String {
    // Byte scans rather than `str` searches for a `char`, which would link
    // `memchr` for these two ASCII bytes.
    let cut = base.bytes().position(|b| b == b'#').unwrap_or(base.len());
    // `#fragment` (with its `#`) or nothing.
    let fragment = base.get(cut..).unwrap_or_default();
    let mut url = base.get(..cut).unwrap_or(base).to_owned();
    for (name, value) in params {
        if !url.bytes().any(|b| b == b'?') {
            url.push('?');
        } else if !url.ends_with('?') && !url.ends_with('&') {
            url.push('&');
        }
        url.push_str(name);
        url.push('=');
        push_encoded(&mut url, value);
    }
    url.push_str(fragment);
    url
}

/// The status-check URL (CONTRACT §2): `{endpoint}?action=…&order_no=…&t=…[&wait=…]`.
pub fn check_url(
    endpoint: &str,
    action: &str,
    order_no: &str,
    now_ms: f64,
    wait_sec: Option<u32>,
) -> String {
    // Whole numbers far below 2^53: their JavaScript text is their digits.
    let t = crate::display::float(now_ms.max(0.0).round());
    let wait = wait_sec.map_or_else(String::new, |w| crate::display::float(w.into()));
    let params = [
        ("action", action),
        ("order_no", order_no),
        ("t", &t),
        ("wait", &wait),
    ];
    with_query(endpoint, &params[..if wait_sec.is_some() { 4 } else { 3 }])
}

/// The WebSocket URL for an absolute `http(s)`/`ws(s)` URL: `http` becomes
/// `ws`, `https` becomes `wss`. Other strings are returned unchanged.
pub fn to_ws_scheme(absolute: &str) -> String {
    // `http:` and `https:` lose their `http`: `ws:` and `wss:`.
    match absolute.strip_prefix("http") {
        Some(rest) if rest.starts_with(':') || rest.starts_with("s:") => {
            crate::display::concat(&["ws", rest])
        }
        _ => absolute.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let mut b = Backoff::new(500, 8000);
        let lows: Vec<u32> = (0..7).map(|_| b.next_delay(0.0)).collect();
        assert_eq!(lows, [250, 500, 1000, 2000, 4000, 4000, 4000]);
        let mut b = Backoff::new(500, 8000);
        let highs: Vec<u32> = (0..7).map(|_| b.next_delay(0.999_999)).collect();
        assert_eq!(highs, [499, 999, 1999, 3999, 7999, 7999, 7999]);
        b.reset();
        assert_eq!(b.failures(), 0);
        assert_eq!(b.next_delay(0.0), 250);
        let mut many = Backoff::new(1000, 30_000);
        for _ in 0..100 {
            assert!(many.next_delay(0.5) <= 30_000);
        }
    }

    #[test]
    fn long_poll_keeps_the_interval_against_a_server_that_ignores_wait() {
        assert_eq!(long_poll_gap(2000, 15), 1985);
        assert_eq!(long_poll_gap(2000, 2000), 0);
        assert_eq!(long_poll_gap(2000, 25_000), 0);
        assert_eq!(request_deadline_ms(10_000, 25), 35_000);
        assert_eq!(request_deadline_ms(u32::MAX, 25), u32::MAX);
    }

    #[test]
    fn polling_slows_down_after_a_while() {
        let gap = |elapsed| poll_gap(2000, Some(60_000), 10_000, elapsed);
        assert_eq!(gap(0.0), 2000);
        assert_eq!(gap(59_999.0), 2000);
        assert_eq!(gap(60_000.0), 10_000);
        assert_eq!(gap(3_600_000.0), 10_000);
        assert_eq!(poll_gap(2000, None, 10_000, 1e12), 2000);
        assert_eq!(poll_gap(2000, Some(0), 500, 0.0), 500);
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let no_date = |_: &str| None;
        assert_eq!(retry_after_ms("3", 0.0, no_date), Some(3000));
        assert_eq!(retry_after_ms(" 0 ", 0.0, no_date), Some(0));
        assert_eq!(
            retry_after_ms("99999999999999999999", 0.0, no_date),
            Some(u32::MAX)
        );
        assert_eq!(retry_after_ms("", 0.0, no_date), None);
        assert_eq!(retry_after_ms("-1", 0.0, no_date), None);
        assert_eq!(retry_after_ms("soon", 0.0, no_date), None);
        let date = |s: &str| (s == "Wed, 21 Oct 2015 07:28:00 GMT").then_some(1_445_412_480_000.0);
        assert_eq!(
            retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", 1_445_412_478_500.0, date),
            Some(1500)
        );
        assert_eq!(
            retry_after_ms("Wed, 21 Oct 2015 07:28:00 GMT", 1_445_412_490_000.0, date),
            Some(0)
        );
    }

    #[test]
    fn order_numbers_are_url_encoded() {
        assert_eq!(
            encode_component("A&B #1/测试"),
            "A%26B%20%231%2F%E6%B5%8B%E8%AF%95"
        );
        assert_eq!(encode_component("a-b_c.d!~*'()"), "a-b_c.d!~*'()");
        assert_eq!(encode_component("+=?"), "%2B%3D%3F");
    }

    #[test]
    fn check_urls_follow_the_wire_protocol() {
        assert_eq!(
            check_url(
                "/pay",
                "check_pay_status_by_order",
                "A&B",
                1_700_000_000_123.4,
                None
            ),
            "/pay?action=check_pay_status_by_order&order_no=A%26B&t=1700000000123"
        );
        assert_eq!(
            check_url("/api/pay?shop=3#x", "a", "1", 5.0, Some(25)),
            "/api/pay?shop=3&action=a&order_no=1&t=5&wait=25#x"
        );
        assert_eq!(with_query("/p?", &[("a", "1")]), "/p?a=1");
        assert_eq!(with_query("/p?x=1&", &[("a", "1")]), "/p?x=1&a=1");
    }

    #[test]
    fn ws_scheme_follows_the_page() {
        assert_eq!(to_ws_scheme("http://h:1/ws"), "ws://h:1/ws");
        assert_eq!(to_ws_scheme("https://h/ws"), "wss://h/ws");
        assert_eq!(to_ws_scheme("wss://h/ws"), "wss://h/ws");
    }
}
