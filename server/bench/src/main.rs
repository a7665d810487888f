//! `make bench-server`: loads a release paywatch-server on loopback and
//! prints what it costs and how fast it answers.
//!
//! 1. capacity: RSS per waiter for each transport at 1k/5k/10k waiters, and
//!    10k waiters one-third of each kind;
//! 2. fan-out: 10k waiters on 10k distinct orders, all paid as fast as the
//!    client can; then 1k waiters on one order, paid once;
//! 3. `/pay` check throughput beside a trivial handler on the same box;
//! 4. SIGTERM with 1k waiters of each kind and 20 slowloris connections;
//! 5. cluster: two instances sharing one `redis-server` (`--redis`):
//!    fan-out latency from a pay on one instance to a waiter on the other,
//!    10k waiters across the two, beside the same on one in-memory
//!    instance; then one instance killed with 1k waiters on it;
//! 6. ingest: signed WeChat Pay notifications (`/notify/wechatpay`) from
//!    the request to the waiter told, how many a second one core verifies,
//!    and what a forged one costs beside a valid one;
//! 7. durable: acknowledged status changes per second through `/api`, 16
//!    senders, on the sqlite store (`--store sqlite:…`) beside memory.
//!
//! Every run starts a fresh server (`PAYWATCH_SERVER_BIN`, default
//! `target/release/paywatch-server`) on a free port. All load comes from
//! 127.0.0.1, so the per-address limits are raised by flag; everything else
//! is the production default. Usage: `paywatch-bench [all|capacity|fanout|
//! throughput|shutdown|cluster|ingest|durable]`, or `paywatch-bench trivial-server` (used by 3).

mod client;

use std::io;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use client::{Ending, Http, Kind, Waiter};
use paywatch_server::demo_payer::{Notification, Signer};
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};
use tokio::sync::Semaphore;

/// The `/api` key every server under test accepts.
const BENCH_API_KEY: &str = "bench-api-key-0123456789";

/// Connections opened at once (the listen backlog is 1024).
const OPENING: usize = 256;
/// The process's hard limit on open files on the reference machine.
const WANT_FILES: u64 = 20_000;

#[tokio::main]
async fn main() {
    let what = std::env::args().nth(1).unwrap_or_else(|| "all".into());
    if what == "trivial-server" {
        return trivial_server().await;
    }
    raise_file_limit();
    let run = |name: &str| what == "all" || what == name;
    let result: io::Result<()> = async {
        println!("# paywatch-server benchmark ({})", machine());
        if run("capacity") || what == "mix" {
            capacity(what == "mix", std::env::var("BENCH_KINDS").ok()).await?;
        }
        if run("fanout") {
            fanout().await?;
        }
        if run("throughput") {
            throughput().await?;
        }
        if run("shutdown") {
            shutdown().await?;
        }
        if run("cluster") {
            cluster().await?;
        }
        if run("ingest") {
            ingest().await?;
        }
        if run("durable") {
            durable().await?;
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        eprintln!("paywatch-bench: {e}");
        std::process::exit(1);
    }
}

/// Raises the soft limit on open files as far as allowed (up to 20,000);
/// the server started from here inherits it.
fn raise_file_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain libc calls with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max.min(WANT_FILES as libc::rlim_t);
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
    }
    println!("open-file limit: {}", lim.rlim_cur);
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, loopback, client and server on the same machine")
}

/// One request a load loop sends, and the status it must get.
struct Call {
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: String,
    want: u16,
}

/// Sends every call over `conns` keep-alive connections (call `i` on
/// connection `i % conns`); the first unexpected answer is the error.
async fn send_over(addr: SocketAddr, conns: usize, calls: Vec<Call>) -> io::Result<()> {
    let calls = Arc::new(calls);
    let mut tasks = Vec::new();
    for c in 0..conns.min(calls.len()).max(1) {
        let calls = calls.clone();
        tasks.push(tokio::spawn(async move {
            let mut http = Http::connect(addr).await?;
            for call in calls.iter().skip(c).step_by(conns) {
                let (status, body) = http
                    .request_with(call.method, &call.path, &call.headers, &call.body)
                    .await?;
                if status != call.want {
                    return Err(io::Error::other(format!(
                        "{} {}: {status} {}",
                        call.method,
                        call.path,
                        String::from_utf8_lossy(&body)
                    )));
                }
            }
            Ok::<_, io::Error>(())
        }));
    }
    for t in tasks {
        t.await.map_err(io::Error::other)??;
    }
    Ok(())
}

