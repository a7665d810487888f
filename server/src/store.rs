//! The order store: one [`Store`] interface for the routes, backed either by
//! the embedded in-memory [`MemoryStore`] (the default) or, with
//! `--redis redis://…`, by Redis ([`redis::RedisStore`]) so that several
//! instances behind a load balancer share orders and wake each other's
//! waiters.
//!
//! Whatever the backing, a waiter is a [`watch::Receiver`] of the order's
//! [`Snapshot`], and a snapshot's `version` (+1 per status change) is the
//! same on every instance.
//!
//! In memory, each order owns a [`tokio::sync::watch`] channel holding its current
//! [`Snapshot`]. Every status change is one `send` on that channel, and every
//! waiter — a held long-poll request, an SSE stream, a WebSocket
//! subscription — is a `watch::Receiver` that wakes on that send. Nothing in
//! the server polls.
//!
//! Memory stays bounded: at most `max_orders` orders, and an order is
//! forgotten `keep_ended` after it ends (paid, closed or expired); a waiter
//! still subscribed then sees its channel close.
//!
//! The Redis backing keeps the same shape: the status change is written to
//! Redis atomically (a Lua script) together with an entry in one stream of
//! changes, and one task per instance reads that stream and feeds the
//! in-process channels. See [`redis`] and the README.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::sync::watch;

use crate::metrics::Metrics;

/// Lifecycle of an order. `Pending` is the only non-final state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    Paid,
    Closed,
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Paid => "paid",
            Status::Closed => "closed",
            Status::Expired => "expired",
        }
    }

    pub fn is_final(self) -> bool {
        self != Status::Pending
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "pending" => Status::Pending,
            "paid" => Status::Paid,
            "closed" => Status::Closed,
            "expired" => Status::Expired,
            _ => return None,
        })
    }
}

/// Which door moved an order to its final status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The shop's backend, `PUT /api/orders/{no}/status`.
    Api,
    /// A verified WeChat Pay notification.
    Wechatpay,
    /// A verified Alipay notification.
    Alipay,
    /// `--demo-endpoints` and the test hooks.
    Demo,
    /// Its time ran out.
    Expiry,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::Wechatpay => "wechatpay",
            Source::Alipay => "alipay",
            Source::Demo => "demo",
            Source::Expiry => "expiry",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        Some(match s {
            "api" => Source::Api,
            "wechatpay" => Source::Wechatpay,
            "alipay" => Source::Alipay,
            "demo" => Source::Demo,
            "expiry" => Source::Expiry,
            _ => return None,
        })
    }
}

/// What the shop said about an order, and how it ended. Never part of the
/// status body a watcher sees; `GET /api/orders/{no}` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Details {
    /// In the smallest currency unit (fen); notifications must match it.
    pub amount: Option<u64>,
    /// The lifetime it was created with (`None`: recorded by a status).
    pub ttl_ms: Option<u64>,
    /// When it was marked paid, ms since the epoch.
    pub paid_at: Option<u64>,
    /// What ended it.
    pub source: Option<Source>,
}

/// A new order, as `POST /api/orders` or the demo's `POST /orders` asks.
#[derive(Clone, Debug, Default)]
pub struct NewOrder {
    /// `None` generates an unguessable number.
    pub order_no: Option<String>,
    pub ttl: Duration,
    pub amount: Option<u64>,
}

/// The answer of a create: the order, and whether this call made it
/// (`false`: it existed with the same fields).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Created {
    pub snapshot: Snapshot,
    pub created: bool,
}

/// The answer of a status change: the order after it, and whether this call
/// changed it (`false`: it already had that status; nobody is told again).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub snapshot: Snapshot,
    pub changed: bool,
}

/// Asked to move an order to a final status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SetStatus {
    pub target: Status,
    pub source: Source,
    /// Record an order this server never saw, with that status, so a
    /// watcher that comes later is told (`/api` and the notify doors).
    pub record_unknown: bool,
}

/// One observed state of an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub order_no: String,
    pub status: Status,
    /// Milliseconds since the Unix epoch.
    pub expires_at: u64,
    /// Starts at 1, +1 on every status change. Used as the SSE event id.
    pub version: u64,
    pub details: Details,
}

