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
    Exists,
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
}

impl Order {
    /// Applies `target` if allowed. Returns the snapshot after the call.
    ///
    /// Rules: pending → any final state; a change to the state the order is
    /// already in is a no-op (idempotent pay/close); any other change of a
    /// final order is a conflict. Expiry is applied
    /// first when its time has passed, so a pay after `expires_at` conflicts
    /// even if the expiry timer has not fired yet.
    fn change(&self, target: Status) -> Result<Snapshot, ChangeError> {
        self.expire_if_due();
        let mut result = Ok(());
        self.tx.send_if_modified(|s| match (s.status, target) {
            (Status::Pending, t) if t != Status::Pending => {
                s.status = t;
                s.version += 1;
                true
            }
            (current, t) if current == t => false,
            (current, _) => {
                result = Err(ChangeError::Conflict(current));
                false
            }
        });
        result.map(|()| self.tx.borrow().clone())
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
        self.tx.send_if_modified(|s| {
            if s.status == Status::Pending && now >= s.expires_at {
                s.status = Status::Expired;
                s.version += 1;
                true
            } else {
                false
            }
        });
    }
}

type OrderMap = Mutex<HashMap<String, Arc<Order>>>;

/// The order store the routes use. Cheap to share: wrap it in an `Arc`.
pub enum Store {
    /// The embedded default: one process, nothing to run beside it.
    Memory(MemoryStore),
    /// `--redis`: orders in Redis, changes fanned out to every instance.
    Redis(redis::RedisStore),
}

impl Store {
    /// Creates a pending order (see [`MemoryStore::create`]).
    pub async fn create(
        &self,
        order_no: Option<String>,
        ttl: Duration,
    ) -> Result<Snapshot, CreateError> {
        match self {
            Store::Memory(m) => m.create(order_no, ttl),
            Store::Redis(r) => r.create(order_no, ttl).await,
        }
    }

    /// Current state, or `None` for an unknown order.
    pub async fn get(&self, order_no: &str) -> Result<Option<Snapshot>, Unavailable> {
        match self {
            Store::Memory(m) => Ok(m.get(order_no)),
            Store::Redis(r) => r.get(order_no).await,
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
        }
    }

    pub async fn pay(&self, order_no: &str) -> Result<Snapshot, ChangeError> {
        self.change(order_no, Status::Paid).await
    }

    pub async fn close(&self, order_no: &str) -> Result<Snapshot, ChangeError> {
        self.change(order_no, Status::Closed).await
    }

    /// Expires a pending order now (test hook; normal expiry is the timer).
    pub async fn expire(&self, order_no: &str) -> Result<Snapshot, ChangeError> {
        self.change(order_no, Status::Expired).await
    }

    async fn change(&self, order_no: &str, target: Status) -> Result<Snapshot, ChangeError> {
        match self {
            Store::Memory(m) => m.change(order_no, target),
            Store::Redis(r) => r.change(order_no, target).await,
        }
    }

    /// `false` while the backing is known to be unreachable (Redis down, or
    /// back but not yet re-read): a held long-poll then answers `503`
    /// rather than a status that may be stale. Always `true` in memory.
    pub fn healthy(&self) -> bool {
        match self {
            Store::Memory(_) => true,
            Store::Redis(r) => r.healthy(),
        }
    }
}

pub mod redis;

/// The embedded in-memory order store. Cheap to share: wrap it in an `Arc`.
pub struct MemoryStore {
    orders: Arc<OrderMap>,
    max_orders: usize,
    keep_ended: Duration,
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
        }
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
    pub fn create(&self, order_no: Option<String>, ttl: Duration) -> Result<Snapshot, CreateError> {
        let expires_at = now_ms().saturating_add(ttl.as_millis().try_into().unwrap_or(u64::MAX));
        let mut orders = self.orders.lock().unwrap();
        let order_no = match order_no {
            Some(no) if no.is_empty() => return Err(CreateError::Empty),
            Some(no) if no.len() > crate::limits::MAX_ORDER_NO_BYTES => {
                return Err(CreateError::TooLong)
            }
            Some(no) if orders.contains_key(&no) => return Err(CreateError::Exists),
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
        let snapshot = Snapshot {
            order_no: order_no.clone(),
            status: Status::Pending,
            expires_at,
            version: 1,
        };
        let (tx, _) = watch::channel(snapshot.clone());
        let order = Arc::new(Order { tx });
        orders.insert(order_no, order.clone());
        drop(orders);
        tokio::spawn(lifecycle(
            order,
            Arc::downgrade(&self.orders),
            self.keep_ended,
        ));
        Ok(snapshot)
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

    pub fn pay(&self, order_no: &str) -> Result<Snapshot, ChangeError> {
        self.change(order_no, Status::Paid)
    }

    pub fn close(&self, order_no: &str) -> Result<Snapshot, ChangeError> {
        self.change(order_no, Status::Closed)
    }

    /// Expires a pending order now (test hook; normal expiry is the timer).
    pub fn expire(&self, order_no: &str) -> Result<Snapshot, ChangeError> {
        self.change(order_no, Status::Expired)
    }

    pub fn change(&self, order_no: &str, target: Status) -> Result<Snapshot, ChangeError> {
        self.order(order_no)
            .ok_or(ChangeError::Unknown)?
            .change(target)
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
            Err(CreateError::Exists)
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
