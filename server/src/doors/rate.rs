//! Per-client-address rate limits, one budget per route group.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::response::{IntoResponse, Response};

use super::client_key;
use crate::error::ApiError;

/// Route groups with a rate budget each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Group {
    /// `GET /pay` (check, poll, long-poll).
    Check,
    /// Opening an SSE stream or a WebSocket.
    Push,
    /// `POST /orders`, and the demo's pay/close.
    Write,
}

/// Most client keys tracked at once; beyond it new clients are refused
/// until old entries age out (the map never grows without bound).
const MAX_TRACKED_CLIENTS: usize = 65_536;

/// A per-(client, group) rate limiter: the generic cell rate algorithm,
/// `rate` per second with bursts of `2 × rate`. One `Instant` per key.
pub struct RateLimiter {
    interval: Duration,
    tolerance: Duration,
    cells: Mutex<HashMap<(IpAddr, Group), Instant>>,
}

impl RateLimiter {
    pub fn new(rate_per_sec: u32) -> Self {
        let interval = Duration::from_secs(1) / rate_per_sec.max(1);
        RateLimiter {
            interval,
            tolerance: interval * (2 * rate_per_sec.max(1) - 1),
            cells: Mutex::new(HashMap::new()),
        }
    }

    /// `Ok` to let the request through, `Err(wait)` when it must wait.
    pub fn check(&self, ip: IpAddr, group: Group, now: Instant) -> Result<(), Duration> {
        let mut cells = self.cells.lock().unwrap();
        let key = (client_key(ip), group);
        if cells.len() >= MAX_TRACKED_CLIENTS && !cells.contains_key(&key) {
            // Entries whose theoretical arrival time has passed carry no
            // debt; forgetting them changes nothing.
            cells.retain(|_, tat| *tat > now);
            if cells.len() >= MAX_TRACKED_CLIENTS {
                return Err(Duration::from_secs(1));
            }
        }
        let cell = cells.entry(key).or_insert(now);
        let tat = (*cell).max(now);
        let ahead = tat - now;
        if ahead > self.tolerance {
            return Err(ahead - self.tolerance);
        }
        *cell = tat + self.interval;
        Ok(())
    }
}

/// 429 with `Retry-After` in whole seconds (at least 1).
pub fn too_many(msg: &'static str, wait: Duration) -> Response {
    ApiError::TooMany {
        what: msg,
        retry_after: wait,
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_bursts_then_waits() {
        let rl = RateLimiter::new(2); // 2/s, bursts of 4
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let t = Instant::now();
        for _ in 0..4 {
            rl.check(ip, Group::Check, t).unwrap();
        }
        let wait = rl.check(ip, Group::Check, t).unwrap_err();
        assert!(
            wait <= Duration::from_millis(500) && wait > Duration::ZERO,
            "{wait:?}"
        );
        // Other groups and other clients have their own budget.
        rl.check(ip, Group::Push, t).unwrap();
        rl.check("10.0.0.2".parse().unwrap(), Group::Check, t)
            .unwrap();
        // Half a second later one more fits.
        rl.check(ip, Group::Check, t + Duration::from_millis(500))
            .unwrap();
        assert!(rl
            .check(ip, Group::Check, t + Duration::from_millis(500))
            .is_err());
    }
}
