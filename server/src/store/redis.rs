//! The Redis backing of the [`Store`](super::Store) (`--redis redis://…`),
//! for several instances behind a load balancer.
//!
//! # Data
//!
//! * `pw:order:{no}` — a hash `status`, `expires_at`, `version`: the source
//!   of truth. It expires in Redis `keep_ended` after the order ended (or
//!   would have expired).
//! * `pw:changes` — one Redis Stream with an entry per status change
//!   (`no`, `status`, `version`, `expires_at`), trimmed to about
//!   [`STREAM_MAXLEN`] entries.
//!
//! Every status change is one Lua script ([`CHANGE`]): it applies a due
//! expiry first, then the change if the rules allow it (pending → final;
//! the same final state again is a no-op; anything else a conflict), and in
//! the same atomic step appends the change to the stream. So paying a
//! closed order fails and paying twice is a no-op whichever instance is
//! asked, and no change exists without its stream entry.
//!
//! # Fan-out
//!
//! Each instance keeps, for every order that has a waiter on it, one
//! in-process `watch` channel, exactly as the memory store does; the routes
//! cannot tell the difference. One task per instance ([`fan_out`]) reads
//! the stream with `XREAD BLOCK` from a known id and feeds the channels. A
//! channel only ever moves to a higher `version`, so an update that arrives
//! twice (stream and direct read) is told once.
//!
//! No change can slip between subscribing and the first read: a subscriber
//! registers its channel first and reads the hash second. A change committed
//! before the read is in the read; one committed after it reaches the
//! stream reader after the channel exists.
//!
//! # Trouble
//!
//! When Redis cannot be reached, reads and changes fail with
//! [`Unavailable`] (the routes answer `503` with `Retry-After`), held
//! waiters stay held, and [`healthy`](RedisStore::healthy) turns `false`.
//! When the reader gets through again it takes the stream's newest id,
//! re-reads the hash of every order that has a waiter here (the hash is
//! the truth after any gap, even if Redis lost the stream), tells each
//! waiter whose order moved on, and reads on from that id.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::streams::{StreamRangeReply, StreamReadOptions, StreamReadReply};
use redis::{AsyncCommands, Script};
use tokio::sync::watch;

use super::{
    now_ms, random_order_no, Change, ChangeError, CreateError, Created, Details, NewOrder,
    SetStatus, Snapshot, Source, Status, Unavailable,
};
use crate::limits::MAX_ORDER_NO_BYTES;
use crate::metrics::Metrics;

/// The stream of changes every instance reads.
pub const STREAM: &str = "pw:changes";
/// About how many changes the stream keeps (`XADD MAXLEN ~`). A reader that
/// falls further behind than this re-reads the hashes instead.
pub const STREAM_MAXLEN: u64 = 100_000;
/// How long one `XREAD` blocks before it asks again.
const BLOCK_MS: usize = 2_000;
/// Deadline of one command (the blocking read gets `BLOCK_MS` more).
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest a request waits on Redis before it answers `503` (a pay that
/// timed out may still have happened; paying again is a no-op).
const DEADLINE: Duration = Duration::from_secs(1);
/// Pause between attempts while Redis is unreachable.
const RETRY_PAUSE: Duration = Duration::from_millis(250);

fn order_key(no: &str) -> String {
    format!("pw:order:{no}")
}

/// Creates a pending order unless the number is taken.
/// KEYS: order. ARGV: expires_at, time to live in ms, amount or '', ttl_ms.
/// → 1 created, 2 exists with the same amount and ttl, 0 exists otherwise.
const CREATE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  local d = redis.call('HMGET', KEYS[1], 'amount', 'ttl_ms')
  if (d[1] or '') == ARGV[3] and (d[2] or '') == ARGV[4] then return 2 end
  return 0
end
redis.call('HSET', KEYS[1], 'status', 'pending', 'expires_at', ARGV[1], 'version', '1',
  'ttl_ms', ARGV[4])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'amount', ARGV[3]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// Reads an order, applying a due expiry, then applies a change if one is
/// asked for (ARGV[1] non-empty). Every change is also appended to the
/// stream. KEYS: order, stream. ARGV: target status or '', now in ms,
/// keep_ended in ms, stream maxlen, order number, source of the change,
/// '1' to record an unknown order with the target status.
/// → {} for an unknown order, else {'ok'|'conflict', status, expires_at,
/// version, changed '1'|'0', amount, ttl_ms, paid_at, source}.
const CHANGE: &str = r"
local h = redis.call('HMGET', KEYS[1], 'status', 'expires_at', 'version')
local target = ARGV[1]
local status, expires_at, version
if h[1] then
  status, expires_at, version = h[1], h[2], tonumber(h[3])
else
  if target == '' or ARGV[7] ~= '1' then return {} end
  status, expires_at, version = 'pending', ARGV[2], 0
  redis.call('HSET', KEYS[1], 'expires_at', expires_at)
end
local changed = '0'
local function set(s, source)
  status = s
  version = version + 1
  changed = '1'
  redis.call('HSET', KEYS[1], 'status', s, 'version', tostring(version), 'source', source)
  if s == 'paid' then redis.call('HSET', KEYS[1], 'paid_at', ARGV[2]) end
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*',
    'no', ARGV[5], 'status', s, 'version', tostring(version), 'expires_at', expires_at)