/// A server process under test.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    async fn start(extra: &[&str]) -> io::Result<Server> {
        Server::launch(&[], extra).await
    }

    /// The server under `wrapper` (for example `taskset -c 0`).
    async fn launch(wrapper: &[&str], extra: &[&str]) -> io::Result<Server> {
        let bin = std::env::var("PAYWATCH_SERVER_BIN")
            .unwrap_or_else(|_| "target/release/paywatch-server".into());
        let (program, before) = match wrapper.split_first() {
            Some((first, rest)) => (*first, rest.iter().copied().chain([bin.as_str()]).collect()),
            None => (bin.as_str(), Vec::new()),
        };
        let mut child = Command::new(program)
            .args(before)
            .args([
                "--port",
                "0",
                "--www",
                "/nonexistent",
                "--pkg",
                "/nonexistent",
            ])
            .args(["--demo-endpoints", "--rate-limit", "1000000"])
            .args([
                "--max-waiters-per-client",
                "1000000",
                "--max-orders",
                "1000000",
            ])
            .args(extra)
            .env("PAYWATCH_API_KEYS", BENCH_API_KEY)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                io::Error::other(format!(
                    "{bin}: {e} (cargo build --release -p paywatch-server)"
                ))
            })?;
        let line = first_line(&mut child).await?;
        let addr = line
            .trim()
            .strip_prefix("paywatch-server listening on http://")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| io::Error::other(format!("unexpected first line {line:?}")))?;
        Ok(Server { child, addr })
    }

    fn rss_kb(&self) -> u64 {
        let pid = self.child.id().unwrap_or(0);
        std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            })
            .unwrap_or(0)
    }

    /// User + system CPU time of the process so far, in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let pid = self.child.id().unwrap_or(0);
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the `(comm)`: state is field 3, utime 14, stime 15.
        let rest = stat.rsplit(')').next().unwrap_or("");
        let f: Vec<u64> = rest
            .split_whitespace()
            .skip(11)
            .take(2)
            .filter_map(|x| x.parse().ok())
            .collect();
        f.iter().sum()
    }

    /// Creates `n` orders `{prefix}{i}` over a few keep-alive connections.
    async fn create_orders(&self, prefix: &str, n: usize) -> io::Result<Vec<String>> {
        let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
        let creates = names
            .iter()
            .map(|no| Call {
                method: "POST",
                path: "/orders".into(),
                headers: Vec::new(),
                body: format!("{{\"order_no\":\"{no}\"}}"),
                want: 201,
            })
            .collect();
        send_over(self.addr, 8, creates).await?;
        Ok(names)
    }

    /// Opens one waiter per `(kind, order)`, `OPENING` at a time.
    async fn open_waiters(&self, plan: Vec<(Kind, String)>) -> io::Result<Vec<Waiter>> {
        let gate = Arc::new(Semaphore::new(OPENING));
        let mut tasks = Vec::with_capacity(plan.len());
        for (kind, order) in plan {
            let gate = gate.clone();
            let addr = self.addr;
            tasks.push(tokio::spawn(async move {
                let _permit = gate.acquire().await.expect("open gate");
                Waiter::open(kind, addr, &order).await
            }));
        }
        let mut waiters = Vec::with_capacity(tasks.len());
        for t in tasks {
            waiters.push(t.await.map_err(io::Error::other)??);
        }
        Ok(waiters)
    }

    /// RSS once it has stopped moving (held long-polls need a moment).
    async fn settled_rss_kb(&self) -> u64 {
        let mut last = self.rss_kb();
        for _ in 0..20 {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let now = self.rss_kb();
            if now.abs_diff(last) < 64 {
                return now;
            }
            last = now;
        }
        last
    }

    fn sigterm(&self) {
        if let Some(pid) = self.child.id() {
            // SAFETY: sending a signal to our own child process.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
        }
    }
}

