//! Prometheus metrics (`paywatch_…`), rendered as text for the admin
//! listener's `/metrics` (`--admin-listen`), never on the public one.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotificationLabels {
    platform: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabels {
    transport: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    /// The route template (`/api/orders/{no}`), never the path itself.
    route: String,
    code: u16,
}

/// What a waiter watches through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    LongPoll,
    Sse,
    WebSocket,
}

impl Transport {
    fn label(self) -> &'static str {
        match self {
            Transport::LongPoll => "long_poll",
            Transport::Sse => "sse",
            Transport::WebSocket => "websocket",
        }
    }
}

/// Every metric the server keeps. One per server (in [`AppState`](crate::AppState)).
pub struct Metrics {
    registry: Registry,
    notifications: Family<NotificationLabels, Counter>,
    status_changes: Family<SourceLabels, Counter>,
    waiters: Family<TransportLabels, Gauge>,
    connections_opened: Counter,
    connections_closed: Counter,
    requests: Family<RequestLabels, Counter>,
    told: Histogram,
    redis_connected: Gauge,
    redis_reconnects: Counter,
    store_errors: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut r = Registry::with_prefix("paywatch");
        let notifications = Family::<NotificationLabels, Counter>::default();
        r.register(
            "notifications",
            "Payment notifications by platform and result (accepted, duplicate, ignored, forged, malformed, amount_mismatch)",
            notifications.clone(),
        );
        let status_changes = Family::<SourceLabels, Counter>::default();
        r.register(
            "status_changes",
            "Orders moved to a final status, by source (api, wechatpay, alipay, demo, expiry; expiry in memory and sqlite only)",
            status_changes.clone(),
        );
        let waiters = Family::<TransportLabels, Gauge>::default();
        r.register(
            "waiters",
            "Open waiters by transport (held long-polls, SSE streams, WebSocket subscriptions)",
            waiters.clone(),
        );
        let connections_opened = Counter::default();
        r.register(
            "connections_opened",
            "TCP connections accepted on the public listener",
            connections_opened.clone(),
        );
        let connections_closed = Counter::default();
        r.register(
            "connections_closed",
            "TCP connections of the public listener that ended",
            connections_closed.clone(),
        );
        let requests = Family::<RequestLabels, Counter>::default();
        r.register(
            "http_requests",
            "HTTP requests answered, by route template and status code",
            requests.clone(),
        );
        // 0.1 ms … about 3.3 s.
        let told = Histogram::new(exponential_buckets(0.000_1, 2.0, 16));
        r.register_with_unit(
            "status_told",
            "From a paid status recorded to a waiter told",
            Unit::Seconds,
            told.clone(),
        );
        let redis_connected = Gauge::default();
        r.register(
            "redis_connected",
            "1 while the Redis store reads its stream of changes, else 0 (also 0 without --redis)",
            redis_connected.clone(),
        );
        let redis_reconnects = Counter::default();
        r.register(
            "redis_reconnects",
            "Times the Redis store came back after an outage",
            redis_reconnects.clone(),
        );
        let store_errors = Counter::default();
        r.register(
            "store_errors",
            "Store operations that failed (Redis unreachable or timed out)",
            store_errors.clone(),
        );
        Metrics {
            registry: r,
            notifications,
            status_changes,
            waiters,
            connections_opened,
            connections_closed,
            requests,
            told,
            redis_connected,
            redis_reconnects,
            store_errors,
        }
    }
}

/// One open waiter in `paywatch_waiters`, until dropped.
#[must_use = "the waiter is counted until this is dropped"]
pub struct Waiting(Gauge);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// One open connection in the opened/closed counters; counted closed when
/// dropped.
#[must_use = "the connection is counted closed when this is dropped"]
pub struct Connection(Counter);

impl Drop for Connection {
    fn drop(&mut self) {
        self.0.inc();
    }
}

impl Metrics {
    pub fn notification(&self, platform: &'static str, result: &'static str) {
        self.notifications
            .get_or_create(&NotificationLabels { platform, result })
            .inc();
    }

    pub fn status_change(&self, source: &'static str) {
        self.status_changes
            .get_or_create(&SourceLabels { source })
            .inc();
    }

    /// How many notifications of `platform` ended as `result` so far.
    pub fn notifications(&self, platform: &'static str, result: &'static str) -> u64 {
        self.notifications
            .get_or_create(&NotificationLabels { platform, result })
            .get()
    }

    /// Counts a waiter of `transport` while the result lives.
    pub fn waiting(&self, transport: Transport) -> Waiting {
        let gauge = self
            .waiters
            .get_or_create(&TransportLabels {
                transport: transport.label(),
            })
            .clone();
        gauge.inc();
        Waiting(gauge)
    }

    /// Counts a connection opened; it is counted closed when the result drops.
    pub fn connection(&self) -> Connection {
        self.connections_opened.inc();
        Connection(self.connections_closed.clone())
    }

    pub fn request(&self, route: &str, code: u16) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_owned(),
                code,
            })
            .inc();
    }

    /// A waiter was told, at `now_ms`, a change it waited for: how long
    /// after the paid status was recorded (`paid_at_ms`; other changes have
    /// none and are not observed). Both in Unix milliseconds.
    pub fn told(&self, paid_at_ms: Option<u64>, now_ms: u64) {
        if let Some(paid_at) = paid_at_ms {
            let ms = now_ms.saturating_sub(paid_at);
            self.told.observe(ms as f64 / 1000.0);
        }
    }

    /// The Redis store connected at start (not a reconnect).
    pub fn redis_started(&self) {
        self.redis_connected.set(1);
    }

    /// The Redis store's stream reader failed (`false`) or read again.
    pub fn redis_connected(&self, up: bool) {
        let was = self.redis_connected.set(i64::from(up));
        if up && was == 0 {
            self.redis_reconnects.inc();
        }
    }

    pub fn store_error(&self) {
        self.store_errors.inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