end
if status == 'pending' and tonumber(ARGV[2]) >= tonumber(expires_at) then
  set('expired', 'expiry')
end
local verdict = 'ok'
if target ~= '' and target ~= status then
  if status == 'pending' then set(target, ARGV[6]) else verdict = 'conflict' end
end
local d = redis.call('HMGET', KEYS[1], 'amount', 'ttl_ms', 'paid_at', 'source')
return {verdict, status, expires_at, tostring(version), changed,
  d[1] or '', d[2] or '', d[3] or '', d[4] or ''}
";

fn parse_status(s: &str) -> Option<Status> {
    Status::parse(s)
}

/// `''` is `None`; anything else must parse.
fn optional<T: std::str::FromStr>(s: &str) -> Result<Option<T>, Unavailable> {
    if s.is_empty() {
        Ok(None)
    } else {
        s.parse().map(Some).map_err(|_| Unavailable)
    }
}

/// What one run of [`CHANGE`] found.
struct Ran {
    /// `false`: the change asked for conflicts with the order's status.
    allowed: bool,
    changed: bool,
    snapshot: Snapshot,
}

type Channel = Arc<watch::Sender<Snapshot>>;

struct Inner {
    conn: ConnectionManager,
    create: Script,
    change: Script,
    keep_ended: Duration,
    /// One channel per order that has a waiter on this instance.
    channels: Mutex<HashMap<String, Channel>>,
    /// `false` from a failed read of the stream until the re-read after it.
    healthy: AtomicBool,
    metrics: Arc<Metrics>,
}

/// Orders in Redis, changes fanned out through one Redis Stream.
pub struct RedisStore {
    inner: Arc<Inner>,
    reader: tokio::task::AbortHandle,
}

