//! Command-line options. Hand-written on purpose: eight flags do not need a
//! parser crate.

use std::path::PathBuf;
use std::time::Duration;

use crate::limits::{self, Limits};

/// Everything the server can be told at start.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to bind. Default `127.0.0.1`: the server is a local tool.
    pub host: String,
    /// Port to bind; `0` lets the OS pick a free one.
    pub port: u16,
    /// Directory served at `/` (the demo pages).
    pub www: PathBuf,
    /// Directory served at `/pkg/` (the built wasm package).
    pub pkg: PathBuf,
    /// Gap between SSE comment heartbeats and WebSocket pings.
    pub heartbeat: Duration,
    /// Lifetime of an order created without `ttl_ms`.
    pub order_ttl: Duration,
    /// Mount the `/_test/` routes (stats, fault injection).
    pub test_hooks: bool,
    /// Base URL for links handed to phones (`pay_url`, QR code), e.g.
    /// `http://192.168.1.20:8080`. Without it the request's `Host` is used.
    pub public_url: Option<String>,
    /// Deadlines, caps, rate limits, allowed origins, demo endpoints.
    pub limits: Limits,
    /// `redis://host:port[/db]`: keep orders in Redis and fan changes out
    /// to every instance through it. `None`: the in-memory store.
    pub redis: Option<String>,
    /// Where paid statuses may come from: `/api` keys, WeChat Pay, Alipay.
    pub payments: Payments,
    /// `--log-format json`: one JSON object a line on stderr (else text).
    pub log_json: bool,
    /// `--admin-listen HOST:PORT`: serve `/metrics`, `/healthz` and
    /// `/readyz` there (never on the public listener). Off by default.
    pub admin_listen: Option<std::net::SocketAddr>,
    /// Tests only (no flag): the Unix time, in seconds, at which the notify
    /// doors check a WeChat Pay timestamp, instead of the clock.
    pub notify_clock: Option<u64>,
}

/// The doors that mark orders paid (CONTRACT §5). Files are read at start;
/// nothing here is ever printed.
#[derive(Clone, Debug, Default)]
pub struct Payments {
    /// `--api-key-file`: one `/api` key a line, `#` comments.
    pub api_key_file: Option<PathBuf>,
    /// `PAYWATCH_API_KEYS`: comma-separated `/api` keys.
    pub api_keys_env: Option<String>,
    /// `--wechatpay-mchid`.
    pub wechatpay_mchid: Option<String>,
    /// `--wechatpay-apiv3-key-file`: the 32-byte APIv3 key.
    pub wechatpay_apiv3_key_file: Option<PathBuf>,
    /// `--wechatpay-public-key-file` (repeatable), PEM.
    pub wechatpay_public_key_files: Vec<PathBuf>,
    /// `--wechatpay-public-key-id` (repeatable, in the order of the files).
    pub wechatpay_public_key_ids: Vec<String>,
    /// `--alipay-app-id`.
    pub alipay_app_id: Option<String>,
    /// `--alipay-public-key-file`: PEM or the bare base64 Alipay prints.
    pub alipay_public_key_file: Option<PathBuf>,
    /// `--demo-payer`: with `--demo-endpoints`, the demo's pay button signs a
    /// real WeChat Pay notification with this throwaway private key (PEM)
    /// and posts it to `/notify/wechatpay`.
    pub demo_payer_key_file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".into(),
            port: 8080,
            www: PathBuf::from("www"),
            pkg: PathBuf::from("pkg"),
            heartbeat: Duration::from_millis(15_000),
            order_ttl: Duration::from_secs(900),
            test_hooks: false,
            public_url: None,
            limits: Limits::default(),
            redis: None,
            payments: Payments::default(),
            log_json: false,
            admin_listen: None,
            notify_clock: None,
        }
    }
}

/// What the command line asked for.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // made once, at start
pub enum Command {
    Run(Config),
    Help,
}

pub const USAGE: &str = "\
paywatch-server - reference backend for paywatch

USAGE:
    paywatch-server [OPTIONS]

