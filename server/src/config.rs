//! The settings the server runs with, typed and checked. They come from
//! flags, the environment and a file through [`crate::cli`].

use std::path::PathBuf;
use std::time::Duration;

use crate::limits::Limits;

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
    /// to every instance through it. `None`: see [`Config::sqlite`].
    pub redis: Option<String>,
    /// `--store sqlite:PATH`: one process, orders kept across restarts.
    /// `None` (and no Redis): the in-memory store.
    pub sqlite: Option<PathBuf>,
    /// `--retention`: how long the sqlite store keeps an ended order.
    pub retention: Duration,
    /// Where paid statuses may come from: `/api` keys, WeChat Pay, Alipay.
    pub payments: Payments,
    /// `--log-format json`: one JSON object a line on stderr (else text).
    pub log_json: bool,
    /// `--watch-secret-file`: only a bearer of the order's watch token may
    /// watch it ([`crate::watch_token`]).
    pub watch_secret_file: Option<PathBuf>,
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
            sqlite: None,
            retention: Duration::from_secs(7 * 24 * 3600),
            payments: Payments::default(),
            log_json: false,
            admin_listen: None,
            watch_secret_file: None,
            notify_clock: None,
        }
    }
}
