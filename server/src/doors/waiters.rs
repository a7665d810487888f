//! The per-client-address cap on live waiters (held long-polls, SSE
//! streams, WebSockets and their subscriptions).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::response::Response;

use super::client_key;
use super::rate::too_many;

/// Counts live waiters per client key and refuses more than the cap.
pub struct Waiters {
    max: usize,
    counts: Mutex<HashMap<IpAddr, usize>>,
}

/// One live waiter; gives its place back when dropped.
#[must_use = "the place is given back when this is dropped"]
pub struct WaiterSlot {
    waiters: Arc<Waiters>,
    key: IpAddr,
}

impl Waiters {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Waiters {
            max,
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// A place for one more waiter of this client, or `None` at the cap.
    pub fn acquire(self: &Arc<Self>, ip: IpAddr) -> Option<WaiterSlot> {
        let key = client_key(ip);
        let mut counts = self.counts.lock().unwrap();
        let n = counts.entry(key).or_insert(0);
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(WaiterSlot {
            waiters: self.clone(),
            key,
        })
    }

    /// Live waiters of this client (for tests).
    pub fn count(&self, ip: IpAddr) -> usize {
        let counts = self.counts.lock().unwrap();
        counts.get(&client_key(ip)).copied().unwrap_or(0)
    }
}

impl Drop for WaiterSlot {
    fn drop(&mut self) {
        let mut counts = self.waiters.counts.lock().unwrap();
        if let Some(n) = counts.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// The refusal when a client is at its waiter cap.
pub fn too_many_waiters() -> Response {
    too_many(
        "too many open waiters from this address",
        Duration::from_secs(5),
    )
}

pub(super) fn asks_to_wait(query: &str) -> bool {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "wait")
        .is_some_and(|(_, v)| v.parse::<f64>().is_ok_and(|w| w > 0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiter_cap_and_release() {
        let w = Waiters::new(2);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        let a = w.acquire(ip).unwrap();
        let _b = w.acquire(ip).unwrap();
        assert!(w.acquire(ip).is_none());
        assert!(w.acquire("10.0.0.2".parse().unwrap()).is_some());
        drop(a);
        assert_eq!(w.count(ip), 1);
        assert!(w.acquire(ip).is_some());
    }

    #[test]
    fn which_checks_wait() {
        assert!(asks_to_wait("action=x&order_no=1&wait=25"));
        assert!(!asks_to_wait("action=x&order_no=1&wait=0"));
        assert!(!asks_to_wait("action=x&order_no=1"));
        assert!(!asks_to_wait("wait=abc"));
    }
}
