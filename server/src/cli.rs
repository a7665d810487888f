//! Where the [`Config`] comes from: flags, `PAYWATCH_<FLAG>` environment
//! variables and a TOML file (`--config FILE`), in that order of
//! precedence, over the defaults.
//!
//! clap reads the flags and the environment (a flag beats its variable);
//! serde reads the file, whose keys are the flag names (`heartbeat-ms =
//! 300`). Every field of [`Args`] is optional, so that "not given" is
//! visible at each layer: [`Args::or`] lays one over the next, and
//! [`Args::build`] checks the values and fills in the defaults. A bad value
//! names its flag (or its key, for the file) and the form expected; `main`
//! exits with code 2 for any of them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::config::{Config, Payments};
use crate::limits::Limits;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// The reference backend of paywatch.
///
/// On start it prints one line, `paywatch-server listening on
/// http://HOST:PORT` (and, with --admin-listen, `admin listening on
/// http://ADDR`). /api keys come from --api-key-file and PAYWATCH_API_KEYS
/// (comma-separated).
#[derive(Clone, Debug, Default, Parser, Serialize, Deserialize)]
#[command(name = "paywatch-server", version, args_override_self = true)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Args {
    /// TOML file of settings, keys named like the flags (`port = 8080`);
    /// flags and environment variables beat it
    #[arg(long, env = "PAYWATCH_CONFIG", value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Print the effective settings (secrets redacted) and exit
    #[arg(long)]
    #[serde(skip)]
    pub print_config: bool,

    /// Address to bind [default: 127.0.0.1]
    #[arg(long, env = "PAYWATCH_HOST")]
    pub host: Option<String>,
    /// Port to bind, 0 = any free port [default: 8080]
    #[arg(long, env = "PAYWATCH_PORT")]
    pub port: Option<u16>,
    /// Directory served at / [default: www]
    #[arg(long, env = "PAYWATCH_WWW", value_name = "DIR")]
    pub www: Option<PathBuf>,
    /// Directory served at /pkg/ [default: pkg]
    #[arg(long, env = "PAYWATCH_PKG", value_name = "DIR")]
    pub pkg: Option<PathBuf>,
    /// Gap between SSE heartbeats and WebSocket pings, in ms [default: 15000]
    #[arg(long, env = "PAYWATCH_HEARTBEAT_MS", value_name = "MS")]
    pub heartbeat_ms: Option<u64>,
    /// Lifetime of an order created without ttl_ms, in s [default: 900]
    #[arg(long, env = "PAYWATCH_ORDER_TTL_SEC", value_name = "SEC")]
    pub order_ttl_sec: Option<u64>,
    /// Base URL of pay links and QR codes [default: http://<request Host>]
    #[arg(long, env = "PAYWATCH_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,
    /// Keep orders in Redis (redis://HOST:PORT[/DB]) so that several
    /// instances share them [default: in memory]
    #[arg(long, env = "PAYWATCH_REDIS", value_name = "URL")]
    pub redis: Option<String>,
    /// Where orders live: `memory`, or `sqlite:PATH` to keep them across
    /// restarts (one instance; several share a --redis instead)
    /// [default: memory]
    #[arg(long, env = "PAYWATCH_STORE", value_name = "memory|sqlite:PATH")]
    pub store: Option<String>,
    /// How long the sqlite store keeps an order after it ended, e.g. 7d,
    /// 12h, 90s [default: 7d]
    #[arg(long, env = "PAYWATCH_RETENTION", value_name = "DURATION")]
    pub retention: Option<String>,
    /// Logs on stderr; RUST_LOG filters them [default: text]
    #[arg(long, env = "PAYWATCH_LOG_FORMAT", value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Serve /metrics, /healthz and /readyz on HOST:PORT, never on the
    /// public listener [default: off]
    #[arg(long, env = "PAYWATCH_ADMIN_LISTEN", value_name = "ADDR")]
    pub admin_listen: Option<SocketAddr>,
    /// Only the payer watches: every check, long-poll, SSE stream and
    /// WebSocket subscription must carry the order's watch token, signed
    /// with the secret in this file (at least 32 bytes) [default: off]
    #[arg(long, env = "PAYWATCH_WATCH_SECRET_FILE", value_name = "PATH")]
    pub watch_secret_file: Option<PathBuf>,
    /// The /_test/ routes: stats and fault injection (never in production)
    /// [default: false]
    #[arg(long, env = "PAYWATCH_TEST_HOOKS", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub test_hooks: Option<bool>,

    /// /api Bearer keys, one a line (# comments); without any key /api
    /// answers 404 [default: none]
    #[arg(long, env = "PAYWATCH_API_KEY_FILE", value_name = "PATH")]
    pub api_key_file: Option<PathBuf>,
    /// Enables POST /notify/wechatpay for this merchant id [default: off]
    #[arg(long, env = "PAYWATCH_WECHATPAY_MCHID", value_name = "ID")]
    pub wechatpay_mchid: Option<String>,
    /// The 32-byte WeChat Pay APIv3 key
    #[arg(long, env = "PAYWATCH_WECHATPAY_APIV3_KEY_FILE", value_name = "PATH")]
    pub wechatpay_apiv3_key_file: Option<PathBuf>,
    /// WeChat Pay public key, PEM (repeatable: rotation; comma-separated in
    /// the environment)
    #[arg(
        long,
        env = "PAYWATCH_WECHATPAY_PUBLIC_KEY_FILE",
        value_name = "PATH",
        value_delimiter = ','
    )]
    #[serde(default)]
    pub wechatpay_public_key_file: Vec<PathBuf>,
    /// Its id, PUB_KEY_ID_… (repeatable, in the order of the files)
    #[arg(
        long,
        env = "PAYWATCH_WECHATPAY_PUBLIC_KEY_ID",
        value_name = "ID",
        value_delimiter = ','
    )]
    #[serde(default)]
    pub wechatpay_public_key_id: Vec<String>,
    /// Enables POST /notify/alipay for this app id [default: off]
    #[arg(long, env = "PAYWATCH_ALIPAY_APP_ID", value_name = "ID")]
    pub alipay_app_id: Option<String>,
    /// Alipay public key: PEM, or the bare base64 its console prints
    #[arg(long, env = "PAYWATCH_ALIPAY_PUBLIC_KEY_FILE", value_name = "PATH")]
    pub alipay_public_key_file: Option<PathBuf>,
    /// With --demo-endpoints: the demo's pay button signs a WeChat Pay
    /// notification with this throwaway private key (PEM) [default: off]
    #[arg(long, env = "PAYWATCH_DEMO_PAYER", value_name = "PATH")]
    pub demo_payer: Option<PathBuf>,

    /// Browser origin allowed cross-origin (CORS, SSE and WebSocket Origin
    /// check); repeatable [default: none, same origin only]
    #[arg(
        long,
        env = "PAYWATCH_ALLOW_ORIGIN",
        value_name = "ORIGIN",
        value_delimiter = ','
    )]
    #[serde(default)]
    pub allow_origin: Vec<String>,
    /// Mount the open POST /orders and /orders/{no}/pay|close, same-origin
    /// only (never in production) [default: false]
    #[arg(long, env = "PAYWATCH_DEMO_ENDPOINTS", value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub demo_endpoints: Option<bool>,
    /// Requests/s per client address per route group, bursts of 2N
    /// [default: 10]
    #[arg(long, env = "PAYWATCH_RATE_LIMIT", value_name = "N")]
    pub rate_limit: Option<u32>,
    /// Open long-polls, streams, sockets and subscriptions per client
    /// address [default: 100]
    #[arg(long, env = "PAYWATCH_MAX_WAITERS_PER_CLIENT", value_name = "N")]
    pub max_waiters_per_client: Option<usize>,
    /// Orders held in memory [default: 100000]
    #[arg(long, env = "PAYWATCH_MAX_ORDERS", value_name = "N")]
    pub max_orders: Option<usize>,
    /// Forget paid, closed and expired orders after this long, in s
    /// [default: 600]
    #[arg(long, env = "PAYWATCH_KEEP_ENDED_SEC", value_name = "SEC")]
    pub keep_ended_sec: Option<u64>,
    /// Request head deadline, also the idle keep-alive limit, in ms
    /// [default: 10000]
    #[arg(long, env = "PAYWATCH_HEADER_TIMEOUT_MS", value_name = "MS")]
    pub header_timeout_ms: Option<u64>,
    /// Request body deadline, in ms [default: 10000]
    #[arg(long, env = "PAYWATCH_BODY_TIMEOUT_MS", value_name = "MS")]
    pub body_timeout_ms: Option<u64>,
    /// End a connection whose writes stall this long, in ms [default: 10000]
    #[arg(long, env = "PAYWATCH_WRITE_TIMEOUT_MS", value_name = "MS")]
    pub write_timeout_ms: Option<u64>,
    /// Exit this long after SIGTERM at the latest, in ms [default: 10000]
    #[arg(long, env = "PAYWATCH_SHUTDOWN_TIMEOUT_MS", value_name = "MS")]
    pub shutdown_timeout_ms: Option<u64>,
}