impl Drop for RedisStore {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port[/db]`) and starts the task that
    /// reads the stream of changes. Fails if Redis cannot be reached now;
    /// later outages are survived.
    pub async fn connect(
        url: &str,
        keep_ended: Duration,
        metrics: Arc<Metrics>,
    ) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(RESPONSE_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT)
            .set_number_of_retries(2)
            .set_max_delay(500);
        let conn = client
            .get_connection_manager_with_config(config.clone())
            .await?;
        // The blocking read gets a connection of its own: a blocked command
        // would hold up everything queued behind it on a shared one.
        let reader_conn =
            client
                .get_connection_manager_with_config(config.set_response_timeout(
                    RESPONSE_TIMEOUT + Duration::from_millis(BLOCK_MS as u64),
                ))
                .await?;
        let inner = Arc::new(Inner {
            conn,
            create: Script::new(CREATE),
            change: Script::new(CHANGE),
            keep_ended,
            channels: Mutex::default(),
            healthy: AtomicBool::new(true),
            metrics,
        });
        inner.metrics.redis_started();
        let reader = tokio::spawn(fan_out(Arc::downgrade(&inner), reader_conn)).abort_handle();
        Ok(RedisStore { inner, reader })
    }

    /// See [`Store::healthy`](super::Store::healthy).
    pub fn healthy(&self) -> bool {
        self.inner.healthy.load(Ordering::Relaxed)
    }

    /// Whether Redis answers a `PING` within the deadline.
    pub async fn ping(&self) -> bool {
        let mut conn = self.inner.conn.clone();
        let ping = redis::cmd("PING");
        let pong = ping.query_async::<String>(&mut conn);
        self.inner.bounded(pong).await.is_ok()
    }

    /// Orders with a waiter on this instance right now.
    pub fn watched(&self) -> usize {
        self.inner.channels.lock().unwrap().len()
    }

    pub async fn create(&self, new: NewOrder) -> Result<Created, CreateError> {
        let NewOrder {
            order_no,
            ttl,
            amount,
        } = new;
        let ttl_ms: u64 = ttl.as_millis().try_into().unwrap_or(u64::MAX / 4);
        let expires_at = now_ms().saturating_add(ttl_ms);
        let live_ms = ttl_ms
            .saturating_add(self.inner.keep_ended.as_millis() as u64)
            .max(1);
        let given = order_no.is_some();
        match &order_no {
            Some(no) if no.is_empty() => return Err(CreateError::Empty),
            Some(no) if no.len() > MAX_ORDER_NO_BYTES => return Err(CreateError::TooLong),
            _ => {}
        }
        let mut candidate = order_no;
        loop {
            let no = match candidate.take() {
                Some(no) => no,
                None => random_order_no().ok_or(CreateError::NoRandomness)?,
            };
            let mut conn = self.inner.conn.clone();
            let created: i64 = self
                .inner
                .bounded(
                    self.inner
                        .create
                        .key(order_key(&no))
                        .arg(expires_at)
                        .arg(live_ms)
                        .arg(amount.map_or_else(String::new, |a| a.to_string()))
                        .arg(ttl_ms)
                        .invoke_async(&mut conn),
                )
                .await?;
            match created {
                1 => {
                    return Ok(Created {
                        snapshot: Snapshot::pending(no, expires_at, amount, ttl_ms),
                        created: true,
                    })
                }
                2 => {
                    let ran = self.inner.run(&no, None).await?;
                    // Gone in between (forgotten): create it again.
                    if let Some(ran) = ran {
                        return Ok(Created {
                            snapshot: ran.snapshot,
                            created: false,
                        });
                    }
                    candidate = Some(no);
                    continue;
                }
                _ if given => return Err(CreateError::Differs),
                _ => {}
            }
        }
    }

    pub async fn get(&self, order_no: &str) -> Result<Option<Snapshot>, Unavailable> {
        Ok(self.inner.run(order_no, None).await?.map(|r| r.snapshot))
    }

    /// See [`Store::set`](super::Store::set).
    pub async fn set(&self, order_no: &str, set: SetStatus) -> Result<Change, ChangeError> {
        match self.inner.run(order_no, Some(set)).await? {
            None => Err(ChangeError::Unknown),
            Some(ran) => {
                // Tell this instance's waiters now; the stream tells the others
                // (and tells these again, which the version makes a no-op).
                self.inner.tell(&ran.snapshot);
                if ran.allowed {
                    Ok(Change {
                        snapshot: ran.snapshot,
                        changed: ran.changed,
                    })
                } else {
                    Err(ChangeError::Conflict(ran.snapshot.status))
                }
            }
        }
    }

    /// Registers a channel for the order first, then reads Redis (see the
    /// module docs for why in this order).
    pub async fn subscribe(
        &self,
        order_no: &str,
    ) -> Result<Option<watch::Receiver<Snapshot>>, Unavailable> {
        let (tx, mut rx) = {
            let mut channels = self.inner.channels.lock().unwrap();
            let tx = match channels.get(order_no) {
                Some(tx) => tx.clone(),
                None => {
                    let (tx, _) = watch::channel(Snapshot {
                        order_no: order_no.to_owned(),
                        status: Status::Pending,
                        expires_at: u64::MAX,
                        version: 0,
                        details: Details::default(),
                    });
                    let tx = Arc::new(tx);
                    channels.insert(order_no.to_owned(), tx.clone());
                    tokio::spawn(keeper(Arc::downgrade(&self.inner), tx.clone()));
                    tx
                }
            };
            let rx = tx.subscribe();
            (tx, rx)
        };
        let Some(ran) = self.inner.run(order_no, None).await? else {
            return Ok(None);
        };
        advance(&tx, ran.snapshot);
        rx.borrow_and_update();
        Ok(Some(rx))
    }
}

impl Inner {
    /// One Redis round trip within [`DEADLINE`]; any failure is
    /// [`Unavailable`], counted in `paywatch_store_errors` (the connection
    /// manager reconnects in the background).
    async fn bounded<T>(
        &self,
        op: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, Unavailable> {
        match tokio::time::timeout(DEADLINE, op).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(_)) | Err(_) => {
                self.metrics.store_error();
                Err(Unavailable)
            }
        }
    }

    /// Runs [`CHANGE`]: a read, and the change if one is asked for.
    /// `None` if the order is unknown (and not recorded).
    async fn run(
        &self,
        order_no: &str,
        set: Option<SetStatus>,
    ) -> Result<Option<Ran>, Unavailable> {
        let mut conn = self.conn.clone();
        let reply: Vec<String> = self
            .bounded(
                self.change
                    .key(order_key(order_no))
                    .key(STREAM)
                    .arg(set.map_or("", |s| s.target.as_str()))
                    .arg(now_ms())
                    .arg(self.keep_ended.as_millis().max(1) as u64)
                    .arg(STREAM_MAXLEN)
                    .arg(order_no)
                    .arg(set.map_or("", |s| s.source.as_str()))
                    .arg(if set.is_some_and(|s| s.record_unknown) {
                        "1"
                    } else {
                        ""
                    })
                    .invoke_async(&mut conn),
            )
            .await?;
        let [verdict, status, expires_at, version, changed, amount, ttl_ms, paid_at, source] =
            &reply[..]
        else {
            return Ok(None);
        };
        let snapshot = Snapshot {
            order_no: order_no.to_owned(),
            status: parse_status(status).ok_or(Unavailable)?,
            expires_at: expires_at.parse().map_err(|_| Unavailable)?,
            version: version.parse().map_err(|_| Unavailable)?,
            details: Details {
                amount: optional(amount)?,
                ttl_ms: optional(ttl_ms)?,
                paid_at: optional(paid_at)?,
                source: Source::parse(source),
            },
        };
        Ok(Some(Ran {
            allowed: verdict == "ok",
            changed: changed == "1",
            snapshot,
        }))
    }

    /// Hands a snapshot to this instance's waiters of that order, if any.
    /// Also what `paywatch_redis_connected` shows.
    fn set_healthy(&self, up: bool) {
        self.healthy.store(up, Ordering::Relaxed);
        self.metrics.redis_connected(up);
    }

    fn tell(&self, s: &Snapshot) {
        let tx = self.channels.lock().unwrap().get(&s.order_no).cloned();
        if let Some(tx) = tx {
            advance(&tx, s.clone());
        }
    }
}

/// Moves a channel to `s` if `s` is newer: each version is told once.
fn advance(tx: &watch::Sender<Snapshot>, s: Snapshot) {
    tx.send_if_modified(|cur| {
        if s.version > cur.version {
            *cur = s;
            true
        } else {
            false
        }
    });
}

/// Looks after one order's channel on this instance: applies the expiry
/// when its time comes (the script makes that atomic and once, whichever
/// instance gets there first), and forgets the channel when its last
/// waiter has gone.
async fn keeper(inner: Weak<Inner>, tx: Channel) {
    loop {
        let (version, status, expires_at) = {
            let s = tx.borrow();
            (s.version, s.status, s.expires_at)
        };
        let wait = if version == 0 {
            // Not read yet (the subscriber is reading it now).
            Duration::from_millis(50)
        } else if status.is_final() {
            Duration::MAX
        } else {
            Duration::from_millis(expires_at.saturating_sub(now_ms()) + 1)
        };
        tokio::select! {
            () = tx.closed() => {
                let Some(inner) = inner.upgrade() else { return };
                let mut channels = inner.channels.lock().unwrap();
                // A subscriber may have joined since; it holds the lock to do so.
                if tx.receiver_count() == 0 {
                    let no = &tx.borrow().order_no;
                    if channels.get(no).is_some_and(|c| Arc::ptr_eq(c, &tx)) {
                        channels.remove(no);
                    }
                    return;
                }
            }
            () = tokio::time::sleep(wait.min(Duration::from_secs(86_400))) => {
                if version == 0 || status.is_final() || now_ms() < expires_at {
                    continue;
                }
                let Some(inner) = inner.upgrade() else { return };
                let no = tx.borrow().order_no.clone();
                match inner.run(&no, None).await {
                    Ok(Some(ran)) => advance(&tx, ran.snapshot),
                    // Gone from Redis (forgotten, or Redis lost it): nothing
                    // to expire; the channel goes with its last waiter.
                    Ok(None) => tx.closed().await,
                    Err(Unavailable) => tokio::time::sleep(RETRY_PAUSE).await,
                }
            }
        }
    }
}

/// The instance's one reader of the stream of changes.
async fn fan_out(inner: Weak<Inner>, mut conn: ConnectionManager) {
    // `None`: the next step is a re-read (at start and after any failure).
    let mut last_id: Option<String> = None;
    loop {
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let id = match last_id.take() {
            Some(id) => id,
            None => match resync(&strong, &mut conn).await {
                Ok(id) => {
                    strong.set_healthy(true);
                    id
                }
                Err(_) => {
                    strong.set_healthy(false);
                    drop(strong);
                    tokio::time::sleep(RETRY_PAUSE).await;
                    continue;
                }
            },
        };
        drop(strong);
        let opts = StreamReadOptions::default().block(BLOCK_MS).count(1_000);
        let reply: redis::RedisResult<Option<StreamReadReply>> =
            conn.xread_options(&[STREAM], &[&id], &opts).await;
        let Some(strong) = inner.upgrade() else {
            return;
        };
        match reply {
            Ok(reply) => {
                let mut id = id;
                for entry in reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids) {
                    if let Some(s) = entry_snapshot(&entry) {
                        strong.tell(&s);
                    }
                    id = entry.id;
                }
                last_id = Some(id);
            }
            Err(_) => {
                strong.set_healthy(false);
                drop(strong);
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
}

fn entry_snapshot(entry: &redis::streams::StreamId) -> Option<Snapshot> {
    Some(Snapshot {
        order_no: entry.get("no")?,
        status: parse_status(&entry.get::<String>("status")?)?,
        version: entry.get::<String>("version")?.parse().ok()?,
        expires_at: entry.get::<String>("expires_at")?.parse().ok()?,
        details: Details::default(),
    })
}

/// After a gap: the stream's newest id first, then the hash of every order
/// watched here. Changes up to that id are in the hashes, later ones will be
/// read from the stream.
async fn resync(inner: &Inner, conn: &mut ConnectionManager) -> Result<String, Unavailable> {
    let newest: StreamRangeReply = conn
        .xrevrange_count(STREAM, "+", "-", 1)
        .await
        .map_err(|_| Unavailable)?;
    let id = newest
        .ids
        .first()
        .map_or_else(|| "0-0".to_owned(), |e| e.id.clone());
    let watched: Vec<String> = inner.channels.lock().unwrap().keys().cloned().collect();
    for chunk in watched.chunks(256) {
        let reads = chunk.iter().map(|no| inner.run(no, None));
        for s in futures_util::future::join_all(reads).await {
            if let Some(ran) = s? {
                inner.tell(&ran.snapshot);
            }
        }
    }
    Ok(id)
}