impl Snapshot {
    /// [`body`](Self::body) as JSON text, written directly (no `Value` in
    /// between): what every check, SSE event and WebSocket frame sends.
    pub fn body_text(&self) -> String {
        #[derive(serde::Serialize)]
        struct Body<'a> {
            payed: u8,
            status: &'a str,
            order_no: &'a str,
            expires_at: u64,
        }
        serde_json::to_string(&Body {
            payed: u8::from(self.status == Status::Paid),
            status: self.status.as_str(),
            order_no: &self.order_no,
            expires_at: self.expires_at,
        })
        .expect("a status body serializes")
    }

    /// What `GET /api/orders/{no}` answers: the status with the details.
    pub fn api_body(&self) -> Value {
        let mut body = json!({
            "order_no": self.order_no,
            "status": self.status.as_str(),
            "expires_at": self.expires_at,
        });
        if let Some(amount) = self.details.amount {
            body["amount"] = amount.into();
        }
        if let Some(at) = self.details.paid_at {
            body["paid_at"] = at.into();
        }
        if let Some(source) = self.details.source {
            body["source"] = source.as_str().into();
        }
        body
    }

    /// A new order's first state.
    pub fn pending(order_no: String, expires_at: u64, amount: Option<u64>, ttl_ms: u64) -> Self {
        Snapshot {
            order_no,
            status: Status::Pending,
            expires_at,
            version: 1,
            details: Details {
                amount,
                ttl_ms: Some(ttl_ms),
                ..Details::default()
            },
        }
    }

    /// Whether a create asking for `new` finds this order the same.
    fn same_fields(&self, amount: Option<u64>, ttl_ms: u64) -> bool {
        self.details.amount == amount && self.details.ttl_ms == Some(ttl_ms)
    }

    /// The status body of the wire protocol (CONTRACT §2).
    pub fn body(&self) -> Value {
        json!({
            "payed": u8::from(self.status == Status::Paid),
            "status": self.status.as_str(),
            "order_no": self.order_no,
            "expires_at": self.expires_at,
        })
    }
}

/// The backing store cannot be reached right now (Redis down or
/// restarting): the routes answer `503` with `Retry-After`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unavailable;

/// Why a create failed.
#[derive(Debug, PartialEq, Eq)]
pub enum CreateError {
    Empty,
    /// Longer than [`MAX_ORDER_NO_BYTES`](crate::limits::MAX_ORDER_NO_BYTES).
    TooLong,
    /// The number is taken (the demo's create, which is not idempotent).
    Exists,
    /// The number is taken by an order with other fields.
    Differs,
    /// The store holds `max_orders` already.
    Full,
    /// The system's random source failed (no number could be generated).
    NoRandomness,
    Unavailable,
}

/// Why a status change failed.
#[derive(Debug, PartialEq, Eq)]
pub enum ChangeError {
    Unknown,
    /// The order is already in a state that forbids the change.
    Conflict(Status),
    /// Recording an unknown order would pass `max_orders`.
    Full,
    Unavailable,
}

impl From<Unavailable> for CreateError {
    fn from(_: Unavailable) -> Self {
        CreateError::Unavailable
    }
}

impl From<Unavailable> for ChangeError {
    fn from(_: Unavailable) -> Self {
        ChangeError::Unavailable
    }
}

struct Order {
    tx: watch::Sender<Snapshot>,
    /// Where an expiry is logged and counted (the other changes are, by
    /// [`AppState::set_status`](crate::AppState::set_status)).
    metrics: Arc<Metrics>,
}

impl Order {
    /// Applies `target` if allowed. Returns the snapshot after the call.
    ///
    /// Rules: pending → any final state; a change to the state the order is
    /// already in is a no-op (idempotent pay/close); any other change of a
    /// final order is a conflict. Expiry is applied
    /// first when its time has passed, so a pay after `expires_at` conflicts
    /// even if the expiry timer has not fired yet.
    fn change(&self, target: Status, source: Source) -> Result<Change, ChangeError> {
        self.expire_if_due();
        let mut result = Ok(false);
        self.tx.send_if_modified(|s| match (s.status, target) {
            (Status::Pending, t) if t != Status::Pending => {
                finish(s, t, source, now_ms());
                result = Ok(true);
                true
            }
            (current, t) if current == t => false,
            (current, _) => {
                result = Err(ChangeError::Conflict(current));
                false
            }
        });
        result.map(|changed| Change {
            snapshot: self.tx.borrow().clone(),
            changed,
        })
    }

