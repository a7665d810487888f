//! State behind `--test-hooks`: per-order counters, injected faults and a
//! control channel to drop or feed live SSE/WebSocket subscriptions (and to
//! cut held long-poll requests).
//!
//! Kept apart from the [`Store`](crate::store::Store) and keyed by the order
//! number exactly as the server decoded it, so it also counts requests for
//! orders that do not exist. Without `--test-hooks` none of this is created
//! and the request paths skip it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::broadcast;

use crate::store::now_ms;

/// Orders tracked at most; past it, the least recently used probes with no
/// live connection are forgotten, so checks for made-up order numbers
/// cannot grow the state without bound.
pub const MAX_PROBES: usize = 4096;
/// Entries kept in `check_times_ms` and `last_event_ids` (the newest).
pub const MAX_HISTORY: usize = 1000;

/// Appends to a history list, dropping the oldest entries past the cap.
fn push_capped<T>(list: &mut Vec<T>, item: T) {
    if list.len() >= MAX_HISTORY {
        list.drain(..list.len() + 1 - MAX_HISTORY);
    }
    list.push(item);
}

/// Sent to every live SSE stream / WebSocket subscription of one order.
#[derive(Clone, Debug)]
pub enum Control {
    /// End the SSE body / close the WebSocket abruptly.
    Drop,
    /// Send this text verbatim (SSE `data:` without id; WS text frame).
    Push(String),
    /// Go silent without closing, as a half-open TCP connection does: no
    /// status, no heartbeat, no ping, until the client gives up on it.
    Blackhole,
}

/// How the next `/pay` answers for an order are corrupted.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
pub enum FailKind {
    /// 500 with a JSON error body.
    #[default]
    #[serde(rename = "500")]
    ServerError,
    /// 200 `text/html` `<html>oops</html>`.
    #[serde(rename = "html")]
    Html,
    /// 200 `text/plain` `not json`.
    #[serde(rename = "non_json")]
    NonJson,
    /// 200 `{"hello":"world"}`.
    #[serde(rename = "other_json")]
    OtherJson,
    /// 429 Too Many Requests, with `Retry-After` when `retry_after` is set.
    #[serde(rename = "429")]
    TooMany,
    /// 503 Service Unavailable, with `Retry-After` when `retry_after` is set.
    #[serde(rename = "503")]
    Unavailable,
}

/// Body of `POST /_test/orders/{no}/behavior`. Each field present replaces
/// the current setting; absent fields keep theirs.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BehaviorPatch {
    pub delay_ms: Option<u64>,
    pub ignore_wait: Option<bool>,
    pub fail_next: Option<u32>,
    pub fail_kind: Option<FailKind>,
    pub refuse_push: Option<bool>,
    pub retry_after: Option<String>,
    pub changes_only: Option<bool>,
    pub no_heartbeat: Option<bool>,
}

#[derive(Clone, Debug, Default)]
pub struct Behavior {
    pub delay_ms: u64,
    pub ignore_wait: bool,
    pub fail_next: u32,
    pub fail_kind: FailKind,
    pub refuse_push: bool,
    /// The `Retry-After` value of injected 429/503 answers (`""`: none).
    pub retry_after: String,
    /// SSE streams and WebSocket subscriptions opened from now on do not
    /// send the current status on open, only changes (the wire protocol
    /// allows this; the client's catch-up check must cover it).
    pub changes_only: bool,
    /// Push connections opened from now on send no application heartbeat.
    pub no_heartbeat: bool,
}

#[derive(Debug, Default)]
struct Stats {
    checks: u64,
    in_flight: u64,
    max_in_flight: u64,
    long_poll_waiting: u64,
    sse_open: u64,
    ws_open: u64,
    sse_connects: u64,
    ws_connects: u64,
    last_order_no: Option<String>,
    last_query: Option<String>,
    last_event_ids: Vec<String>,
    check_times_ms: Vec<u64>,
}

struct Probe {
    /// When this probe was last touched (a counter, for eviction order).
    used: u64,
    stats: Stats,
    behavior: Behavior,
    control: broadcast::Sender<Control>,
}