/// The first line a child prints (its listening line).
async fn first_line(child: &mut Child) -> io::Result<String> {
    let stdout = child.stdout.take().expect("stdout piped");
    let mut line = String::new();
    tokio::io::BufReader::new(stdout)
        .read_line(&mut line)
        .await?;
    Ok(line)
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

/// `n` waiters split evenly over the kinds given, on orders `orders[i]`.
fn plan(kinds: &[Kind], orders: &[String], n: usize) -> Vec<(Kind, String)> {
    (0..n)
        .map(|i| (kinds[i % kinds.len()], orders[i % orders.len()].clone()))
        .collect()
}

// ------------------------------------------------------------- 1. capacity

/// With `mix_only`, just the 10k one-third-each row.
async fn capacity(mix_only: bool, only: Option<String>) -> io::Result<()> {
    println!("\n## Capacity: server RSS with N open waiters (distinct pending orders)\n");
    println!("| waiters | kind | RSS before | RSS with waiters | per waiter |");
    println!("|---:|---|---:|---:|---:|");
    let mut runs: Vec<(usize, Vec<Kind>, String)> = Vec::new();
    for n in [1_000, 5_000, 10_000] {
        for kind in Kind::ALL
            .iter()
            .copied()
            .filter(|k| !mix_only && only.as_deref().map_or(true, |o| o == k.name()))
        {
            runs.push((n, vec![kind], kind.name().into()));
        }
    }
    runs.push((10_000, Kind::ALL.to_vec(), "one-third each".into()));
    for (n, kinds, label) in runs {
        let server = Server::start(&[]).await?;
        let orders = server.create_orders("c", n).await?;
        let before = server.settled_rss_kb().await;
        let waiters = server.open_waiters(plan(&kinds, &orders, n)).await?;
        let with = server.settled_rss_kb().await;
        let per = (with.saturating_sub(before)) as f64 * 1024.0 / n as f64;
        println!(
            "| {n} | {label} | {} | {} | {:.1} KB |",
            mb(before),
            mb(with),
            per / 1024.0
        );
        drop(waiters);
    }
    Ok(())
}

// --------------------------------------------------------------- 2. fan-out

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn fanout() -> io::Result<()> {
    println!("\n## Fan-out: time from the pay request to each waiter seeing `paid`\n");
    println!(
        "| case | waiters | pays took | median | p99 | max | last waiter after last pay answered |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    // 10k waiters on 10k orders, one-third of each kind.
    {
        let n = 10_000;
        let server = Server::start(&[]).await?;
        let orders = server.create_orders("f", n).await?;
        let waiters = server.open_waiters(plan(&Kind::ALL, &orders, n)).await?;
        tokio::time::sleep(Duration::from_millis(500)).await; // long-polls held
        let seen: Vec<_> = waiters
            .into_iter()
            .map(|w| tokio::spawn(w.paid()))
            .collect();
        let (sent, first, last_answer) = pay_all(server.addr, &orders).await?;
        let mut lat = Vec::with_capacity(n);
        let mut last_seen = first;
        for (i, s) in seen.into_iter().enumerate() {
            let at = s.await.map_err(io::Error::other)??;
            lat.push(at.saturating_duration_since(sent[i]));
            last_seen = last_seen.max(at);
        }
        report(
            "10k distinct orders, mixed",
            &mut lat,
            last_answer - first,
            last_seen.saturating_duration_since(last_answer),
        );
    }
    // 1k waiters on one order.
    {
        let n = 1_000;
        let server = Server::start(&[]).await?;
        let orders = server.create_orders("one", 1).await?;
        let waiters = server.open_waiters(plan(&Kind::ALL, &orders, n)).await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let seen: Vec<_> = waiters
            .into_iter()
            .map(|w| tokio::spawn(w.paid()))
            .collect();
        let (sent, first, last_answer) = pay_all(server.addr, &orders).await?;
        let mut lat = Vec::with_capacity(n);
        let mut last_seen = first;
        for s in seen {
            let at = s.await.map_err(io::Error::other)??;
            lat.push(at.saturating_duration_since(sent[0]));
            last_seen = last_seen.max(at);
        }
        report(
            "1k waiters on one order, mixed",
            &mut lat,
            last_answer - first,
            last_seen.saturating_duration_since(last_answer),
        );
    }
    Ok(())
}

fn report(case: &str, lat: &mut [Duration], pays: Duration, tail: Duration) {
    lat.sort();
    println!(
        "| {case} | {} | {} | {} | {} | {} | {} |",
        lat.len(),
        ms(pays),
        ms(percentile(lat, 0.5)),
        ms(percentile(lat, 0.99)),
        ms(*lat.last().unwrap_or(&Duration::ZERO)),
        ms(tail)
    );
}

/// Pays every order over 16 keep-alive connections. Returns when each pay
/// was sent, when the first was sent and when the last was answered.
async fn pay_all(
    addr: SocketAddr,
    orders: &[String],
) -> io::Result<(Vec<Instant>, Instant, Instant)> {
    let conns = 16.min(orders.len());
    let first = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..conns {
        let mine: Vec<(usize, String)> = orders
            .iter()
            .enumerate()
            .skip(c)
            .step_by(conns)
            .map(|(i, o)| (i, o.clone()))
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut http = Http::connect(addr).await?;
            let mut sent = Vec::with_capacity(mine.len());
            for (i, no) in mine {
                let t = Instant::now();
                let (status, _) = http
                    .request("POST", &format!("/orders/{no}/pay"), "")
                    .await?;
                if status != 200 {
                    return Err(io::Error::other(format!("pay {no}: {status}")));
                }
                sent.push((i, t));
            }
            Ok::<_, io::Error>((sent, Instant::now()))
        }));
    }
    let mut sent = vec![first; orders.len()];
    let mut last = first;
    for t in tasks {
        let (times, done) = t.await.map_err(io::Error::other)??;
        for (i, at) in times {
            sent[i] = at;
        }
        last = last.max(done);
    }
    Ok((sent, first, last))
}

// ------------------------------------------------------------ 3. throughput

/// What `trivial-server` answers on `/pay`: the same shape and size as a
/// paywatch status body.
const TRIVIAL_BODY: &str =
    r#"{"payed":0,"status":"pending","order_no":"t0","expires_at":1795305600000}"#;