    fn expire_if_due(&self) {
        let now = now_ms();
        // A read first: the write lock below is only worth taking when due.
        let due = {
            let s = self.tx.borrow();
            s.status == Status::Pending && now >= s.expires_at
        };
        if !due {
            return;
        }
        let expired = self.tx.send_if_modified(|s| {
            if s.status == Status::Pending && now >= s.expires_at {
                finish(s, Status::Expired, Source::Expiry, now);
                true
            } else {
                false
            }
        });
        if expired {
            let order_no = self.tx.borrow().order_no.clone();
            tracing::info!(
                order_no,
                from = "pending",
                to = "expired",
                source = "expiry",
                "status changed"
            );
            self.metrics.status_change(Source::Expiry.as_str());
        }
    }
}

/// Moves a pending snapshot to its final status.
fn finish(s: &mut Snapshot, status: Status, source: Source, now: u64) {
    s.status = status;
    s.version += 1;
    s.details.source = Some(source);
    if status == Status::Paid {
        s.details.paid_at = Some(now);
    }
}

type OrderMap = Mutex<HashMap<String, Arc<Order>>>;

/// The order store the routes use. Cheap to share: wrap it in an `Arc`.
pub enum Store {
    /// The embedded default: one process, nothing to run beside it.
    Memory(MemoryStore),
    /// `--redis`: orders in Redis, changes fanned out to every instance.
    Redis(redis::RedisStore),
    /// `--store sqlite:PATH`: one process, orders kept across restarts.
    Sqlite(sqlite::SqliteStore),
}

impl Store {
    /// Creates a pending order (see [`MemoryStore::create`]).
    pub async fn create(&self, new: NewOrder) -> Result<Created, CreateError> {
        match self {
            Store::Memory(m) => m.create_order(new),
            Store::Redis(r) => r.create(new).await,
            Store::Sqlite(s) => s.create(new).await,
        }
    }

    /// Current state, or `None` for an unknown order.
    pub async fn get(&self, order_no: &str) -> Result<Option<Snapshot>, Unavailable> {
        match self {
            Store::Memory(m) => Ok(m.get(order_no)),
            Store::Redis(r) => r.get(order_no).await,
            Store::Sqlite(s) => s.get(order_no).await,
        }
    }

    /// A receiver that holds the current state (read after subscribing, so
    /// no change can slip between the two) and sees every later change.
    pub async fn subscribe(
        &self,
        order_no: &str,
    ) -> Result<Option<watch::Receiver<Snapshot>>, Unavailable> {
        match self {
            Store::Memory(m) => Ok(m.subscribe(order_no)),
            Store::Redis(r) => r.subscribe(order_no).await,
            Store::Sqlite(s) => s.subscribe(order_no).await,
        }
    }

    /// Moves an order to a final status, telling every waiter once.
    pub async fn set(&self, order_no: &str, set: SetStatus) -> Result<Change, ChangeError> {
        match self {
            Store::Memory(m) => m.set(order_no, set),
            Store::Redis(r) => r.set(order_no, set).await,
            Store::Sqlite(s) => s.set(order_no, set).await,
        }
    }

    /// `false` while the backing is known to be unreachable (Redis down, or
    /// back but not yet re-read): a held long-poll then answers `503`
    /// rather than a status that may be stale. Always `true` in memory.
    pub fn healthy(&self) -> bool {
        match self {
            Store::Memory(_) | Store::Sqlite(_) => true,
            Store::Redis(r) => r.healthy(),
        }
    }

    /// Whether the store answers now (`/readyz`): always in memory; for
    /// Redis, a healthy stream reader and a `PING` answered in time.
    pub async fn ready(&self) -> bool {
        match self {
            Store::Memory(_) => true,
            Store::Redis(r) => r.healthy() && r.ping().await,
            Store::Sqlite(s) => s.ready().await,
        }
    }
}

pub mod redis;
pub mod sqlite;

/// The embedded in-memory order store. Cheap to share: wrap it in an `Arc`.
pub struct MemoryStore {
    orders: Arc<OrderMap>,
    max_orders: usize,
    keep_ended: Duration,
    metrics: Arc<Metrics>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        let limits = crate::limits::Limits::default();
        Self::with_limits(limits.max_orders, limits.keep_ended)
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A store of at most `max_orders` orders, each forgotten `keep_ended`
    /// after it reaches a final state.
    pub fn with_limits(max_orders: usize, keep_ended: Duration) -> Self {
        MemoryStore {
            orders: Arc::default(),
            max_orders,
            keep_ended,
            metrics: Arc::default(),
        }
    }