OPTIONS:
    --host HOST            address to bind                  [default: 127.0.0.1]
    --port PORT            port to bind, 0 = any free port  [default: 8080]
    --www DIR              directory served at /            [default: www]
    --pkg DIR              directory served at /pkg/        [default: pkg]
    --heartbeat-ms MS      SSE comment / WebSocket ping gap [default: 15000]
    --order-ttl-sec SEC    lifetime of a new order          [default: 900]
    --test-hooks           enable the /_test/ routes (never in production)
    --public-url URL       base URL for pay links and QR codes
    --redis URL            keep orders in Redis (redis://HOST:PORT[/DB]) so that
                           several instances share them  [default: in memory]
                           [default: http://<request Host header>]
    --api-key-file PATH    /api Bearer keys, one a line (also PAYWATCH_API_KEYS,
                           comma-separated); without a key /api answers 404
    --wechatpay-mchid ID   enable POST /notify/wechatpay for this merchant id
    --wechatpay-apiv3-key-file PATH      the 32-byte APIv3 key
    --wechatpay-public-key-file PATH     WeChat Pay public key, PEM (repeatable)
    --wechatpay-public-key-id PUB_KEY_ID_…  its id (repeatable, same order)
    --alipay-app-id ID     enable POST /notify/alipay for this app id
    --alipay-public-key-file PATH        Alipay public key, PEM or bare base64
    --log-format FORMAT    text or json, on stderr; RUST_LOG filters [default: text]
    --admin-listen ADDR    serve /metrics, /healthz, /readyz on HOST:PORT
                           (never on the public listener)   [default: off]
    --demo-payer PATH      with --demo-endpoints: the demo's pay button signs a
                           WeChat Pay notification with this private key (PEM)
    -h, --help             print this help

On start it prints one line: `paywatch-server listening on http://HOST:PORT`.
";

/// The whole `--help` text: [`USAGE`] with the flags of [`limits`].
pub fn usage() -> String {
    USAGE.replacen(
        "    -h, --help",
        &format!("{}    -h, --help", limits::USAGE),
        1,
    )
}

/// Parses the arguments after the program name. Accepts `--flag value` and
/// `--flag=value`.
pub fn parse<I, S>(args: I) -> Result<Command, String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut cfg = Config::default();
    let mut it = args.into_iter().map(Into::into);
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            match inline.clone().or_else(|| it.next()) {
                Some(v) => Ok(v),
                None => Err(format!("{name} needs a value")),
            }
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--host" => cfg.host = value("--host")?,
            "--port" => cfg.port = number(&value("--port")?, "--port")?,
            "--www" => cfg.www = PathBuf::from(value("--www")?),
            "--pkg" => cfg.pkg = PathBuf::from(value("--pkg")?),
            "--heartbeat-ms" => {
                let ms: u64 = number(&value("--heartbeat-ms")?, "--heartbeat-ms")?;
                if ms == 0 {
                    return Err("--heartbeat-ms must be at least 1".into());
                }
                cfg.heartbeat = Duration::from_millis(ms);
            }
            "--order-ttl-sec" => {
                let s: u64 = number(&value("--order-ttl-sec")?, "--order-ttl-sec")?;
                cfg.order_ttl = Duration::from_secs(s);
            }
            "--test-hooks" => {
                if inline.is_some() {
                    return Err("--test-hooks takes no value".into());
                }
                cfg.test_hooks = true;
            }
            "--redis" => {
                let url = value("--redis")?;
                if !(url.starts_with("redis://") || url.starts_with("redis+unix://")) {
                    return Err(format!("--redis must start with redis://, got {url:?}"));
                }
                cfg.redis = Some(url);
            }
            "--public-url" => {
                let url = value("--public-url")?;
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(format!(
                        "--public-url must start with http:// or https://, got {url:?}"
                    ));
                }
                cfg.public_url = Some(url.trim_end_matches('/').to_string());
            }
            "--api-key-file" => cfg.payments.api_key_file = Some(value("--api-key-file")?.into()),
            "--wechatpay-mchid" => {
                cfg.payments.wechatpay_mchid = Some(value("--wechatpay-mchid")?);
            }
            "--wechatpay-apiv3-key-file" => {
                let path = value("--wechatpay-apiv3-key-file")?;
                cfg.payments.wechatpay_apiv3_key_file = Some(path.into());
            }
            "--wechatpay-public-key-file" => {
                let path = value("--wechatpay-public-key-file")?;
                cfg.payments.wechatpay_public_key_files.push(path.into());
            }
            "--wechatpay-public-key-id" => {
                let id = value("--wechatpay-public-key-id")?;
                if !id.starts_with("PUB_KEY_ID_") {
                    return Err(format!(
                        "--wechatpay-public-key-id must start with PUB_KEY_ID_, got {id:?}"
                    ));
                }
                cfg.payments.wechatpay_public_key_ids.push(id);
            }
            "--alipay-app-id" => cfg.payments.alipay_app_id = Some(value("--alipay-app-id")?),
            "--alipay-public-key-file" => {
                let path = value("--alipay-public-key-file")?;
                cfg.payments.alipay_public_key_file = Some(path.into());
            }
            "--log-format" => {
                cfg.log_json = match value("--log-format")?.as_str() {
                    "text" => false,
                    "json" => true,
                    other => {
                        return Err(format!("--log-format expects text or json, got {other:?}"))
                    }
                }
            }
            "--admin-listen" => {
                let addr = value("--admin-listen")?;
                cfg.admin_listen = Some(addr.parse().map_err(|_| {
                    format!("--admin-listen expects HOST:PORT such as 127.0.0.1:9090, got {addr:?}")
                })?);
            }
            "--demo-payer" => {
                cfg.payments.demo_payer_key_file = Some(value("--demo-payer")?.into())
            }
            other => {
                if !limits::apply_flag(&mut cfg.limits, other, inline.is_some(), &mut value)? {
                    return Err(format!("unknown argument {other:?} (try --help)"));
                }
            }
        }
    }
    Ok(Command::Run(cfg))
}