impl Default for Probe {
    fn default() -> Self {
        Probe {
            used: 0,
            stats: Stats::default(),
            behavior: Behavior::default(),
            control: broadcast::channel(64).0,
        }
    }
}

/// Which live counter a [`Gauge`] holds up.
#[derive(Clone, Copy, Debug)]
pub enum GaugeKind {
    InFlight,
    LongPollWaiting,
    SseOpen,
    WsOpen,
}

/// The test-hook registry.
#[derive(Default)]
pub struct Hooks {
    probes: Mutex<HashMap<String, Probe>>,
    clock: std::sync::atomic::AtomicU64,
}

impl Hooks {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, order_no: &str, f: impl FnOnce(&mut Probe) -> R) -> R {
        let mut probes = self.probes.lock().unwrap();
        if !probes.contains_key(order_no) {
            if probes.len() >= MAX_PROBES {
                evict_idle(&mut probes);
            }
            probes.insert(order_no.to_string(), Probe::default());
        }
        let probe = probes.get_mut(order_no).expect("just inserted");
        probe.used = self
            .clock
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f(probe)
    }

    /// Probes held right now (for tests).
    pub fn len(&self) -> usize {
        self.probes.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records one `/pay` check and counts it in flight until the returned
    /// gauge is dropped. Returns the behaviour in force for it.
    pub fn begin_check(self: &Arc<Self>, order_no: &str, raw_query: &str) -> (Gauge, Behavior) {
        let behavior = self.with(order_no, |p| {
            let s = &mut p.stats;
            s.checks += 1;
            s.in_flight += 1;
            s.max_in_flight = s.max_in_flight.max(s.in_flight);
            s.last_order_no = Some(order_no.to_string());
            s.last_query = Some(raw_query.to_string());
            push_capped(&mut s.check_times_ms, now_ms());
            p.behavior.clone()
        });
        let gauge = Gauge {
            hooks: self.clone(),
            order_no: order_no.to_string(),
            kind: GaugeKind::InFlight,
        };
        (gauge, behavior)
    }

    /// The behaviour in force for an order (for push connections opening).
    pub fn behavior(&self, order_no: &str) -> Behavior {
        self.with(order_no, |p| p.behavior.clone())
    }

    /// Consumes one injected failure, if any is pending.
    pub fn take_failure(&self, order_no: &str) -> Option<FailKind> {
        self.with(order_no, |p| {
            if p.behavior.fail_next > 0 {
                p.behavior.fail_next -= 1;
                Some(p.behavior.fail_kind)
            } else {
                None
            }
        })
    }

    /// Raises a live counter until the gauge is dropped.
    pub fn gauge(self: &Arc<Self>, order_no: &str, kind: GaugeKind) -> Gauge {
        self.with(order_no, |p| *p.stats.gauge_mut(kind) += 1);
        Gauge {
            hooks: self.clone(),
            order_no: order_no.to_string(),
            kind,
        }
    }

    /// Called when an SSE stream or WS subscription asks for an order.
    /// Counts the connect and returns `None` if `refuse_push` is on, else
    /// the control receiver the subscription must listen to.
    pub fn push_connect(
        &self,
        order_no: &str,
        sse_last_event_id: Option<Option<&str>>,
    ) -> Option<broadcast::Receiver<Control>> {
        self.with(order_no, |p| {
            match sse_last_event_id {
                Some(id) => {
                    p.stats.sse_connects += 1;
                    if let Some(id) = id {
                        push_capped(&mut p.stats.last_event_ids, id.to_string());
                    }
                }
                None => p.stats.ws_connects += 1,
            }
            (!p.behavior.refuse_push).then(|| p.control.subscribe())
        })
    }

    /// The control receiver of a held long-poll request (not counted as a
    /// connect): a `Drop` cuts it mid-response.
    pub fn long_poll_control(&self, order_no: &str) -> broadcast::Receiver<Control> {
        self.with(order_no, |p| p.control.subscribe())
    }

    pub fn patch_behavior(&self, order_no: &str, patch: BehaviorPatch) {
        self.with(order_no, |p| {
            let b = &mut p.behavior;
            if let Some(v) = patch.delay_ms {
                b.delay_ms = v;
            }
            if let Some(v) = patch.ignore_wait {
                b.ignore_wait = v;
            }
            if let Some(v) = patch.fail_next {
                b.fail_next = v;
            }
            if let Some(v) = patch.fail_kind {
                b.fail_kind = v;
            }
            if let Some(v) = patch.refuse_push {
                b.refuse_push = v;
            }
            if let Some(v) = patch.retry_after {
                b.retry_after = v;
            }
            if let Some(v) = patch.changes_only {
                b.changes_only = v;
            }
            if let Some(v) = patch.no_heartbeat {
                b.no_heartbeat = v;
            }
        });
    }

    /// Sends a control message to every live subscription of the order;
    /// returns how many received it.
    pub fn control(&self, order_no: &str, msg: Control) -> usize {
        self.with(order_no, |p| p.control.send(msg).unwrap_or(0))
    }

    pub fn stats_json(&self, order_no: &str) -> Value {
        self.with(order_no, |p| {
            let s = &p.stats;
            json!({
                "checks": s.checks,
                "in_flight": s.in_flight,
                "max_in_flight": s.max_in_flight,
                "long_poll_waiting": s.long_poll_waiting,
                "sse_open": s.sse_open,
                "ws_open": s.ws_open,
                "sse_connects": s.sse_connects,
                "ws_connects": s.ws_connects,
                "last_order_no": s.last_order_no,
                "last_query": s.last_query,
                "last_event_ids": s.last_event_ids,
                "check_times_ms": s.check_times_ms,
            })
        })
    }
}