    /// Expiries are logged and counted in `metrics` (the server's).
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Orders held right now.
    pub fn len(&self) -> usize {
        self.orders.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Creates a pending order. `order_no: None` generates an unguessable
    /// one (`PW20261122-` and 16 random base-32 digits, 80 bits). Spawns the
    /// order's lifecycle timer, so it must be called inside a Tokio runtime.
    ///
    /// A number that exists already answers the same order (`created:
    /// false`) when the fields are the same, else [`CreateError::Differs`].
    pub fn create_order(&self, new: NewOrder) -> Result<Created, CreateError> {
        let ttl_ms: u64 = new.ttl.as_millis().try_into().unwrap_or(u64::MAX);
        let expires_at = now_ms().saturating_add(ttl_ms);
        let mut orders = self.orders.lock().unwrap();
        let order_no = match new.order_no {
            Some(no) if no.is_empty() => return Err(CreateError::Empty),
            Some(no) if no.len() > crate::limits::MAX_ORDER_NO_BYTES => {
                return Err(CreateError::TooLong)
            }
            Some(no) if orders.contains_key(&no) => {
                let snapshot = orders[&no].tx.borrow().clone();
                return if snapshot.same_fields(new.amount, ttl_ms) {
                    Ok(Created {
                        snapshot,
                        created: false,
                    })
                } else {
                    Err(CreateError::Differs)
                };
            }
            Some(no) => no,
            None => loop {
                let candidate = random_order_no().ok_or(CreateError::NoRandomness)?;
                if !orders.contains_key(&candidate) {
                    break candidate;
                }
            },
        };
        if orders.len() >= self.max_orders {
            return Err(CreateError::Full);
        }
        let snapshot = Snapshot::pending(order_no, expires_at, new.amount, ttl_ms);
        self.insert(&mut orders, snapshot.clone());
        Ok(Created {
            snapshot,
            created: true,
        })
    }

    /// Adds an order and spawns its lifecycle timer.
    fn insert(&self, orders: &mut HashMap<String, Arc<Order>>, snapshot: Snapshot) {
        let order_no = snapshot.order_no.clone();
        let (tx, _) = watch::channel(snapshot);
        let order = Arc::new(Order {
            tx,
            metrics: self.metrics.clone(),
        });
        orders.insert(order_no, order.clone());
        tokio::spawn(lifecycle(
            order,
            Arc::downgrade(&self.orders),
            self.keep_ended,
        ));
    }

    /// Whether the order is held right now.
    pub fn contains(&self, order_no: &str) -> bool {
        self.orders.lock().unwrap().contains_key(order_no)
    }

    /// Adds an order read back from a durable copy, unless one of that
    /// number is held already; an overdue pending one expires at once.
    pub fn load(&self, snapshot: Snapshot) {
        let mut orders = self.orders.lock().unwrap();
        if !orders.contains_key(&snapshot.order_no) {
            self.insert(&mut orders, snapshot);
        }
    }

    fn order(&self, order_no: &str) -> Option<Arc<Order>> {
        let order = self.orders.lock().unwrap().get(order_no).cloned()?;
        order.expire_if_due();
        Some(order)
    }

    /// Current state, or `None` for an unknown order.
    pub fn get(&self, order_no: &str) -> Option<Snapshot> {
        self.order(order_no).map(|o| o.tx.borrow().clone())
    }

    /// A receiver that sees the current state and every later change.
    pub fn subscribe(&self, order_no: &str) -> Option<watch::Receiver<Snapshot>> {
        self.order(order_no).map(|o| o.tx.subscribe())
    }

    /// See [`Store::set`].
    pub fn set(&self, order_no: &str, set: SetStatus) -> Result<Change, ChangeError> {
        if let Some(order) = self.order(order_no) {
            return order.change(set.target, set.source);
        }
        if !set.record_unknown {
            return Err(ChangeError::Unknown);
        }
        let mut orders = self.orders.lock().unwrap();
        if let Some(order) = orders.get(order_no).cloned() {
            // Created meanwhile.
            drop(orders);
            return order.change(set.target, set.source);
        }
        if orders.len() >= self.max_orders {
            return Err(ChangeError::Full);
        }
        let now = now_ms();
        let mut snapshot = Snapshot::pending(order_no.to_owned(), now, None, 0);
        snapshot.details.ttl_ms = None;
        finish(&mut snapshot, set.target, set.source, now);
        self.insert(&mut orders, snapshot.clone());
        Ok(Change {
            snapshot,
            changed: true,
        })
    }

    /// The demo's change (tests): known orders only.
    pub fn demo_set(&self, order_no: &str, target: Status) -> Result<Snapshot, ChangeError> {
        let set = SetStatus {
            target,
            source: Source::Demo,
            record_unknown: false,
        };
        Ok(self.set(order_no, set)?.snapshot)
    }
}

/// An order's timer: expires it at `expires_at` if still pending, then
/// forgets it `keep_ended` after it ended, however it ended.
async fn lifecycle(order: Arc<Order>, orders: Weak<OrderMap>, keep_ended: Duration) {
    expiry_timer(&order).await;
    tokio::time::sleep(keep_ended).await;
    let Some(orders) = orders.upgrade() else {
        return;
    };
    let mut orders = orders.lock().unwrap();
    let no = order.tx.borrow().order_no.clone();
    if orders.get(&no).is_some_and(|o| Arc::ptr_eq(o, &order)) {
        orders.remove(&no);
    }
}

/// Sleeps until the order's `expires_at`, then expires it if still pending.
/// Ends early when the order reaches a final state some other way.
async fn expiry_timer(order: &Order) {
    let mut rx = order.tx.subscribe();
    let expires_at = rx.borrow().expires_at;
    let wait = Duration::from_millis(expires_at.saturating_sub(now_ms()));
    tokio::select! {
        _ = tokio::time::sleep(wait) => {
            // Timers can fire a hair early relative to the wall clock; make sure
            // `expire_if_due` sees the deadline as passed.
            let late = expires_at.saturating_sub(now_ms());
            if late > 0 {
                tokio::time::sleep(Duration::from_millis(late)).await;
            }
            order.expire_if_due();
        }
        _ = wait_final(&mut rx) => {}
    }
}

/// Resolves once the order is in a final state (or the store dropped it).
pub async fn wait_final(rx: &mut watch::Receiver<Snapshot>) {
    let _ = rx.wait_for(|s| s.status.is_final()).await;
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `PW20261122-` plus 16 digits of Crockford base 32 from the system's
/// random source: 80 bits, so nobody finds another's order by counting.
pub(crate) fn random_order_no() -> Option<String> {
    const DIGITS: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes).ok()?;
    let bits = bytes
        .iter()
        .fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
    let digits: String = (0..16)
        .map(|i| char::from(DIGITS[((bits >> (75 - 5 * i)) & 31) as usize]))
        .collect();
    Some(format!("PW{}-{digits}", yyyymmdd(now_ms())))
}

/// `20261122` for a UTC timestamp in ms (civil-from-days, H. Hinnant).
fn yyyymmdd(ms: u64) -> String {
    let days = (ms / 86_400_000) as i64;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}{m:02}{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The old shape of the calls, for brevity below.
    impl MemoryStore {
        fn create(&self, order_no: Option<String>, ttl: Duration) -> Result<Snapshot, CreateError> {
            let new = NewOrder {
                order_no,
                ttl,
                amount: None,
            };
            self.create_order(new).map(|c| c.snapshot)
        }
        fn pay(&self, no: &str) -> Result<Snapshot, ChangeError> {
            self.demo_set(no, Status::Paid)
        }
        fn close(&self, no: &str) -> Result<Snapshot, ChangeError> {
            self.demo_set(no, Status::Closed)
        }
    }

    #[test]
    fn dates() {
        assert_eq!(yyyymmdd(0), "19700101");
        assert_eq!(yyyymmdd(1_795_305_600_000), "20261122");
        assert_eq!(yyyymmdd(951_782_400_000), "20000229");
    }

    #[tokio::test]
    async fn lifecycle() {
        let store = MemoryStore::new();
        let a = store.create(None, Duration::from_secs(60)).unwrap();
        let b = store.create(None, Duration::from_secs(60)).unwrap();
        assert_ne!(a.order_no, b.order_no);
        assert!(a.order_no.starts_with("PW"));
        assert_eq!(a.version, 1);
        assert_eq!(
            store.create(Some(a.order_no.clone()), Duration::ZERO),
            Err(CreateError::Differs)
        );
        assert_eq!(
            store.create(Some(String::new()), Duration::ZERO),
            Err(CreateError::Empty)
        );

        let paid = store.pay(&a.order_no).unwrap();
        assert_eq!((paid.status, paid.version), (Status::Paid, 2));
        let again = store.pay(&a.order_no).unwrap();
        assert_eq!(again.version, 2, "paying twice does not bump the version");
        assert_eq!(
            store.close(&a.order_no),
            Err(ChangeError::Conflict(Status::Paid))
        );

        let closed = store.close(&b.order_no).unwrap();
        assert_eq!(closed.status, Status::Closed);
        assert_eq!(
            store.pay(&b.order_no),
            Err(ChangeError::Conflict(Status::Closed))
        );
        assert_eq!(store.pay("nope"), Err(ChangeError::Unknown));
    }

    #[tokio::test]
    async fn generated_numbers_are_random_and_caps_hold() {
        let store = MemoryStore::with_limits(3, Duration::from_secs(60));
        let a = store
            .create(None, Duration::from_secs(60))
            .unwrap()
            .order_no;
        let b = store
            .create(None, Duration::from_secs(60))
            .unwrap()
            .order_no;
        assert_eq!(a.len(), "PW20261122-".len() + 16, "{a}");
        assert_ne!(a[11..], b[11..]);
        assert_eq!(
            store.create(Some("x".repeat(129)), Duration::ZERO),
            Err(CreateError::TooLong)
        );
        store.create(Some("x".repeat(128)), Duration::ZERO).unwrap();
        assert_eq!(store.create(None, Duration::ZERO), Err(CreateError::Full));
    }

    #[tokio::test]
    async fn ended_orders_are_forgotten() {
        let store = MemoryStore::with_limits(10, Duration::from_millis(50));
        store
            .create(Some("p".into()), Duration::from_secs(60))
            .unwrap();
        store
            .create(Some("e".into()), Duration::from_millis(20))
            .unwrap();
        store
            .create(Some("open".into()), Duration::from_secs(60))
            .unwrap();
        let mut rx = store.subscribe("p").unwrap();
        store.pay("p").unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(store.get("p").is_none() && store.get("e").is_none());
        assert!(store.get("open").is_some(), "pending orders stay");
        assert_eq!(store.len(), 1);
        // A waiter that was still subscribed learns the channel is gone.
        rx.borrow_and_update();
        assert!(rx.changed().await.is_err());
        // The number can be used again.
        store
            .create(Some("p".into()), Duration::from_secs(60))
            .unwrap();
    }

    #[tokio::test]
    async fn expiry_wakes_receivers() {
        let store = MemoryStore::new();
        let o = store
            .create(Some("e".into()), Duration::from_millis(50))
            .unwrap();
        let mut rx = store.subscribe(&o.order_no).unwrap();
        let s = tokio::time::timeout(Duration::from_secs(2), rx.wait_for(|s| s.status.is_final()))
            .await
            .unwrap()
            .unwrap()
            .clone();
        assert_eq!((s.status, s.version), (Status::Expired, 2));
        assert_eq!(store.pay("e"), Err(ChangeError::Conflict(Status::Expired)));
    }
}

#[cfg(test)]
mod api_tests {
    use super::*;

