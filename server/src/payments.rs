//! Where a paid status may come from, loaded once at start from
//! [`config::Payments`](crate::config::Payments): the shop's `/api` keys,
//! and the WeChat Pay and Alipay verifiers ([`crate::notify`]).
//!
//! A file that cannot be read, or a key that does not parse, stops the
//! start with a message that names the flag and the path, never the
//! content.

use std::path::Path;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::config;
use crate::notify::alipay::Alipay;
use crate::notify::wechatpay::WechatPay;

/// Shortest `/api` key accepted: a guessable key is no key.
pub const MIN_API_KEY_LEN: usize = 16;

/// Everything that may mark an order paid, besides the demo.
#[derive(Default)]
pub struct Sources {
    pub api_keys: ApiKeys,
    pub wechatpay: Option<WechatPay>,
    pub alipay: Option<Alipay>,
}

impl Sources {
    pub fn load(cfg: &config::Payments) -> Result<Self, String> {
        Ok(Sources {
            api_keys: ApiKeys::load(cfg)?,
            wechatpay: load_wechatpay(cfg)?,
            alipay: load_alipay(cfg)?,
        })
    }
}

/// The `/api` Bearer keys. Only their SHA-256 digests are kept, and a
/// presented key is compared with every one in constant time.
#[derive(Default)]
pub struct ApiKeys {
    digests: Vec<[u8; 32]>,
}

impl ApiKeys {
    /// Keys from `--api-key-file` (one a line; blank lines and `#` comments
    /// ignored) and `PAYWATCH_API_KEYS` (comma-separated), all valid at once.
    pub fn load(cfg: &config::Payments) -> Result<Self, String> {
        let mut keys = Vec::new();
        if let Some(path) = &cfg.api_key_file {
            let text = read("--api-key-file", path)?;
            for (i, line) in text.lines().enumerate() {
                let key = line.trim();
                if key.is_empty() || key.starts_with('#') {
                    continue;
                }
                check_key(key).map_err(|why| {
                    format!("--api-key-file {}: line {}: {why}", path.display(), i + 1)
                })?;
                keys.push(key.to_owned());
            }
        }
        if let Some(list) = &cfg.api_keys_env {
            for (i, key) in list.split(',').map(str::trim).enumerate() {
                if key.is_empty() {
                    continue;
                }
                check_key(key).map_err(|why| format!("PAYWATCH_API_KEYS: key {}: {why}", i + 1))?;
                keys.push(key.to_owned());
            }
        }
        Ok(Self::new(keys))
    }

    pub fn new<S: AsRef<str>>(keys: impl IntoIterator<Item = S>) -> Self {
        ApiKeys {
            digests: keys
                .into_iter()
                .map(|k| Sha256::digest(k.as_ref().as_bytes()).into())
                .collect(),
        }
    }

    /// No key configured: `/api` answers 404.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// Whether `presented` is one of the keys. Every key is compared, each
    /// in constant time, so the time taken says nothing about which matched.
    pub fn accepts(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = subtle::Choice::from(0);
        for key in &self.digests {
            found |= key.ct_eq(&digest);
        }
        found.into()
    }
}

fn check_key(key: &str) -> Result<(), String> {
    if key.len() < MIN_API_KEY_LEN {
        return Err(format!(
            "an /api key must be at least {MIN_API_KEY_LEN} characters"
        ));
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err("an /api key must be printable ASCII without spaces".into());
    }
    Ok(())
}

fn read(flag: &str, path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{flag} {}: {e}", path.display()))
}

fn load_wechatpay(cfg: &config::Payments) -> Result<Option<WechatPay>, String> {
    let Some(mchid) = &cfg.wechatpay_mchid else {
        if cfg.wechatpay_apiv3_key_file.is_some() || !cfg.wechatpay_public_key_files.is_empty() {
            return Err("--wechatpay-* flags need --wechatpay-mchid".into());
        }
        return Ok(None);
    };
    let Some(key_path) = &cfg.wechatpay_apiv3_key_file else {
        return Err("--wechatpay-mchid needs --wechatpay-apiv3-key-file".into());
    };
    let files = &cfg.wechatpay_public_key_files;
    let ids = &cfg.wechatpay_public_key_ids;
    if files.is_empty() || files.len() != ids.len() {
        return Err(format!(
            "--wechatpay-mchid needs as many --wechatpay-public-key-file as --wechatpay-public-key-id (got {} and {})",
            files.len(),
            ids.len()
        ));
    }
    let apiv3 = read("--wechatpay-apiv3-key-file", key_path)?;
    let mut keys = Vec::new();
    for (id, path) in ids.iter().zip(files) {
        keys.push((id.clone(), read("--wechatpay-public-key-file", path)?));
    }
    WechatPay::new(mchid.trim(), apiv3.trim(), &keys)
        .map(Some)
        .map_err(|e| format!("WeChat Pay: {e}"))
}

fn load_alipay(cfg: &config::Payments) -> Result<Option<Alipay>, String> {
    match (&cfg.alipay_app_id, &cfg.alipay_public_key_file) {
        (None, None) => Ok(None),
        (Some(app_id), Some(path)) => {
            let key = read("--alipay-public-key-file", path)?;
            Alipay::new(app_id.trim(), key.trim())
                .map(Some)
                .map_err(|e| format!("Alipay: {e}"))
        }
        _ => Err("--alipay-app-id and --alipay-public-key-file go together".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_rotate_and_compare_whole() {
        let keys = ApiKeys::new(["old-key-0123456789", "new-key-0123456789"]);
        assert!(keys.accepts("old-key-0123456789"));
        assert!(keys.accepts("new-key-0123456789"));
        assert!(!keys.accepts("new-key-012345678"));
        assert!(!keys.accepts(""));
        assert!(ApiKeys::default().is_empty());
    }

    #[test]
    fn env_keys_and_short_keys() {
        let cfg = config::Payments {
            api_keys_env: Some("aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb".into()),
            ..Default::default()
        };
        let keys = ApiKeys::load(&cfg).unwrap();
        assert!(keys.accepts("bbbbbbbbbbbbbbbb"));
        let short = config::Payments {
            api_keys_env: Some("short-secret".into()),
            ..Default::default()
        };
        let err = ApiKeys::load(&short).err().unwrap();
        assert!(
            err.contains("at least 16") && !err.contains("short-secret"),
            "{err}"
        );
    }
}