/// Forgets the older half of the probes that have no live connection.
fn evict_idle(probes: &mut HashMap<String, Probe>) {
    let mut idle: Vec<(u64, String)> = probes
        .iter()
        .filter(|(_, p)| p.is_idle())
        .map(|(k, p)| (p.used, k.clone()))
        .collect();
    idle.sort_unstable();
    for (_, key) in idle.iter().take(idle.len().div_ceil(2)) {
        probes.remove(key);
    }
}

impl Probe {
    /// Nothing live refers to it: no open stream, socket, held or running
    /// check.
    fn is_idle(&self) -> bool {
        let s = &self.stats;
        self.control.receiver_count() == 0
            && s.in_flight == 0
            && s.long_poll_waiting == 0
            && s.sse_open == 0
            && s.ws_open == 0
    }
}

impl Stats {
    fn gauge_mut(&mut self, kind: GaugeKind) -> &mut u64 {
        match kind {
            GaugeKind::InFlight => &mut self.in_flight,
            GaugeKind::LongPollWaiting => &mut self.long_poll_waiting,
            GaugeKind::SseOpen => &mut self.sse_open,
            GaugeKind::WsOpen => &mut self.ws_open,
        }
    }
}

/// RAII guard for a live counter: decrements it when dropped, however the
/// request, stream or socket ends.
pub struct Gauge {
    hooks: Arc<Hooks>,
    order_no: String,
    kind: GaugeKind,
}

impl Drop for Gauge {
    fn drop(&mut self) {
        let kind = self.kind;
        self.hooks.with(&self.order_no, |p| {
            let g = p.stats.gauge_mut(kind);
            *g = g.saturating_sub(1);
        });
    }
}

#[cfg(test)]
mod bounds {
    use super::*;

    #[test]
    fn probes_and_histories_stay_bounded() {
        let hooks = Arc::new(Hooks::new());
        let live = hooks.gauge("live", GaugeKind::SseOpen);
        for i in 0..3 * MAX_PROBES {
            let (_gauge, _) = hooks.begin_check(&format!("made-up-{i}"), "");
        }
        assert!(hooks.len() <= MAX_PROBES, "{} probes", hooks.len());
        assert_eq!(hooks.stats_json("live")["sse_open"], 1, "live probes stay");
        drop(live);
        for _ in 0..MAX_HISTORY + 10 {
            let _ = hooks.begin_check("busy", "");
        }
        let s = hooks.stats_json("busy");
        assert_eq!(s["checks"], (MAX_HISTORY + 10) as u64);
        assert_eq!(s["check_times_ms"].as_array().unwrap().len(), MAX_HISTORY);
    }
}