/// What the command line asked for.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // made once, at start
pub enum Command {
    Run(Config),
    /// `--help` or `--version`: print this and exit 0.
    Help(String),
    /// `--print-config`: print this and exit 0.
    PrintConfig(String),
}

/// Reads the flags after the program name, the environment and the file.
/// `Err` is the message for stderr (exit code 2).
pub fn parse<I, S>(args: I) -> Result<Command, String>
where
    I: IntoIterator<Item = S>,
    S: Into<std::ffi::OsString> + Clone,
{
    let program = std::iter::once(std::ffi::OsString::from("paywatch-server"));
    let cli = match Args::try_parse_from(program.chain(args.into_iter().map(Into::into))) {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => return Ok(Command::Help(e.render().to_string())),
        Err(e) => return Err(e.render().to_string()),
    };
    let file = match &cli.config {
        Some(path) => read_file(path)?,
        None => Args::default(),
    };
    let args = cli.or(file);
    let config = args.build()?;
    if args.print_config {
        return Ok(Command::PrintConfig(args.effective()));
    }
    Ok(Command::Run(config))
}

fn read_file(path: &std::path::Path) -> Result<Args, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("--config {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("--config {}: {e}", path.display()))
}

impl Args {
    /// `self` where given, else `under`.
    pub fn or(self, under: Args) -> Args {
        fn list<T>(top: Vec<T>, under: Vec<T>) -> Vec<T> {
            if top.is_empty() {
                under
            } else {
                top
            }
        }
        Args {
            config: self.config.or(under.config),
            print_config: self.print_config || under.print_config,
            host: self.host.or(under.host),
            port: self.port.or(under.port),
            www: self.www.or(under.www),
            pkg: self.pkg.or(under.pkg),
            heartbeat_ms: self.heartbeat_ms.or(under.heartbeat_ms),
            order_ttl_sec: self.order_ttl_sec.or(under.order_ttl_sec),
            public_url: self.public_url.or(under.public_url),
            redis: self.redis.or(under.redis),
            store: self.store.or(under.store),
            retention: self.retention.or(under.retention),
            log_format: self.log_format.or(under.log_format),
            admin_listen: self.admin_listen.or(under.admin_listen),
            watch_secret_file: self.watch_secret_file.or(under.watch_secret_file),
            test_hooks: self.test_hooks.or(under.test_hooks),
            api_key_file: self.api_key_file.or(under.api_key_file),
            wechatpay_mchid: self.wechatpay_mchid.or(under.wechatpay_mchid),
            wechatpay_apiv3_key_file: self
                .wechatpay_apiv3_key_file
                .or(under.wechatpay_apiv3_key_file),
            wechatpay_public_key_file: list(
                self.wechatpay_public_key_file,
                under.wechatpay_public_key_file,
            ),
            wechatpay_public_key_id: list(
                self.wechatpay_public_key_id,
                under.wechatpay_public_key_id,
            ),
            alipay_app_id: self.alipay_app_id.or(under.alipay_app_id),
            alipay_public_key_file: self.alipay_public_key_file.or(under.alipay_public_key_file),
            demo_payer: self.demo_payer.or(under.demo_payer),
            allow_origin: list(self.allow_origin, under.allow_origin),
            demo_endpoints: self.demo_endpoints.or(under.demo_endpoints),
            rate_limit: self.rate_limit.or(under.rate_limit),
            max_waiters_per_client: self.max_waiters_per_client.or(under.max_waiters_per_client),
            max_orders: self.max_orders.or(under.max_orders),
            keep_ended_sec: self.keep_ended_sec.or(under.keep_ended_sec),
            header_timeout_ms: self.header_timeout_ms.or(under.header_timeout_ms),
            body_timeout_ms: self.body_timeout_ms.or(under.body_timeout_ms),
            write_timeout_ms: self.write_timeout_ms.or(under.write_timeout_ms),
            shutdown_timeout_ms: self.shutdown_timeout_ms.or(under.shutdown_timeout_ms),
        }
    }