async fn trivial_server() {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/pay",
        get(|| async {
            (
                [
                    ("content-type", "application/json"),
                    ("cache-control", "no-store"),
                ],
                TRIVIAL_BODY,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!(
        "paywatch-server listening on http://{}",
        listener.local_addr().unwrap()
    );
    axum::serve(listener, app).await.unwrap();
}

async fn trivial() -> io::Result<Server> {
    let me = std::env::current_exe()?;
    let mut child = Command::new(me)
        .arg("trivial-server")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let line = first_line(&mut child).await?;
    let addr = line
        .trim()
        .rsplit("http://")
        .next()
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| io::Error::other(format!("trivial server said {line:?}")))?;
    Ok(Server { child, addr })
}

/// Requests per second over `conns` keep-alive connections for `secs`.
async fn hammer(addr: SocketAddr, path: &str, conns: usize, secs: f64) -> io::Result<f64> {
    let until = Instant::now() + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let path = path.to_string();
        tasks.push(tokio::spawn(async move {
            let mut http = Http::connect(addr).await?;
            let mut n = 0u64;
            while Instant::now() < until {
                let (status, _) = http.request("GET", &path, "").await?;
                if status != 200 {
                    return Err(io::Error::other(format!("GET {path}: {status}")));
                }
                n += 1;
            }
            Ok::<_, io::Error>(n)
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.map_err(io::Error::other)??;
    }
    Ok(total as f64 / secs)
}

/// One round of the throughput comparison.
struct Round {
    /// paywatch req/s ÷ trivial req/s.
    rate: f64,
    /// trivial CPU µs/req ÷ paywatch CPU µs/req.
    cost: f64,
    theirs: f64,
    ours: f64,
    theirs_cpu: f64,
    ours_cpu: f64,
}

/// `hammer`, plus the server's CPU time per request in µs.
async fn measured(server: &Server, path: &str, conns: usize, secs: f64) -> io::Result<(f64, f64)> {
    let before = server.cpu_ticks();
    let rate = hammer(server.addr, path, conns, secs).await?;
    let ticks = server.cpu_ticks().saturating_sub(before);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let cpu_us = ticks as f64 / hz * 1e6 / (rate * secs);
    Ok((rate, cpu_us))
}

async fn throughput() -> io::Result<()> {
    println!("\n## `/pay` check throughput beside a trivial handler (same box, same client)\n");
    let server = Server::start(&[]).await?;
    server.create_orders("t", 1).await?;
    let triv = trivial().await?;
    let check = "/pay?action=check_pay_status_by_order&order_no=t0&t=1";
    let (conns, secs, rounds) = (16, 2.0, 7);
    // Warm both, then alternate in short rounds: the cores are shared with
    // whatever else runs, so only back-to-back rounds compare fairly.
    hammer(server.addr, check, conns, 0.5).await?;
    hammer(triv.addr, "/pay", conns, 0.5).await?;
    // Per round: requests/s, and server CPU time per request (what
    // throughput would be on cores of its own, whatever else runs).
    let mut rows = Vec::new();
    for _ in 0..rounds {
        let (theirs, theirs_cpu) = measured(&triv, "/pay", conns, secs).await?;
        let (ours, ours_cpu) = measured(&server, check, conns, secs).await?;
        rows.push(Round {
            rate: ours / theirs,
            cost: theirs_cpu / ours_cpu,
            theirs,
            ours,
            theirs_cpu,
            ours_cpu,
        });
    }
    println!("| round | trivial handler: req/s, CPU µs/req | paywatch `GET /pay`: req/s, CPU µs/req | req/s ratio | CPU-cost ratio |");
    println!("|---:|---:|---:|---:|---:|");
    for (i, r) in rows.iter().enumerate() {
        println!(
            "| {} | {:.0}, {:.1} | {:.0}, {:.1} | {:.2} | {:.2} |",
            i + 1,
            r.theirs,
            r.theirs_cpu,
            r.ours,
            r.ours_cpu,
            r.rate,
            r.cost
        );
    }
    let median = |f: fn(&Round) -> f64| {
        let mut v: Vec<f64> = rows.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "\n{conns} keep-alive connections, {rounds} alternating rounds of {secs} s; median \
         req/s ratio **{:.2}**, median CPU-cost ratio (trivial µs/req ÷ paywatch µs/req) **{:.2}**",
        median(|r| r.rate),
        median(|r| r.cost)
    );
    Ok(())
}

// -------------------------------------------------------------- 4. shutdown

async fn shutdown() -> io::Result<()> {
    println!("\n## SIGTERM with 1k waiters of each kind and 20 slowloris connections\n");
    let deadline = Duration::from_secs(10);
    let server = Server::start(&[]).await?;
    let orders = server.create_orders("s", 3_000).await?;
    let waiters = server
        .open_waiters(plan(&Kind::ALL, &orders, 3_000))
        .await?;
    let mut slow = Vec::new();
    for _ in 0..20 {
        slow.push(client::slowloris(server.addr).await?);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let endings: Vec<_> = waiters
        .into_iter()
        .map(|w| {
            let kind = w.kind;
            tokio::spawn(async move { (kind, w.ending(deadline + Duration::from_secs(2)).await) })
        })
        .collect();
    let t = Instant::now();
    server.sigterm();
    let Server { mut child, .. } = server;
    let status = tokio::time::timeout(deadline + Duration::from_secs(5), child.wait()).await;
    let took = t.elapsed();
    let mut count = [[0usize; 3]; 3]; // kind × (good, cut, other)
    for e in endings {
        let (kind, ending) = e.await.map_err(io::Error::other)?;
        let k = Kind::ALL.iter().position(|x| *x == kind).unwrap_or(0);
        let good = matches!(
            (kind, &ending),
            (Kind::LongPoll, Ending::Answered)
                | (Kind::Sse, Ending::CleanEnd)
                | (Kind::Ws, Ending::Close(1001))
        );
        count[k][if good {
            0
        } else if ending == Ending::Cut {
            1
        } else {
            2
        }] += 1;
    }
    match status {
        Ok(Ok(s)) => println!(
            "exit: {s} after {} (deadline {} s)\n",
            ms(took),
            deadline.as_secs()
        ),
        _ => println!("exit: NOT within {} s\n", deadline.as_secs() + 5),
    }
    println!("| kind | ended properly | cut | other |");
    println!("|---|---:|---:|---:|");
    for (k, kind) in Kind::ALL.iter().enumerate() {
        let what = match kind {
            Kind::LongPoll => "answered 200",
            Kind::Sse => "stream ended cleanly",
            Kind::Ws => "Close 1001",
        };
        println!(
            "| {} | {} / 1000 {what} | {} | {} |",
            kind.name(),
            count[k][0],
            count[k][1],
            count[k][2]
        );
    }
    drop(slow);
    Ok(())
}

// --------------------------------------------------------------- 5. cluster

/// A `redis-server` of the bench's own: loopback, a free port, a temp dir,
/// no persistence. Killed on drop.
struct Redis {
    _child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Redis {
    async fn start() -> io::Result<Redis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let dir = std::env::temp_dir().join(format!("paywatch-bench-redis-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&dir)
            .stdout(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                io::Error::other(format!("redis-server: {e} (scripts/setup.sh installs it)"))
            })?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                return Err(io::Error::other("redis-server did not start"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Redis {
            _child: child,
            port,
            dir,
        })
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// How long a waiter keeps listening after `paid` to catch a second one.
const QUIET: Duration = Duration::from_millis(300);

async fn cluster() -> io::Result<()> {
    let redis = Redis::start().await?;
    let url = redis.url();
    println!("\n## Cluster: two instances through Redis, beside one in memory\n");
    println!("Waiter `i` sits on instance `i mod 2` and its order is paid on the other one");
    println!("(in memory: the one instance does both). Paced: 2,000 orders paid one every");
    println!(
        "5 ms while all waiters are open; burst: the other 8,000 as fast as the client can.\n"
    );
    println!("| case | waiters | phase | orders | median | p99 | max | told `paid` once |");
    println!("|---|---:|---|---:|---:|---:|---:|---:|");
    {
        let one = Server::start(&[]).await?;
        cross("in memory, one instance", &[&one], 10_000, 2_000).await?;
    }
    {
        let a = Server::start(&["--redis", &url]).await?;
        let b = Server::start(&["--redis", &url]).await?;
        cross(
            "Redis, pay on B → waiter on A (and back)",
            &[&a, &b],
            10_000,
            2_000,
        )
        .await?;
    }
    kill_one(&url).await
}

/// `n` waiters (one-third of each kind) on `n` orders spread over
/// `servers`, each order paid on the next server round (the same one if
/// there is one). The first `paced` orders are paid one every 5 ms, the rest
/// in a burst.
async fn cross(case: &str, servers: &[&Server], n: usize, paced: usize) -> io::Result<()> {
    let k = servers.len();
    let orders = servers[0].create_orders("x", n).await?;
    let mut waiters = Vec::with_capacity(n);
    for (s, server) in servers.iter().enumerate() {
        let mine: Vec<(Kind, String)> = (s..n)
            .step_by(k)
            .map(|i| (Kind::ALL[i % 3], orders[i].clone()))
            .collect();
        let opened = server.open_waiters(mine).await?;
        waiters.extend((s..n).step_by(k).zip(opened));
    }
    waiters.sort_by_key(|(i, _)| *i);
    tokio::time::sleep(Duration::from_millis(500)).await; // long-polls held
    let seen: Vec<_> = waiters
        .into_iter()
        .map(|(_, w)| tokio::spawn(w.paid_counted(QUIET)))
        .collect();
    let payer = |i: usize| servers[(i + 1) % k].addr;

    // Paced: one pay every 5 ms, each on its own server's connection.
    let mut conns = Vec::new();
    for s in servers {
        conns.push(Http::connect(s.addr).await?);
    }
    let mut sent = vec![Instant::now(); n];
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    for (i, no) in orders.iter().enumerate().take(paced) {
        tick.tick().await;
        let c = &mut conns[(i + 1) % k];
        sent[i] = Instant::now();
        let (status, _) = c.request("POST", &format!("/orders/{no}/pay"), "").await?;
        if status != 200 {
            return Err(io::Error::other(format!("pay {no}: {status}")));
        }
    }
    // Burst: the rest, grouped by the server that pays them.
    let mut bursts = Vec::new();
    for server in servers {
        let addr = server.addr;
        let idx: Vec<usize> = (paced..n).filter(|i| payer(*i) == addr).collect();
        let list: Vec<String> = idx.iter().map(|i| orders[*i].clone()).collect();
        bursts.push((idx, tokio::spawn(async move { pay_all(addr, &list).await })));
    }
    for (idx, task) in bursts {
        let (times, _, _) = task.await.map_err(io::Error::other)??;
        for (j, i) in idx.into_iter().enumerate() {
            sent[i] = times[j];
        }
    }
    let mut paced_lat = Vec::new();
    let mut burst_lat = Vec::new();
    let mut once = [0usize; 2];
    for (i, s) in seen.into_iter().enumerate() {
        let (at, count) = s.await.map_err(io::Error::other)??;
        let d = at.saturating_duration_since(sent[i]);
        let phase = usize::from(i >= paced);
        once[phase] += usize::from(count == 1);
        if phase == 0 {
            paced_lat.push(d);
        } else {
            burst_lat.push(d);
        }
    }
    for (phase, lat, told) in [
        ("paced", &mut paced_lat, once[0]),
        ("burst", &mut burst_lat, once[1]),
    ] {
        lat.sort();
        println!(
            "| {case} | {n} | {phase} | {} | {} | {} | {} | {told} / {} |",
            lat.len(),
            ms(percentile(lat, 0.5)),
            ms(percentile(lat, 0.99)),
            ms(*lat.last().unwrap_or(&Duration::ZERO)),
            lat.len()
        );
    }
    Ok(())
}

/// 1,000 waiters on instance A (one-third of each kind); A is killed
/// (SIGKILL); each waiter reconnects to B, as a client behind a balancer
/// would; then every order is paid on B.
async fn kill_one(url: &str) -> io::Result<()> {
    let n = 1_000;
    let a = Server::start(&["--redis", url]).await?;
    let b = Server::start(&["--redis", url]).await?;
    let orders = a.create_orders("k", n).await?;
    let waiters = a.open_waiters(plan(&Kind::ALL, &orders, n)).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let gate = Arc::new(Semaphore::new(OPENING));
    let (back_tx, mut back_rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let tasks: Vec<_> = waiters
        .into_iter()
        .zip(orders.iter().cloned())
        .map(|(w, no)| {
            let (gate, back_tx, to) = (gate.clone(), back_tx.clone(), b.addr);
            tokio::spawn(async move {
                let kind = w.kind;
                if let Ok(told) = w.paid_counted(QUIET).await {
                    return Ok::<_, io::Error>(told); // paid on A: not expected
                }
                let again = {
                    let _permit = gate.acquire().await.expect("open gate");
                    Waiter::open(kind, to, &no).await?
                };
                let _ = back_tx.send(Instant::now());
                again.paid_counted(QUIET).await
            })
        })
        .collect();
    drop(back_tx);
    let Server { mut child, .. } = a;
    let killed = Instant::now();
    child.start_kill()?;
    let mut backs = Vec::with_capacity(n);
    while backs.len() < n {
        match tokio::time::timeout(Duration::from_secs(30), back_rx.recv()).await {
            Ok(Some(at)) => backs.push(at.saturating_duration_since(killed)),
            _ => break,
        }
    }
    backs.sort();
    pay_all(b.addr, &orders).await?;
    let (mut paid, mut once) = (0, 0);
    for t in tasks {
        if let Ok(Ok((_, count))) = t.await {
            paid += 1;
            once += usize::from(count == 1);
        }
    }
    println!("\n### One of two instances killed (SIGKILL) with {n} waiters on it\n");
    println!("| waiters on the killed instance | back on the other (median / last, after the kill) | paid after | told `paid` once |");
    println!("|---:|---:|---:|---:|");
    println!(
        "| {n} ({} reconnected) | {} / {} | {paid} / {n} | {once} / {n} |",
        backs.len(),
        ms(percentile(&backs, 0.5)),
        ms(*backs.last().unwrap_or(&Duration::ZERO)),
    );
    Ok(())
}

// ---------------------------------------------------------------- 6. ingest

/// The shared vectors' WeChat Pay merchant (test-only keys): the server
/// verifies with the public key, this bench signs with the private one.
const WECHATPAY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/wechatpay");

fn wechatpay_path(name: &str) -> String {
    format!("{WECHATPAY}/{name}")
}

fn wechatpay_text(name: &str) -> io::Result<String> {
    let path = wechatpay_path(name);
    let text =
        std::fs::read_to_string(&path).map_err(|e| io::Error::other(format!("{path}: {e}")))?;
    Ok(text.trim_end().to_owned())
}

async fn ingest() -> io::Result<()> {
    let mchid = wechatpay_text("mchid.txt")?;
    let key_id = wechatpay_text("public_key_id.txt")?;
    let signer = Arc::new(
        Signer::new(
            &wechatpay_text("private_key.pem")?,
            &key_id,
            &mchid,
            &wechatpay_text("apiv3_key.txt")?,
        )
        .map_err(io::Error::other)?,
    );
    let (apiv3, public) = (
        wechatpay_path("apiv3_key.txt"),
        wechatpay_path("public_key.pem"),
    );
    let flags = [
        "--wechatpay-mchid",
        &mchid,
        "--wechatpay-apiv3-key-file",
        &apiv3,
        "--wechatpay-public-key-file",
        &public,
        "--wechatpay-public-key-id",
        &key_id,
    ];
    println!("\n## Ingest: signed WeChat Pay notifications through `/notify/wechatpay`\n");

    // From the notification sent to the waiter told, one at a time.
    let n = 1_000;
    println!("{n} orders, one waiter each (one-third of each kind), notified one after another");
    println!("on one keep-alive connection: from the request sent to the waiter seeing `paid`.\n");
    println!("| notify → waiter told | median | p99 | max |");
    println!("|---|---:|---:|---:|");
    let db = bench_db("ingest")?;
    let sqlite = format!("sqlite:{}", db.display());
    for (label, store) in [
        ("memory store", None),
        ("sqlite store", Some(sqlite.as_str())),
    ] {
        let mut args = flags.to_vec();
        if let Some(store) = store {
            args.extend(["--store", store]);
        }
        let server = Server::start(&args).await?;
        let orders = server.create_orders("n", n).await?;
        let notes = sign_all(&signer, &orders).await?;
        let waiters = server.open_waiters(plan(&Kind::ALL, &orders, n)).await?;
        tokio::time::sleep(Duration::from_millis(500)).await; // long-polls held
        let seen: Vec<_> = waiters
            .into_iter()
            .map(|w| tokio::spawn(w.paid()))
            .collect();
        let mut http = Http::connect(server.addr).await?;
        let mut sent = Vec::with_capacity(n);
        for note in &notes {
            sent.push(Instant::now());
            expect(&mut http, note, 204).await?;
        }
        let mut lat = Vec::with_capacity(n);
        for (s, at) in seen.into_iter().zip(sent) {
            lat.push(
                s.await
                    .map_err(io::Error::other)??
                    .saturating_duration_since(at),
            );
        }
        lat.sort();
        println!(
            "| {n} notifications, {label} | {} | {} | {} |",
            ms_fine(percentile(&lat, 0.5)),
            ms_fine(percentile(&lat, 0.99)),
            ms_fine(*lat.last().unwrap_or(&Duration::ZERO)),
        );
    }
    let _ = std::fs::remove_dir_all(db.parent().unwrap_or(&db));

    // How many a second one core takes, valid and forged.
    {
        let n = 4_000;
        let pinned = std::path::Path::new("/usr/bin/taskset").exists();
        let wrapper: &[&str] = if pinned { &["taskset", "-c", "0"] } else { &[] };
        let server = Server::launch(wrapper, &flags).await?;
        let orders = server.create_orders("t", n).await?;
        let valid = Arc::new(sign_all(&signer, &orders).await?);
        let forged = Arc::new(forge(&valid));
        println!(
            "\n{n} notifications over 16 keep-alive connections, the server {}.",
            if pinned {
                "pinned to one core (`taskset -c 0`)"
            } else {
                "unpinned (no taskset here)"
            }
        );
        println!("A forged one carries another notification's valid signature, so it costs a full");
        println!("RSA verification before its `401`.\n");
        println!("| notifications | reply | per second | server CPU each |");
        println!("|---|---:|---:|---:|");
        for (label, set, want) in [
            ("forged (another one's signature)", &forged, 401),
            ("valid, first delivery (marks paid)", &valid, 204),
            ("valid, resent (duplicates)", &valid, 204),
        ] {
            let (rate, cpu) = send_all(&server, set, want).await?;
            println!(
                "| {label} | {want} | {rate:.0}/s | {:.0} µs |",
                cpu.as_secs_f64() * 1e6
            );
        }
    }
    Ok(())
}

/// Milliseconds with two decimals (these latencies are sub-millisecond).
fn ms_fine(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// A `TRANSACTION.SUCCESS` for each order, signed now, on every core.
async fn sign_all(signer: &Arc<Signer>, orders: &[String]) -> io::Result<Vec<Notification>> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(io::Error::other)?
        .as_secs();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let tasks: Vec<_> = orders
        .chunks(orders.len().div_ceil(threads).max(1))
        .map(|chunk| {
            let (chunk, signer) = (chunk.to_vec(), signer.clone());
            tokio::task::spawn_blocking(move || {
                chunk
                    .iter()
                    .map(|no| signer.transaction_success(no, 1, now))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut all = Vec::with_capacity(orders.len());
    for t in tasks {
        all.extend(t.await.map_err(io::Error::other)?);
    }
    Ok(all)
}

/// Each notification with the next one's signature: well-formed, wrong.
fn forge(valid: &[Notification]) -> Vec<Notification> {
    let signature = |n: &Notification| {
        n.headers
            .iter()
            .find(|(name, _)| *name == "Wechatpay-Signature")
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    (0..valid.len())
        .map(|i| {
            let other = signature(&valid[(i + 1) % valid.len()]);
            let headers = valid[i]
                .headers
                .iter()
                .map(|(name, v)| {
                    let v = if *name == "Wechatpay-Signature" {
                        other.clone()
                    } else {
                        v.clone()
                    };
                    (*name, v)
                })
                .collect();
            Notification {
                headers,
                body: valid[i].body.clone(),
            }
        })
        .collect()
}

/// Posts one notification and checks the reply's status.
async fn expect(http: &mut Http, note: &Notification, want: u16) -> io::Result<()> {
    let (status, body) = http
        .request_with("POST", "/notify/wechatpay", &note.headers, &note.body)
        .await?;
    if status != want {
        return Err(io::Error::other(format!(
            "notify: {status} {} (expected {want})",
            String::from_utf8_lossy(&body)
        )));
    }
    Ok(())
}

/// Sends every notification over 16 connections: the rate, and the
/// server's CPU time per notification.
async fn send_all(
    server: &Server,
    notes: &Arc<Vec<Notification>>,
    want: u16,
) -> io::Result<(f64, Duration)> {
    let conns = 16;
    let (cpu0, t0) = (server.cpu_ticks(), Instant::now());
    let mut tasks = Vec::new();
    for c in 0..conns {
        let (notes, addr) = (notes.clone(), server.addr);
        tasks.push(tokio::spawn(async move {
            let mut http = Http::connect(addr).await?;
            for note in notes.iter().skip(c).step_by(conns) {
                expect(&mut http, note, want).await?;
            }
            Ok::<_, io::Error>(())
        }));
    }
    for t in tasks {
        t.await.map_err(io::Error::other)??;
    }
    let elapsed = t0.elapsed();
    // SAFETY: sysconf reads a constant.
    let ticks_per_sec = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let cpu = (server.cpu_ticks() - cpu0) as f64 / ticks_per_sec;
    let n = notes.len() as f64;
    Ok((n / elapsed.as_secs_f64(), Duration::from_secs_f64(cpu / n)))
}

/// A fresh `orders.db` path in a directory of its own under the temp dir.
fn bench_db(tag: &str) -> io::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("paywatch-bench-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir.join("orders.db"))
}

// --------------------------------------------------------------- 7. durable

async fn durable() -> io::Result<()> {
    let n = 20_000;
    let conns = 16;
    println!("\n## Durable: acknowledged status changes through `/api`\n");
    println!("{n} orders marked paid by `PUT /api/orders/{{no}}/status` over {conns} keep-alive");
    println!("connections; each `200` comes after the change is committed (sqlite:");
    println!("WAL, `synchronous = FULL`, one writer that group-commits).\n");
    println!("| store | changes | took | acknowledged per second |");
    println!("|---|---:|---:|---:|");
    let db = bench_db("durable")?;
    let sqlite = format!("sqlite:{}", db.display());
    for (label, extra) in [
        ("memory", Vec::new()),
        ("sqlite", vec!["--store", sqlite.as_str()]),
    ] {
        let server = Server::start(&extra).await?;
        let auth = ("Authorization", format!("Bearer {BENCH_API_KEY}"));
        let puts = (0..n)
            .map(|i| Call {
                method: "PUT",
                path: format!("/api/orders/d{i}/status"),
                headers: vec![auth.clone()],
                body: r#"{"status":"paid"}"#.into(),
                want: 200,
            })
            .collect();
        let t0 = Instant::now();
        send_over(server.addr, conns, puts).await?;
        let took = t0.elapsed();
        println!(
            "| {label} | {n} | {:.2} s | {:.0}/s |",
            took.as_secs_f64(),
            n as f64 / took.as_secs_f64()
        );
    }
    let _ = std::fs::remove_dir_all(db.parent().unwrap_or(&db));
    Ok(())
}