fn number<T: std::str::FromStr>(s: &str, flag: &str) -> Result<T, String> {
    s.parse()
        .map_err(|_| format!("{flag} expects a non-negative integer, got {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Config {
        match parse(args.iter().copied()).unwrap() {
            Command::Run(c) => c,
            Command::Help => panic!("help"),
        }
    }

    #[test]
    fn defaults() {
        let c = run(&[]);
        assert_eq!(c.host, "127.0.0.1");
        assert_eq!(c.port, 8080);
        assert_eq!(c.heartbeat, Duration::from_secs(15));
        assert_eq!(c.order_ttl, Duration::from_secs(900));
        assert!(!c.test_hooks);
        assert!(c.public_url.is_none());
        assert!(c.redis.is_none(), "in memory unless told");
    }

    #[test]
    fn all_flags() {
        let c = run(&[
            "--host",
            "0.0.0.0",
            "--port=0",
            "--www",
            "w",
            "--pkg",
            "p",
            "--heartbeat-ms",
            "100",
            "--order-ttl-sec",
            "5",
            "--test-hooks",
            "--public-url",
            "http://10.0.0.2:8080/",
            "--redis",
            "redis://127.0.0.1:6379",
        ]);
        assert_eq!(c.redis.as_deref(), Some("redis://127.0.0.1:6379"));
        assert_eq!(c.host, "0.0.0.0");
        assert_eq!(c.port, 0);
        assert_eq!(c.www, PathBuf::from("w"));
        assert_eq!(c.pkg, PathBuf::from("p"));
        assert_eq!(c.heartbeat, Duration::from_millis(100));
        assert_eq!(c.order_ttl, Duration::from_secs(5));
        assert!(c.test_hooks);
        assert_eq!(c.public_url.as_deref(), Some("http://10.0.0.2:8080"));
    }

    #[test]
    fn errors_and_help() {
        assert!(matches!(parse(["--help"]), Ok(Command::Help)));
        assert!(parse(["--port"]).unwrap_err().contains("needs a value"));
        assert!(parse(["--port", "x"]).is_err());
        assert!(parse(["--port", "70000"]).is_err());
        assert!(parse(["--bogus"]).unwrap_err().contains("unknown argument"));
        assert!(parse(["--heartbeat-ms", "0"]).is_err());
        assert!(parse(["--public-url", "ftp://x"]).is_err());
        assert!(parse(["--redis", "http://x"]).is_err());
    }
}
