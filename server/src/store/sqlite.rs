//! `--store sqlite:PATH`: orders that survive a restart, in one embedded
//! SQLite file (rusqlite, SQLite bundled, WAL mode).
//!
//! The live state is the in-memory store ([`MemoryStore`]: one `watch`
//! channel per order, expiry timers); SQLite is its durable copy:
//!
//! * every create and status change is written by one writer thread and
//!   acknowledged to the caller only after its transaction committed
//!   (`synchronous = FULL`), so a `2xx` from `/api` or a `204`/`success` to
//!   a platform means the change is on disk;
//! * the writer takes everything queued while the previous commit ran into
//!   the next transaction (group commit): one `fsync` for many changes;
//! * an order not in memory (after a restart, or forgotten after
//!   `--keep-ended-sec`) is read back from the file on first use; at start,
//!   every pending order is loaded, so its expiry timer runs again and a
//!   waiter that reconnects is told at once;
//! * final orders, and pending ones expired, are deleted `--retention`
//!   after they ended (default 7 days).
//!
//! The schema is versioned with `PRAGMA user_version`; a file written by a
//! newer schema is refused at start.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{params, Connection, OptionalExtension};
use tokio::sync::{oneshot, watch};

use super::{
    now_ms, Change, ChangeError, CreateError, Created, Details, MemoryStore, NewOrder, SetStatus,
    Snapshot, Source, Status, Unavailable,
};
use crate::metrics::Metrics;

/// The schema this server writes and reads.
pub const SCHEMA_VERSION: i64 = 1;
/// Most changes one transaction takes.
const MAX_BATCH: usize = 1_024;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS orders (
    order_no   TEXT PRIMARY KEY,
    status     TEXT NOT NULL,
    version    INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    amount     INTEGER,
    ttl_ms     INTEGER,
    paid_at    INTEGER,
    source     TEXT,
    ended_at   INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS orders_pending ON orders (status) WHERE status = 'pending';
";

/// One snapshot to make durable, and who waits for the commit.
struct Job {
    snapshot: Snapshot,
    done: oneshot::Sender<Result<(), String>>,
}

/// Orders in memory, made durable in SQLite.
pub struct SqliteStore {
    memory: MemoryStore,
    writer: Mutex<mpsc::Sender<Job>>,
    reader: Arc<Mutex<Connection>>,
    metrics: Arc<Metrics>,
}

impl SqliteStore {
    /// Opens (or creates) the file at `path` and loads the pending orders.
    /// The error names the path and what is wrong with it.
    pub fn open(
        path: &Path,
        memory: MemoryStore,
        retention: Duration,
        metrics: Arc<Metrics>,
    ) -> Result<Self, String> {
        let fail = |e: rusqlite::Error| format!("--store sqlite:{}: {e}", path.display());
        let writer = Connection::open(path).map_err(fail)?;
        writer
            .execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
            .map_err(fail)?;
        writer.busy_timeout(Duration::from_secs(5)).map_err(fail)?;
        let version: i64 = writer
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(fail)?;
        if version > SCHEMA_VERSION {
            return Err(format!(
                "--store sqlite:{}: the file's schema is version {version}, newer than this paywatch-server reads ({SCHEMA_VERSION}); use a newer paywatch-server or another file",
                path.display()
            ));
        }
        writer.execute_batch(SCHEMA).map_err(fail)?;
        writer
            .execute_batch(&format!("PRAGMA user_version = {SCHEMA_VERSION}"))
            .map_err(fail)?;
        let reader = Connection::open(path).map_err(fail)?;
        reader.busy_timeout(Duration::from_secs(5)).map_err(fail)?;

        // Pending orders come back with their expiry timers.
        let pending = {
            let mut stmt = reader
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM orders WHERE status = 'pending'"
                ))
                .map_err(fail)?;
            let rows = stmt.query_map([], row_snapshot).map_err(fail)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(fail)?
        };
        for snapshot in pending.into_iter().flatten() {
            memory.load(snapshot);
        }

        let (tx, rx) = mpsc::channel();
        let file = path.to_path_buf();
        std::thread::Builder::new()
            .name("paywatch-sqlite".into())
            .spawn(move || write_loop(writer, rx, retention, file))
            .map_err(|e| format!("--store sqlite:{}: {e}", path.display()))?;
        Ok(SqliteStore {
            memory,
            writer: Mutex::new(tx),
            reader: Arc::new(Mutex::new(reader)),
            metrics,
        })
    }

    pub async fn create(&self, new: NewOrder) -> Result<Created, CreateError> {
        if let Some(no) = &new.order_no {
            self.load(no).await?;
        }
        let created = self.memory.create_order(new)?;
        self.commit(&created.snapshot).await?;
        Ok(created)
    }

    pub async fn get(&self, order_no: &str) -> Result<Option<Snapshot>, Unavailable> {
        self.load(order_no).await?;
        Ok(self.memory.get(order_no))
    }

    pub async fn subscribe(
        &self,
        order_no: &str,
    ) -> Result<Option<watch::Receiver<Snapshot>>, Unavailable> {
        self.load(order_no).await?;
        Ok(self.memory.subscribe(order_no))
    }

    /// The change in memory (which decides it and tells the waiters), then
    /// the commit; the caller is answered after both. A change that is
    /// already there is committed again: it may be the retry of one whose
    /// commit failed.
    pub async fn set(&self, order_no: &str, set: SetStatus) -> Result<Change, ChangeError> {
        self.load(order_no).await?;
        let change = self.memory.set(order_no, set)?;
        self.commit(&change.snapshot).await?;
        Ok(change)
    }

    /// Whether the file answers a read now.
    pub async fn ready(&self) -> bool {
        let reader = self.reader.clone();
        tokio::task::spawn_blocking(move || {
            let conn = reader.lock().unwrap();
            conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                .is_ok()
        })
        .await
        .unwrap_or(false)
    }

    /// Reads `order_no` from the file into memory if memory lacks it.
    async fn load(&self, order_no: &str) -> Result<(), Unavailable> {
        if self.memory.contains(order_no) {
            return Ok(());
        }
        let reader = self.reader.clone();
        let no = order_no.to_owned();
        let found = tokio::task::spawn_blocking(move || {
            let conn = reader.lock().unwrap();
            conn.query_row(
                &format!("SELECT {COLUMNS} FROM orders WHERE order_no = ?1"),
                [&no],
                row_snapshot,
            )
            .optional()
        })
        .await;
        match found {
            Ok(Ok(Some(Some(snapshot)))) => {
                self.memory.load(snapshot);
                Ok(())
            }
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "sqlite read failed");
                self.metrics.store_error();
                Err(Unavailable)
            }
            Err(_) => {
                self.metrics.store_error();
                Err(Unavailable)
            }
        }
    }

    /// Makes `snapshot` durable; resolves after the commit.
    async fn commit(&self, snapshot: &Snapshot) -> Result<(), Unavailable> {
        let (done, committed) = oneshot::channel();
        let job = Job {
            snapshot: snapshot.clone(),
            done,
        };
        let sent = self.writer.lock().unwrap().send(job).is_ok();
        match (sent, committed.await) {
            (true, Ok(Ok(()))) => Ok(()),
            (_, Ok(Err(e))) => {
                tracing::error!(error = %e, "sqlite commit failed");
                self.metrics.store_error();
                Err(Unavailable)
            }
            _ => {
                self.metrics.store_error();
                Err(Unavailable)
            }
        }
    }
}