    /// The defaults, every field given: what `--print-config` shows for a
    /// setting nobody set.
    pub fn defaults() -> Args {
        let c = Config::default();
        let l = &c.limits;
        Args {
            host: Some(c.host.clone()),
            port: Some(c.port),
            www: Some(c.www.clone()),
            pkg: Some(c.pkg.clone()),
            heartbeat_ms: Some(c.heartbeat.as_millis() as u64),
            order_ttl_sec: Some(c.order_ttl.as_secs()),
            store: Some("memory".into()),
            retention: Some("7d".into()),
            log_format: Some(LogFormat::Text),
            test_hooks: Some(false),
            demo_endpoints: Some(false),
            rate_limit: Some(l.rate_per_sec),
            max_waiters_per_client: Some(l.max_waiters_per_client),
            max_orders: Some(l.max_orders),
            keep_ended_sec: Some(l.keep_ended.as_secs()),
            header_timeout_ms: Some(l.header_timeout.as_millis() as u64),
            body_timeout_ms: Some(l.body_timeout.as_millis() as u64),
            write_timeout_ms: Some(l.write_timeout.as_millis() as u64),
            shutdown_timeout_ms: Some(l.shutdown_timeout.as_millis() as u64),
            ..Args::default()
        }
    }

    /// Checks every value and makes the [`Config`].
    pub fn build(&self) -> Result<Config, String> {
        let d = Config::default();
        let dl = &d.limits;
        let ms = |v: Option<u64>, flag: &str, default: Duration| match v {
            Some(0) => Err(format!("--{flag} must be at least 1 (milliseconds)")),
            Some(n) => Ok(Duration::from_millis(n)),
            None => Ok(default),
        };
        if let Some(url) = &self.redis {
            if !(url.starts_with("redis://") || url.starts_with("redis+unix://")) {
                return Err(format!(
                    "--redis expects redis://HOST:PORT[/DB], got {:?}",
                    redact_url(url)
                ));
            }
        }
        let sqlite = match self.store.as_deref() {
            None | Some("memory") => None,
            Some(s) => match s.strip_prefix("sqlite:") {
                Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
                _ => return Err(format!("--store expects memory or sqlite:PATH, got {s:?}")),
            },
        };
        if sqlite.is_some() && self.redis.is_some() {
            return Err("--store sqlite:… and --redis are two stores: choose one".into());
        }
        let retention = match &self.retention {
            None => d.retention,
            Some(text) => humantime::parse_duration(text).map_err(|_| {
                format!("--retention expects a duration such as 7d, 12h or 90s, got {text:?}")
            })?,
        };
        let public_url = match &self.public_url {
            Some(url) if !(url.starts_with("http://") || url.starts_with("https://")) => {
                return Err(format!(
                    "--public-url expects a URL starting with http:// or https://, got {url:?}"
                ))
            }
            Some(url) => Some(url.trim_end_matches('/').to_owned()),
            None => None,
        };
        for id in &self.wechatpay_public_key_id {
            if !id.starts_with("PUB_KEY_ID_") {
                return Err(format!(
                    "--wechatpay-public-key-id expects PUB_KEY_ID_…, got {id:?}"
                ));
            }
        }
        if self.rate_limit == Some(0) {
            return Err("--rate-limit must be at least 1".into());
        }
        let allow_origins = self
            .allow_origin
            .iter()
            .map(|o| parse_origin(o))
            .collect::<Result<_, _>>()?;
        Ok(Config {
            host: self.host.clone().unwrap_or(d.host),
            port: self.port.unwrap_or(d.port),
            www: self.www.clone().unwrap_or(d.www),
            pkg: self.pkg.clone().unwrap_or(d.pkg),
            heartbeat: ms(self.heartbeat_ms, "heartbeat-ms", d.heartbeat)?,
            order_ttl: self.order_ttl_sec.map_or(d.order_ttl, Duration::from_secs),
            test_hooks: self.test_hooks.unwrap_or(false),
            public_url,
            limits: Limits {
                header_timeout: ms(
                    self.header_timeout_ms,
                    "header-timeout-ms",
                    dl.header_timeout,
                )?,
                body_timeout: ms(self.body_timeout_ms, "body-timeout-ms", dl.body_timeout)?,
                write_timeout: ms(self.write_timeout_ms, "write-timeout-ms", dl.write_timeout)?,
                shutdown_timeout: ms(
                    self.shutdown_timeout_ms,
                    "shutdown-timeout-ms",
                    dl.shutdown_timeout,
                )?,
                rate_per_sec: self.rate_limit.unwrap_or(dl.rate_per_sec),
                max_waiters_per_client: self
                    .max_waiters_per_client
                    .unwrap_or(dl.max_waiters_per_client),
                max_orders: self.max_orders.unwrap_or(dl.max_orders),
                keep_ended: self
                    .keep_ended_sec
                    .map_or(dl.keep_ended, Duration::from_secs),
                allow_origins,
                demo_endpoints: self.demo_endpoints.unwrap_or(false),
            },
            redis: self.redis.clone(),
            sqlite,
            retention,
            payments: Payments {
                api_key_file: self.api_key_file.clone(),
                api_keys_env: None,
                wechatpay_mchid: self.wechatpay_mchid.clone(),
                wechatpay_apiv3_key_file: self.wechatpay_apiv3_key_file.clone(),
                wechatpay_public_key_files: self.wechatpay_public_key_file.clone(),
                wechatpay_public_key_ids: self.wechatpay_public_key_id.clone(),
                alipay_app_id: self.alipay_app_id.clone(),
                alipay_public_key_file: self.alipay_public_key_file.clone(),
                demo_payer_key_file: self.demo_payer.clone(),
            },
            log_json: self.log_format == Some(LogFormat::Json),
            admin_listen: self.admin_listen,
            watch_secret_file: self.watch_secret_file.clone(),
            notify_clock: None,
        })
    }

