//! `--store sqlite:PATH`: every acknowledged change survives kill -9,
//! pending orders and their expiry come back after a restart, old orders go
//! after `--retention`, and a bad file stops the start with its name.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{start_with, temp_dir, test_limits, Options, TestServer};
use paywatch_server::config::{Config, Payments};
use serde_json::{json, Value};

const KEY: &str = "sqlite-test-key-0123456789";
const BIN: &str = env!("CARGO_BIN_EXE_paywatch-server");
const T: Duration = Duration::from_secs(5);

/// A server process that is killed (SIGKILL) when dropped, also when a
/// test panics half-way.
struct Killed(Child);

impl Killed {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The binary on a free port with the sqlite store at `db`.
fn spawn(db: &Path) -> (Killed, String) {
    let store = format!("sqlite:{}", db.display());
    let binary = common::binary::spawn(|c| {
        c.args(["--store", &store])
            .env("PAYWATCH_API_KEYS", KEY)
            .stderr(Stdio::null())
    });
    (Killed(binary.child), binary.url)
}

const NOT_SENT: u8 = 0;
const SENT: u8 = 1;
const ACKED: u8 = 2;

/// 16 senders put 1,000 status changes through `/api`; the server is
/// killed with SIGKILL after about 300 were acknowledged. After a restart
/// on the same file every acknowledged change is there and no change that
/// was never sent is. Five times, on one file.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_change_survives_kill_9() {
    let db = temp_dir("sqlite-kill").join("orders.db");
    let client = reqwest::Client::new();
    for run in 0..5 {
        let (mut child, url) = spawn(&db);
        let n = 1_000;
        let states: Arc<Vec<AtomicU8>> =
            Arc::new((0..n).map(|_| AtomicU8::new(NOT_SENT)).collect());
        let acked = Arc::new(AtomicUsize::new(0));
        let targets = ["paid", "closed", "expired"];
        let mut senders = Vec::new();
        for sender in 0..16 {
            let (states, acked, client, url) =
                (states.clone(), acked.clone(), client.clone(), url.clone());
            senders.push(tokio::spawn(async move {
                for i in (sender..n).step_by(16) {
                    states[i].store(SENT, Ordering::SeqCst);
                    let res = client
                        .put(format!("{url}/api/orders/K{run}-{i}/status"))
                        .bearer_auth(KEY)
                        .json(&json!({ "status": targets[i % 3] }))
                        .timeout(T)
                        .send()
                        .await;
                    match res {
                        Ok(r) if r.status().is_success() => {
                            states[i].store(ACKED, Ordering::SeqCst);
                            acked.fetch_add(1, Ordering::SeqCst);
                        }
                        _ => return,
                    }
                }
            }));
        }
        while acked.load(Ordering::SeqCst) < 300 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        child.kill(); // SIGKILL
        for s in senders {
            s.await.unwrap();
        }
        let acked_now = acked.load(Ordering::SeqCst);
        assert!(
            acked_now < n,
            "run {run}: the kill came after every change ({acked_now})"
        );

        let (mut child, url) = spawn(&db);
        let mut count: HashMap<u8, usize> = HashMap::new();
        for (i, state) in states.iter().enumerate() {
            let state = state.load(Ordering::SeqCst);
            *count.entry(state).or_default() += 1;
            let res = client
                .get(format!("{url}/api/orders/K{run}-{i}"))
                .bearer_auth(KEY)
                .send()
                .await
                .unwrap();
            match state {
                ACKED => {
                    assert_eq!(res.status(), 200, "run {run}: acknowledged K{run}-{i} lost");
                    let body: Value = res.json().await.unwrap();
                    assert_eq!(body["status"], targets[i % 3], "run {run}: K{run}-{i}");
                    assert_eq!(body["source"], "api");
                }
                NOT_SENT => assert_eq!(res.status(), 404, "run {run}: K{run}-{i} was never sent"),
                _ => assert!(matches!(res.status().as_u16(), 200 | 404)),
            }
        }
        assert!(count[&ACKED] >= 300, "run {run}: {count:?}");
        assert!(
            count.get(&NOT_SENT).copied().unwrap_or(0) > 0,
            "run {run}: {count:?}"
        );
        child.kill();
    }
}

fn config(db: &Path) -> Config {
    Config {
        sqlite: Some(db.to_path_buf()),
        ..Config::default()
    }
}

async fn server(db: &Path, retention: Duration, keep_ended: Duration) -> TestServer {
    start_with(Options {
        payments: Payments {
            api_keys_env: Some(KEY.into()),
            ..Payments::default()
        },
        sqlite: Some(db.to_path_buf()),
        retention: Some(retention),
        limits: paywatch_server::limits::Limits {
            keep_ended,
            ..test_limits()
        },
        ..Options::default()
    })
    .await
}

impl TestServer {
    /// [`TestServer::api`] with this suite's key.
    async fn shop(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        self.api(method, path, Some(KEY), body).await
    }
}

