//! The production knobs: deadlines, size caps, rate limits, the CORS/Origin
//! allow-list and the demo-endpoint switch. Every default is the safe one;
//! the tests and the benchmark loosen what they need by flag ([`crate::cli`]).

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_safe_ones() {
        let l = Limits::default();
        assert!(l.allow_origins.is_empty());
        assert!(!l.demo_endpoints);
        assert_eq!(l.shutdown_timeout, Duration::from_secs(10));
    }
}
