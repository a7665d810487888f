//! Prometheus metrics (`paywatch_…`), rendered as text for `/metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NotificationLabels {
    platform: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SourceLabels {
    source: &'static str,
}

/// Every counter the server keeps. One per server (in [`AppState`](crate::AppState)).
pub struct Metrics {
    registry: Registry,
    notifications: Family<NotificationLabels, Counter>,
    status_changes: Family<SourceLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("paywatch");
        let notifications = Family::<NotificationLabels, Counter>::default();
        registry.register(
            "notifications",
            "Payment notifications by platform and result (accepted, duplicate, ignored, forged, malformed, amount_mismatch)",
            notifications.clone(),
        );
        let status_changes = Family::<SourceLabels, Counter>::default();
        registry.register(
            "status_changes",
            "Orders moved to a final status, by source (api, wechatpay, alipay, demo, expiry)",
            status_changes.clone(),
        );
        Metrics {
            registry,
            notifications,
            status_changes,
        }
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

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}
