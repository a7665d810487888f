//! The production knobs: deadlines, size caps, rate limits, the CORS/Origin
//! allow-list and the demo-endpoint switch. Every default is the safe one;
//! the tests and the benchmark loosen what they need by flag.

use std::time::Duration;

/// Longest order number accepted anywhere (bytes of UTF-8).
pub const MAX_ORDER_NO_BYTES: usize = 128;
/// Largest request body read (order creation, test hooks).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// Largest WebSocket frame or message a client may send (a subscribe frame
/// is under 200 bytes).
pub const MAX_WS_MESSAGE_BYTES: usize = 4 * 1024;
/// WebSocket read buffer per socket (tungstenite's default is 128 KiB); a
/// subscribe frame is under 200 bytes, and bigger frames (up to
/// [`MAX_WS_MESSAGE_BYTES`]) are still read, in several reads.
pub const WS_READ_BUFFER_BYTES: usize = 1024;
/// Outgoing WebSocket bytes that may queue before a send fails.
pub const WS_MAX_WRITE_BUFFER_BYTES: usize = 64 * 1024;
/// Longest `ttl_ms` a created order may ask for.
pub const MAX_ORDER_TTL: Duration = Duration::from_secs(24 * 3600);

/// Deadlines, caps and doors. Part of [`Config`](crate::Config).
#[derive(Clone, Debug)]
pub struct Limits {
    /// A connection must deliver a complete request head within this long of
    /// opening, and of its previous response (the idle keep-alive limit).
    pub header_timeout: Duration,
    /// A request body must arrive completely within this long.
    pub body_timeout: Duration,
    /// A write (response bytes, SSE event, WebSocket frame) that cannot make
    /// progress for this long ends the connection: the reader stopped reading.
    pub write_timeout: Duration,
    /// After SIGTERM, the process exits this long later at the latest.
    pub shutdown_timeout: Duration,
    /// Requests per second per client address on each rate-limited route
    /// group (`/pay`; SSE and WebSocket opens; order creation and demo
    /// endpoints). Bursts of twice that are allowed.
    pub rate_per_sec: u32,
    /// Live waiters (held long-polls, SSE streams, WebSocket sockets and
    /// their subscriptions) per client address.
    pub max_waiters_per_client: usize,
    /// Orders kept in memory at most; creating one more answers 503.
    pub max_orders: usize,
    /// Paid, closed and expired orders are forgotten this long after they end.
    pub keep_ended: Duration,
    /// Browser origins (`scheme://host[:port]`) allowed to call the API
    /// cross-origin and to open SSE streams and WebSockets. Empty = same
    /// origin only.
    pub allow_origins: Vec<String>,
    /// Mount `POST /orders/{no}/pay` and `/close` (the demo's fake payment).
    /// Even then they answer same-origin requests only.
    pub demo_endpoints: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            shutdown_timeout: Duration::from_secs(10),
            rate_per_sec: 10,
            max_waiters_per_client: 100,
            max_orders: 100_000,
            keep_ended: Duration::from_secs(600),
            allow_origins: Vec::new(),
            demo_endpoints: false,
        }
    }
}

/// The lines these flags add to `--help`.
pub const USAGE: &str = "\
    --allow-origin ORIGIN  browser origin allowed cross-origin (CORS, SSE and
                           WebSocket Origin check); repeatable
                           [default: none = same origin only]
    --demo-endpoints       mount POST /orders/{no}/pay and /close (same-origin
                           requests only; never in production)
    --rate-limit N         requests/s per client address per route group,
                           bursts of 2N                     [default: 10]
    --max-waiters-per-client N
                           open long-polls/streams/sockets/subscriptions per
                           client address                   [default: 100]
    --max-orders N         orders held in memory            [default: 100000]
    --keep-ended-sec SEC   forget paid/closed/expired orders after [default: 600]
    --header-timeout-ms MS request head deadline, also idle keep-alive
                                                            [default: 10000]
    --body-timeout-ms MS   request body deadline            [default: 10000]
    --write-timeout-ms MS  end a connection whose writes stall this long
                                                            [default: 10000]
    --shutdown-timeout-ms MS
                           exit this long after SIGTERM at the latest
                                                            [default: 10000]
";