#[tokio::test]
async fn pending_orders_and_their_expiry_come_back_after_a_restart() {
    let db = temp_dir("sqlite-restart").join("orders.db");
    let week = Duration::from_secs(7 * 86_400);
    let a = server(&db, week, Duration::from_secs(600)).await;
    let post = reqwest::Method::POST;
    let (code, _) = a
        .shop(
            post.clone(),
            "/orders",
            Some(json!({"order_no": "R-PAID", "amount": 100})),
        )
        .await;
    assert_eq!(code, 201);
    let (code, created) = a
        .shop(
            post.clone(),
            "/orders",
            Some(json!({"order_no": "R-SOON", "ttl_ms": 1_500})),
        )
        .await;
    assert_eq!(code, 201);
    let (code, _) = a
        .shop(post, "/orders", Some(json!({"order_no": "R-LATER"})))
        .await;
    assert_eq!(code, 201);
    let put = reqwest::Method::PUT;
    let (code, _) = a
        .shop(
            put.clone(),
            "/orders/R-PAID/status",
            Some(json!({"status": "paid"})),
        )
        .await;
    assert_eq!(code, 200);
    let mut sse = a.sse_reader("R-LATER", None).await;
    assert_eq!(sse.try_data(T).await.unwrap()["status"], "pending");
    a.server.shutdown().await.unwrap();
    drop(sse);

    let b = server(&db, week, Duration::from_secs(600)).await;
    // A waiter that comes back is told at once.
    let mut paid = b.sse_reader("R-PAID", None).await;
    assert_eq!(paid.try_data(T).await.unwrap()["status"], "paid");
    let (_, got) = b.shop(reqwest::Method::GET, "/orders/R-PAID", None).await;
    assert_eq!(
        (&got["amount"], &got["source"]),
        (&json!(100), &json!("api"))
    );
    // The pending one's expiry runs again: told when it comes.
    let mut soon = b.sse_reader("R-SOON", None).await;
    assert_eq!(soon.try_data(T).await.unwrap()["status"], "pending");
    let expired = soon.try_data(T).await.unwrap();
    assert_eq!(expired["status"], "expired");
    assert_eq!(expired["expires_at"], created["expires_at"]);
    // The create is still idempotent across the restart.
    let (code, _) = b
        .shop(
            reqwest::Method::POST,
            "/orders",
            Some(json!({"order_no": "R-LATER"})),
        )
        .await;
    assert_eq!(code, 200, "the same order, read back from the file");
    let mut later = b.sse_reader("R-LATER", None).await;
    assert_eq!(later.try_data(T).await.unwrap()["status"], "pending");
    let (code, body) = b
        .shop(
            put,
            "/orders/R-LATER/status",
            Some(json!({"status": "paid"})),
        )
        .await;
    assert_eq!((code, &body["changed"]), (200, &json!(true)));
    assert_eq!(later.try_data(T).await.unwrap()["status"], "paid");
}

#[tokio::test]
async fn ended_orders_go_after_the_retention() {
    let db = temp_dir("sqlite-retention").join("orders.db");
    // The memory copy forgets at once; the file keeps it for 400 ms.
    let s = server(&db, Duration::from_millis(400), Duration::ZERO).await;
    let put = reqwest::Method::PUT;
    let (code, _) = s
        .shop(put, "/orders/OLD-1/status", Some(json!({"status": "paid"})))
        .await;
    assert_eq!(code, 200);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (code, body) = s.shop(reqwest::Method::GET, "/orders/OLD-1", None).await;
    assert_eq!(
        (code, &body["status"]),
        (200, &json!("paid")),
        "read back from the file"
    );
    let deadline = std::time::Instant::now() + T;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        // Let the memory copy that the read made go again.
        let (code, _) = s.shop(reqwest::Method::GET, "/orders/OLD-1", None).await;
        if code == 404 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "OLD-1 still there after its retention"
        );
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM orders", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn a_newer_schema_or_an_unwritable_path_stops_the_start() {
    let db = temp_dir("sqlite-schema").join("orders.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let err = paywatch_server::start(config(&db))
        .await
        .err()
        .expect("refused");
    let msg = err.to_string();
    assert!(
        msg.contains("version 99") && msg.contains(&db.display().to_string()),
        "{msg}"
    );

    let nowhere = PathBuf::from("/nonexistent/paywatch/orders.db");
    let msg = paywatch_server::start(config(&nowhere))
        .await
        .err()
        .expect("refused")
        .to_string();
    assert!(msg.contains("/nonexistent/paywatch/orders.db"), "{msg}");
    // The binary says so too, and does not start.
    let out = Command::new(BIN)
        .args([
            "--port",
            "0",
            "--store",
            "sqlite:/nonexistent/paywatch/orders.db",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/paywatch/orders.db"));
    let out = Command::new(BIN)
        .args(["--store", "disk"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--store"));
}
