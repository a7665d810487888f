//! The real binary: CLI, the listening line, graceful exit on SIGTERM.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_paywatch-server");

#[test]
fn help_and_bad_arguments() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--host",
        "--port",
        "--www",
        "--pkg",
        "--heartbeat-ms",
        "--order-ttl-sec",
        "--test-hooks",
        "--public-url",
        "--allow-origin",
        "--demo-endpoints",
        "--rate-limit",
        "--max-waiters-per-client",
        "--max-orders",
        "--keep-ended-sec",
        "--header-timeout-ms",
        "--body-timeout-ms",
        "--write-timeout-ms",
        "--shutdown-timeout-ms",
        "--redis",
    ] {
        assert!(text.contains(flag), "usage mentions {flag}");
    }
    let out = Command::new(BIN).arg("--nope").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--nope"));
}

#[cfg(unix)]
#[tokio::test]
async fn prints_listening_line_and_exits_on_sigterm() {
    let mut child = Command::new(BIN)
        .args([
            "--port",
            "0",
            "--heartbeat-ms",
            "100",
            "--www",
            "/nonexistent",
            "--pkg",
            "/nonexistent",
        ])
        .env("PAYWATCH_API_KEYS", "old-key-0123456789,new-key-0123456789")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .trim_end()
        .strip_prefix("paywatch-server listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let client = reqwest::Client::new();
    // The open create is a demo door; the shop's is /api, keyed from the
    // environment (two keys at once: rotation).
    let open = client.post(format!("{url}/orders")).send().await.unwrap();
    assert_eq!(open.status(), 404);
    let created: serde_json::Value = client
        .post(format!("{url}/api/orders"))
        .bearer_auth("new-key-0123456789")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let no = created["order_no"].as_str().unwrap();
    // Hooks are off by default.
    let res = client
        .get(format!("{url}/_test/orders/{no}/stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    // An open SSE stream must not keep the server alive.
    let mut sse = client
        .get(format!("{url}/payment-status?order_no={no}"))
        .send()
        .await
        .unwrap();
    assert!(sse.chunk().await.unwrap().is_some());

    let t = Instant::now();
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "exit status {status}");
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "server did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert!(
        rest.is_empty(),
        "only one line on stdout, got more: {rest:?}"
    );
}