    /// `--print-config`: the settings in effect, as a TOML file that
    /// `--config` reads back. Files are named, never read; a password in
    /// the Redis URL is redacted.
    pub fn effective(&self) -> String {
        let mut all = self.clone().or(Args::defaults());
        all.redis = all.redis.as_deref().map(redact_url);
        let keys = std::env::var("PAYWATCH_API_KEYS")
            .map_or(0, |v| v.split(',').filter(|k| !k.trim().is_empty()).count());
        let mut out = toml::to_string(&all).expect("settings serialize as TOML");
        out.push_str(&format!("# PAYWATCH_API_KEYS: {keys} key(s), redacted\n"));
        out
    }
}

/// `redis://user:password@host` → `redis://user:***@host`.
fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((auth, host)) => {
            let user = auth.split_once(':').map_or(auth, |(u, _)| u);
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

/// `http://host[:port]` or `https://…`, no path; returned lower-cased
/// without a trailing slash, as browsers send it in `Origin`.
fn parse_origin(s: &str) -> Result<String, String> {
    let lower = s.trim_end_matches('/').to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', '*', ' ']) => Ok(lower),
        _ => Err(format!(
            "--allow-origin expects http(s)://host[:port] with no path or wildcard, got {s:?}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Config {
        match parse(args.iter().copied()).unwrap() {
            Command::Run(c) => c,
            other => panic!("{other:?}"),
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
        assert!(c.limits.allow_origins.is_empty());
        assert!(!c.limits.demo_endpoints);
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
            "--allow-origin",
            "http://127.0.0.1:9000/",
            "--allow-origin",
            "HTTPS://Shop.Example",
            "--demo-endpoints",
            "--rate-limit",
            "1000",
            "--max-waiters-per-client",
            "5",
            "--max-orders",
            "7",
            "--keep-ended-sec",
            "0",
            "--shutdown-timeout-ms",
            "1500",
            "--admin-listen",
            "127.0.0.1:9090",
            "--log-format",
            "json",
        ]);
        assert_eq!(c.redis.as_deref(), Some("redis://127.0.0.1:6379"));
        assert_eq!((c.host.as_str(), c.port), ("0.0.0.0", 0));
        assert_eq!((c.www, c.pkg), (PathBuf::from("w"), PathBuf::from("p")));
        assert_eq!(c.heartbeat, Duration::from_millis(100));
        assert_eq!(c.order_ttl, Duration::from_secs(5));
        assert!(c.test_hooks);
        assert_eq!(c.public_url.as_deref(), Some("http://10.0.0.2:8080"));
        let l = &c.limits;
        assert_eq!(
            l.allow_origins,
            ["http://127.0.0.1:9000", "https://shop.example"]
        );
        assert!(l.demo_endpoints);
        assert_eq!(
            (l.rate_per_sec, l.max_waiters_per_client, l.max_orders),
            (1000, 5, 7)
        );
        assert_eq!(l.keep_ended, Duration::ZERO);
        assert_eq!(l.shutdown_timeout, Duration::from_millis(1500));
        assert_eq!(c.admin_listen, Some("127.0.0.1:9090".parse().unwrap()));
        assert!(c.log_json);
    }

    #[test]
    fn errors_name_the_flag() {
        assert!(matches!(parse(["--help"]), Ok(Command::Help(_))));
        let err = |args: &[&str]| parse(args.iter().copied()).unwrap_err();
        assert!(err(&["--port"]).contains("--port"));
        assert!(err(&["--port", "x"]).contains("--port"));
        assert!(err(&["--port", "70000"]).contains("--port"));
        assert!(err(&["--bogus"]).contains("--bogus"));
        assert!(err(&["--heartbeat-ms", "0"]).contains("--heartbeat-ms"));
        assert!(err(&["--public-url", "ftp://x"]).contains("--public-url"));
        assert!(err(&["--redis", "http://x"]).contains("--redis"));
        assert!(err(&["--rate-limit", "0"]).contains("--rate-limit"));
        assert!(err(&["--write-timeout-ms", "0"]).contains("--write-timeout-ms"));
        assert!(err(&["--max-orders=-1"]).contains("--max-orders"));
        assert!(err(&["--log-format", "xml"]).contains("--log-format"));
        assert!(err(&["--admin-listen", "nowhere"]).contains("--admin-listen"));
        for bad in ["*", "http://*", "ftp://x", "http://x/path", "x.example"] {
            assert!(
                err(&["--allow-origin", bad]).contains("--allow-origin"),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_flag_beats_the_file() {
        let file: Args = toml::from_str("port = 9000\nhost = \"0.0.0.0\"\n").unwrap();
        let cli = Args::try_parse_from(["paywatch-server", "--port", "1"]).unwrap();
        let c = cli.or(file).build().unwrap();
        assert_eq!((c.host.as_str(), c.port), ("0.0.0.0", 1));
    }

    #[test]
    fn the_file_refuses_unknown_keys_and_bad_values() {
        let e = toml::from_str::<Args>("prot = 1\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("prot"), "{e}");
        let e = toml::from_str::<Args>("port = \"high\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("port"), "{e}");
    }

    #[test]
    fn redis_passwords_are_redacted() {
        assert_eq!(
            redact_url("redis://:hunter2@db:6379/0"),
            "redis://:***@db:6379/0"
        );
        assert_eq!(redact_url("redis://u:p@db"), "redis://u:***@db");
        assert_eq!(redact_url("redis://db:6379"), "redis://db:6379");
    }
}