/// Applies one of the flags above. `Ok(false)` means "not one of mine".
pub fn apply_flag(
    limits: &mut Limits,
    flag: &str,
    inline: bool,
    value: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<bool, String> {
    let ms = |v: String, flag: &str| -> Result<Duration, String> {
        let n: u64 = number(&v, flag)?;
        if n == 0 {
            return Err(format!("{flag} must be at least 1"));
        }
        Ok(Duration::from_millis(n))
    };
    match flag {
        "--allow-origin" => {
            let origin = value(flag)?;
            limits.allow_origins.push(parse_origin(&origin)?);
        }
        "--demo-endpoints" => {
            if inline {
                return Err("--demo-endpoints takes no value".into());
            }
            limits.demo_endpoints = true;
        }
        "--rate-limit" => {
            limits.rate_per_sec = number(&value(flag)?, flag)?;
            if limits.rate_per_sec == 0 {
                return Err("--rate-limit must be at least 1".into());
            }
        }
        "--max-waiters-per-client" => limits.max_waiters_per_client = number(&value(flag)?, flag)?,
        "--max-orders" => limits.max_orders = number(&value(flag)?, flag)?,
        "--keep-ended-sec" => limits.keep_ended = Duration::from_secs(number(&value(flag)?, flag)?),
        "--header-timeout-ms" => limits.header_timeout = ms(value(flag)?, flag)?,
        "--body-timeout-ms" => limits.body_timeout = ms(value(flag)?, flag)?,
        "--write-timeout-ms" => limits.write_timeout = ms(value(flag)?, flag)?,
        "--shutdown-timeout-ms" => limits.shutdown_timeout = ms(value(flag)?, flag)?,
        _ => return Ok(false),
    }
    Ok(true)
}

fn number<T: std::str::FromStr>(s: &str, flag: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("{flag} expects a non-negative integer, got {s:?}"))
}

/// `http://host[:port]` or `https://…`, no path; returned lower-cased
/// without a trailing slash, as browsers send it in `Origin`.
fn parse_origin(s: &str) -> Result<String, String> {
    let lower = s.trim_end_matches('/').to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', '*', ' ']) => Ok(lower),
        _ => Err(format!(
            "--allow-origin expects http(s)://host[:port] with no path or wildcard, got {s:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(args: &[&str]) -> Result<Limits, String> {
        let mut limits = Limits::default();
        let mut it = args.iter().map(|s| s.to_string());
        while let Some(flag) = it.next() {
            let mut rest: Vec<String> = Vec::new();
            let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
            if !apply_flag(&mut limits, &flag, false, &mut value)? {
                rest.push(flag);
                return Err(format!("not mine: {rest:?}"));
            }
        }
        Ok(limits)
    }

    #[test]
    fn defaults_are_the_safe_ones() {
        let l = Limits::default();
        assert!(l.allow_origins.is_empty());
        assert!(!l.demo_endpoints);
        assert_eq!(l.shutdown_timeout, Duration::from_secs(10));
    }

    #[test]
    fn flags() {
        let l = apply(&[
            "--allow-origin",
            "http://127.0.0.1:9000/",
            "--allow-origin",
            "HTTPS://Shop.Example",
            "--demo-endpoints",
            "--rate-limit",
            "1000",
            "--max-waiters-per-client",
            "5",
            "--max-orders",
            "7",
            "--keep-ended-sec",
            "0",
            "--shutdown-timeout-ms",
            "1500",
        ])
        .unwrap();
        assert_eq!(
            l.allow_origins,
            ["http://127.0.0.1:9000", "https://shop.example"]
        );
        assert!(l.demo_endpoints);
        assert_eq!(
            (l.rate_per_sec, l.max_waiters_per_client, l.max_orders),
            (1000, 5, 7)
        );
        assert_eq!(l.keep_ended, Duration::ZERO);
        assert_eq!(l.shutdown_timeout, Duration::from_millis(1500));
    }

    #[test]
    fn bad_values() {
        for bad in ["*", "http://*", "ftp://x", "http://x/path", "x.example"] {
            assert!(apply(&["--allow-origin", bad]).is_err(), "{bad}");
        }
        assert!(apply(&["--rate-limit", "0"]).is_err());
        assert!(apply(&["--write-timeout-ms", "0"]).is_err());
        assert!(apply(&["--max-orders", "-1"]).is_err());
    }
}