    fn api(target: Status) -> SetStatus {
        SetStatus {
            target,
            source: Source::Api,
            record_unknown: true,
        }
    }

    #[tokio::test]
    async fn create_is_idempotent_on_the_same_fields() {
        let store = MemoryStore::new();
        let new = NewOrder {
            order_no: Some("A1".into()),
            ttl: Duration::from_secs(60),
            amount: Some(8800),
        };
        let first = store.create_order(new.clone()).unwrap();
        assert!(first.created);
        let again = store.create_order(new.clone()).unwrap();
        assert!(!again.created);
        assert_eq!(again.snapshot, first.snapshot);
        let other = NewOrder {
            amount: Some(1),
            ..new
        };
        assert_eq!(store.create_order(other), Err(CreateError::Differs));
    }

    #[tokio::test]
    async fn a_final_status_is_set_once_and_unknown_orders_are_recorded() {
        let store = MemoryStore::new();
        let c = store.set("never-seen", api(Status::Paid)).unwrap();
        assert!(c.changed);
        assert_eq!(c.snapshot.status, Status::Paid);
        assert_eq!(c.snapshot.details.source, Some(Source::Api));
        assert!(c.snapshot.details.paid_at.is_some());
        let mut rx = store.subscribe("never-seen").unwrap();
        assert_eq!(rx.borrow_and_update().status, Status::Paid);
        let again = store.set("never-seen", api(Status::Paid)).unwrap();
        assert!(!again.changed);
        assert!(!rx.has_changed().unwrap(), "nobody is told twice");
        assert_eq!(
            store.set("never-seen", api(Status::Closed)),
            Err(ChangeError::Conflict(Status::Paid))
        );
        let known_only = SetStatus {
            record_unknown: false,
            ..api(Status::Paid)
        };
        assert_eq!(store.set("other", known_only), Err(ChangeError::Unknown));
    }
}
