//! The real binary: CLI, the listening line, graceful exit on SIGTERM.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::binary::BIN;

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
    let common::binary::Binary {
        mut child,
        mut stdout,
        url,
    } = common::binary::spawn(|c| {
        c.args(["--heartbeat-ms", "100"])
            .env("PAYWATCH_API_KEYS", "old-key-0123456789,new-key-0123456789")
            .stderr(Stdio::piped())
    });
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

/// `--log-format json`: every stderr line is one JSON object; a request
/// line, a status-change line and a refused notification's warning are
/// there with their fields; no key, secret, token or signature is.
#[cfg(unix)]
#[tokio::test]
async fn json_logs_parse_and_hold_no_secret() {
    const KEY: &str = "log-test-key-SECRET-0123456789";
    const WRONG_KEY: &str = "log-test-wrong-SECRET-987654";
    const SIGNATURE: &str = "c2lnbmF0dXJlLVNFQ1JFVC1ub3QtcmVhbA==";
    const TOKEN: &str = "watch-token-SECRET-42";
    let vectors = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/wechatpay");
    let text = |f: &str| {
        std::fs::read_to_string(vectors.join(f))
            .unwrap()
            .trim()
            .to_owned()
    };
    let file = |f: &str| vectors.join(f).to_string_lossy().into_owned();
    let common::binary::Binary { mut child, url, .. } = common::binary::spawn(|c| {
        c.args(["--log-format", "json"])
            .args(["--wechatpay-mchid", &text("mchid.txt")])
            .args(["--wechatpay-apiv3-key-file", &file("apiv3_key.txt")])
            .args(["--wechatpay-public-key-file", &file("public_key.pem")])
            .args(["--wechatpay-public-key-id", &text("public_key_id.txt")])
            .env("PAYWATCH_API_KEYS", KEY)
            .env_remove("RUST_LOG")
            .stderr(Stdio::piped())
    });

    let client = reqwest::Client::new();
    let res = client
        .post(format!("{url}/api/orders"))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"order_no": "LOG-1", "amount": 100}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let res = client
        .get(format!("{url}/api/orders/LOG-1"))
        .bearer_auth(WRONG_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = client
        .get(format!(
            "{url}/pay?action=check_pay_status_by_order&order_no=LOG-1&token={TOKEN}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = client
        .post(format!("{url}/notify/wechatpay"))
        .header("Wechatpay-Timestamp", "1")
        .header("Wechatpay-Nonce", "n")
        .header("Wechatpay-Signature", SIGNATURE)
        .header("Wechatpay-Serial", text("public_key_id.txt"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = client
        .put(format!("{url}/api/orders/LOG-1/status"))
        .bearer_auth(KEY)
        .json(&serde_json::json!({"status": "paid"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    assert!(Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let mut logs = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut logs)
        .unwrap();
    assert!(child.wait().unwrap().success());

    let mut lines = Vec::new();
    for l in logs.lines().filter(|l| l.starts_with('{')) {
        let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"));
        lines.push(v);
    }
    let find = |message: &str| {
        lines
            .iter()
            .filter(|v| v["fields"]["message"] == message)
            .cloned()
            .collect::<Vec<_>>()
    };
    let requests = find("request");
    assert_eq!(requests.len(), 5, "one line per request: {logs}");
    let put = requests
        .iter()
        .find(|v| v["fields"]["method"] == "PUT")
        .unwrap();
    assert_eq!(put["fields"]["route"], "/api/orders/:no/status");
    assert_eq!(put["fields"]["status"], 200);
    assert!(put["fields"]["duration_ms"].as_f64().is_some());
    assert!(put["fields"]["client"]
        .as_str()
        .unwrap()
        .starts_with("127.0.0.1:"));
    let changed = find("status changed");
    assert_eq!(changed.len(), 1, "{logs}");
    assert_eq!(changed[0]["fields"]["order_no"], "LOG-1");
    assert_eq!(changed[0]["fields"]["source"], "api");
    assert!(
        lines.iter().any(|v| {
            let f = &v["fields"];
            v["level"] == "WARN"
                && f["message"] == "notification refused"
                && f["platform"] == "wechatpay"
                && f["result"] == "forged"
                && f["reason"].as_str().is_some_and(|r| !r.is_empty())
        }),
        "a warning for the refused notification, with its reason: {logs}"
    );
    for secret in [
        KEY,
        WRONG_KEY,
        SIGNATURE,
        TOKEN,
        &text("apiv3_key.txt"),
        "SECRET",
    ] {
        assert!(!logs.contains(secret), "{secret:?} in the logs:\n{logs}");
    }
    // Every non-JSON line is the plain shutdown notice.
    for l in logs.lines().filter(|l| !l.starts_with('{')) {
        assert!(l.starts_with("paywatch-server: "), "not JSON: {l}");
    }
}

/// Runs the binary with `args` and `env` (and no other PAYWATCH_ variable):
/// `(exit code, stdout, stderr)`.
fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("PAYWATCH_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    let out = cmd.output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (
        out.status.code().unwrap_or(-1),
        text(out.stdout),
        text(out.stderr),
    )
}

fn config_file(text: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path =
        std::env::temp_dir().join(format!("paywatch-config-{}-{n}.toml", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn flags_env_and_file_give_the_same_effective_config() {
    let by_flags = run(
        &[
            "--print-config",
            "--port",
            "9001",
            "--heartbeat-ms",
            "300",
            "--allow-origin",
            "http://a.example",
            "--demo-endpoints",
            "--redis",
            "redis://:hunter2@127.0.0.1:6379",
        ],
        &[],
    );
    let by_env = run(
        &["--print-config"],
        &[
            ("PAYWATCH_PORT", "9001"),
            ("PAYWATCH_HEARTBEAT_MS", "300"),
            ("PAYWATCH_ALLOW_ORIGIN", "http://a.example"),
            ("PAYWATCH_DEMO_ENDPOINTS", "true"),
            ("PAYWATCH_REDIS", "redis://:hunter2@127.0.0.1:6379"),
        ],
    );
    let file = config_file(
        "port = 9001\nheartbeat-ms = 300\nallow-origin = [\"http://a.example\"]\n\
         demo-endpoints = true\nredis = \"redis://:hunter2@127.0.0.1:6379\"\n",
    );
    let by_file = run(&["--print-config", "--config", file.to_str().unwrap()], &[]);
    assert_eq!(by_flags.0, 0, "{}", by_flags.2);
    assert_eq!(by_flags, by_env);
    assert_eq!(by_flags, by_file);
    let text = &by_flags.1;
    for line in [
        "port = 9001",
        "heartbeat-ms = 300",
        "demo-endpoints = true",
        "host = \"127.0.0.1\"",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    assert!(
        !text.contains("hunter2"),
        "the Redis password is redacted:\n{text}"
    );
    assert!(text.contains("redis://:***@127.0.0.1:6379"));

    // The printed config reads back as the same config.
    let again = config_file(text);
    let round = run(
        &["--print-config", "--config", again.to_str().unwrap()],
        &[],
    );
    assert_eq!(
        round.1.replace(":***@", ":hunter2@"),
        text.replace(":***@", ":hunter2@")
    );
}

#[test]
fn a_flag_beats_env_which_beats_the_file() {
    let file = config_file("port = 3\n");
    let f = file.to_str().unwrap();
    let port = |args: &[&str], env: &[(&str, &str)]| {
        let (code, out, err) = run(args, env);
        assert_eq!(code, 0, "{err}");
        out.lines()
            .find(|l| l.starts_with("port = "))
            .unwrap()
            .to_owned()
    };
    let env = [("PAYWATCH_PORT", "2")];
    assert_eq!(
        port(&["--print-config", "--config", f, "--port", "1"], &env),
        "port = 1"
    );
    assert_eq!(port(&["--print-config", "--config", f], &env), "port = 2");
    assert_eq!(port(&["--print-config", "--config", f], &[]), "port = 3");
    assert_eq!(port(&["--print-config"], &[]), "port = 8080");
    // The file can also be named by PAYWATCH_CONFIG.
    assert_eq!(
        port(&["--print-config"], &[("PAYWATCH_CONFIG", f)]),
        "port = 3"
    );
}

#[test]
fn a_bad_value_or_an_unknown_key_exits_2_with_its_name() {
    let bad = |args: &[&str], env: &[(&str, &str)], name: &str| {
        let (code, _, err) = run(args, env);
        assert_eq!(code, 2, "{args:?} {env:?}: {err}");
        assert!(err.contains(name), "{args:?} {env:?}: {err:?} names {name}");
    };
    bad(&["--port", "x"], &[], "--port");
    bad(&[], &[("PAYWATCH_PORT", "x")], "--port");
    bad(&["--heartbeat-ms", "0"], &[], "--heartbeat-ms");
    bad(&["--log-format", "xml"], &[], "--log-format");
    bad(&[], &[("PAYWATCH_TEST_HOOKS", "maybe")], "--test-hooks");
    let unknown = config_file("prot = 1\n");
    bad(&["--config", unknown.to_str().unwrap()], &[], "prot");
    let wrong = config_file("port = \"high\"\n");
    bad(&["--config", wrong.to_str().unwrap()], &[], "port");
    let zero = config_file("heartbeat-ms = 0\n");
    bad(&["--config", zero.to_str().unwrap()], &[], "heartbeat-ms");
    bad(
        &["--config", "/nonexistent/paywatch.toml"],
        &[],
        "/nonexistent/paywatch.toml",
    );
}

#[test]
fn help_shows_each_flags_default_and_env_name() {
    let (code, text, _) = run(&["--help"], &[]);
    assert_eq!(code, 0);
    for (flag, env) in [
        ("--port", "PAYWATCH_PORT"),
        ("--heartbeat-ms", "PAYWATCH_HEARTBEAT_MS"),
        ("--admin-listen", "PAYWATCH_ADMIN_LISTEN"),
        (
            "--wechatpay-public-key-file",
            "PAYWATCH_WECHATPAY_PUBLIC_KEY_FILE",
        ),
        ("--shutdown-timeout-ms", "PAYWATCH_SHUTDOWN_TIMEOUT_MS"),
    ] {
        assert!(text.contains(flag), "{flag}");
        assert!(text.contains(&format!("[env: {env}=]")), "{env} in\n{text}");
    }
    assert!(text.contains("[default: 8080]"));
    assert!(text.contains("--config"));
    assert!(text.contains("--print-config"));
}