const COLUMNS: &str = "order_no, status, version, expires_at, amount, ttl_ms, paid_at, source";

/// A row as a snapshot; `None` for a row this server cannot read (an
/// unknown status), which is then left alone.
fn row_snapshot(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<Snapshot>> {
    let status: String = row.get(1)?;
    let source: Option<String> = row.get(7)?;
    let Some(status) = Status::parse(&status) else {
        return Ok(None);
    };
    Ok(Some(Snapshot {
        order_no: row.get(0)?,
        status,
        version: row.get(2)?,
        expires_at: row.get(3)?,
        details: Details {
            amount: row.get(4)?,
            ttl_ms: row.get(5)?,
            paid_at: row.get(6)?,
            source: source.as_deref().and_then(Source::parse),
        },
    }))
}

/// The writer thread: one transaction per batch of queued jobs, then the
/// answers; now and then, the retention clean-up.
fn write_loop(mut conn: Connection, jobs: mpsc::Receiver<Job>, retention: Duration, file: PathBuf) {
    let clean_every = (retention / 4).clamp(Duration::from_millis(100), Duration::from_secs(60));
    let mut cleaned = Instant::now();
    loop {
        match jobs.recv_timeout(clean_every) {
            Ok(first) => {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match jobs.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(_) => break,
                    }
                }
                let result = write_batch(&mut conn, &batch).map_err(|e| e.to_string());
                for job in batch {
                    let _ = job.done.send(result.clone());
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            // The store is gone.
            Err(mpsc::RecvTimeoutError::Disconnected) => return,
        }
        if cleaned.elapsed() >= clean_every {
            if let Err(e) = clean(&conn, retention) {
                tracing::error!(file = %file.display(), error = %e, "sqlite clean-up failed");
            }
            cleaned = Instant::now();
        }
    }
}

fn write_batch(conn: &mut Connection, batch: &[Job]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        // A snapshot never overwrites a newer one (jobs of one order may
        // queue out of order).
        let mut upsert = tx.prepare_cached(
            "INSERT INTO orders (order_no, status, version, expires_at, amount, ttl_ms, paid_at, source, ended_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (order_no) DO UPDATE SET
                status = excluded.status, version = excluded.version,
                expires_at = excluded.expires_at, amount = excluded.amount,
                ttl_ms = excluded.ttl_ms, paid_at = excluded.paid_at,
                source = excluded.source, ended_at = excluded.ended_at
             WHERE excluded.version >= orders.version",
        )?;
        let now = now_ms();
        for job in batch {
            let s = &job.snapshot;
            let ended_at = s.status.is_final().then_some(now);
            upsert.execute(params![
                s.order_no,
                s.status.as_str(),
                s.version,
                s.expires_at,
                s.details.amount,
                s.details.ttl_ms,
                s.details.paid_at,
                s.details.source.map(Source::as_str),
                ended_at,
            ])?;
        }
    }
    tx.commit()
}

/// Deletes orders that ended (or expired) more than `retention` ago.
fn clean(conn: &Connection, retention: Duration) -> rusqlite::Result<usize> {
    let before = now_ms().saturating_sub(retention.as_millis() as u64);
    conn.execute(
        "DELETE FROM orders WHERE (ended_at IS NOT NULL AND ended_at < ?1)
                               OR (status = 'pending' AND expires_at < ?1)",
        [before],
    )
}
