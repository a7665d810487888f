//! WeChat Pay APIv3 notifications, verified in public-key mode.
//!
//! The checks, in order (the first that fails decides the refusal):
//!
//! 1. the four headers `Wechatpay-Timestamp`, `-Nonce`, `-Signature` and
//!    `-Serial` are there ([`Refusal::Forged`] otherwise);
//! 2. `Wechatpay-Serial` names a configured key (`PUB_KEY_ID_…`; several
//!    may be configured at once for a rotation);
//! 3. the signature is not a `WECHATPAY/SIGNTEST/` probe;
//! 4. the timestamp is within [`WINDOW_SECS`] of now, either way;
//! 5. the signature is RSA-SHA256 (PKCS#1 v1.5) by that key over
//!    `"{timestamp}\n{nonce}\n{body}\n"`;
//! 6. the body is JSON with a `resource` ([`Refusal::Malformed`] otherwise:
//!    authentic but unreadable);
//! 7. the resource opens with AEAD_AES_256_GCM under the APIv3 key;
//! 8. its `mchid`, where it has one, is ours.
//!
//! Then `TRANSACTION.SUCCESS` with `trade_state: SUCCESS` is
//! [`Event::Paid`]; every other event is [`Event::Ignored`].

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use axum::http::HeaderMap;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::Deserialize;

use super::key::PublicKey;
use super::{Event, Refusal};

/// How far a notification's timestamp may be from now, in seconds.
pub const WINDOW_SECS: u64 = 300;

/// What the server was configured with.
pub struct WechatPay {
    mchid: String,
    cipher: Aes256Gcm,
    keys: Vec<(String, PublicKey)>,
}

#[derive(Deserialize)]
struct Body {
    event_type: String,
    resource: Resource,
}

#[derive(Deserialize)]
struct Resource {
    algorithm: String,
    ciphertext: String,
    #[serde(default)]
    associated_data: String,
    nonce: String,
}

#[derive(Deserialize)]
struct Transaction {
    out_trade_no: String,
    trade_state: String,
    amount: Amount,
}

#[derive(Deserialize)]
struct Amount {
    total: u64,
}

impl WechatPay {
    /// `mchid`: our merchant id. `apiv3_key`: the 32-byte APIv3 key.
    /// `public_keys`: `(PUB_KEY_ID_…, PEM)` pairs, several for rotation.
    /// Errors name what is wrong, never the key material.
    pub fn new(
        mchid: &str,
        apiv3_key: &str,
        public_keys: &[(String, String)],
    ) -> Result<Self, String> {
        if mchid.is_empty() {
            return Err("the merchant id is empty".into());
        }
        if apiv3_key.len() != 32 {
            return Err(format!(
                "the APIv3 key must be 32 bytes, not {}",
                apiv3_key.len()
            ));
        }
        let cipher = Aes256Gcm::new_from_slice(apiv3_key.as_bytes())
            .map_err(|_| "the APIv3 key must be 32 bytes".to_owned())?;
        if public_keys.is_empty() {
            return Err("no WeChat Pay public key".into());
        }
        let mut keys = Vec::with_capacity(public_keys.len());
        for (id, pem) in public_keys {
            let key = PublicKey::from_pem(pem)
                .ok_or_else(|| format!("public key {id}: not a PEM RSA public key (SPKI)"))?;
            keys.push((id.clone(), key));
        }
        Ok(WechatPay {
            mchid: mchid.to_owned(),
            cipher,
            keys,
        })
    }

    /// Verifies one notification at `now` (Unix seconds).
    pub fn verify(&self, headers: &HeaderMap, body: &[u8], now: u64) -> Result<Event, Refusal> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let (Some(timestamp), Some(nonce), Some(signature), Some(serial)) = (
            header("Wechatpay-Timestamp"),
            header("Wechatpay-Nonce"),
            header("Wechatpay-Signature"),
            header("Wechatpay-Serial"),
        ) else {
            return Err(Refusal::Forged("missing Wechatpay-* signature headers"));
        };
        let key = self.key(serial)?;
        if signature.starts_with("WECHATPAY/SIGNTEST/") {
            return Err(Refusal::Forged("a WECHATPAY/SIGNTEST/ probe signature"));
        }
        check_time(timestamp, now)?;
        check_signature(key, timestamp, nonce, body, signature)?;
        let body: Body = serde_json::from_slice(body)
            .map_err(|_| Refusal::Malformed("the body is not a WeChat Pay notification"))?;
        let plaintext = self.open(&body.resource)?;
        self.check_mchid(&plaintext)?;
        if body.event_type != "TRANSACTION.SUCCESS" {
            return Ok(Event::Ignored {
                what: body.event_type,
            });
        }
        let tx: Transaction = serde_json::from_slice(&plaintext)
            .map_err(|_| Refusal::Malformed("the resource is not a transaction"))?;
        if tx.trade_state != "SUCCESS" {
            return Ok(Event::Ignored {
                what: format!("TRANSACTION.SUCCESS with trade_state {}", tx.trade_state),
            });
        }
        Ok(Event::Paid {
            order_no: tx.out_trade_no,
            amount: tx.amount.total,
        })
    }

    fn key(&self, serial: &str) -> Result<&PublicKey, Refusal> {
        self.keys
            .iter()
            .find(|(id, _)| id == serial)
            .map(|(_, key)| key)
            .ok_or(Refusal::Forged("unknown Wechatpay-Serial"))
    }

    /// Step 7 alone, for tests: the decrypted resource of a body.
    pub fn open_resource(&self, body: &[u8]) -> Result<Vec<u8>, Refusal> {
        let body: Body = serde_json::from_slice(body)
            .map_err(|_| Refusal::Malformed("the body is not a WeChat Pay notification"))?;
        self.open(&body.resource)
    }

    fn open(&self, resource: &Resource) -> Result<Vec<u8>, Refusal> {
        if resource.algorithm != "AEAD_AES_256_GCM" {
            return Err(Refusal::Malformed(
                "resource.algorithm is not AEAD_AES_256_GCM",
            ));
        }
        if resource.nonce.len() != 12 {
            return Err(Refusal::Malformed("resource.nonce is not 12 bytes"));
        }
        let sealed = BASE64
            .decode(&resource.ciphertext)
            .map_err(|_| Refusal::Malformed("resource.ciphertext is not base64"))?;
        let plaintext = self
            .cipher
            .decrypt(
                Nonce::from_slice(resource.nonce.as_bytes()),
                Payload {
                    msg: &sealed,
                    aad: resource.associated_data.as_bytes(),
                },
            )
            .map_err(|_| Refusal::Forged("the resource does not decrypt under the APIv3 key"))?;
        Ok(plaintext)
    }

    /// Step 8: a resource that names a merchant must name us.
    fn check_mchid(&self, plaintext: &[u8]) -> Result<(), Refusal> {
        let named = serde_json::from_slice::<serde_json::Value>(plaintext)
            .ok()
            .and_then(|v| v.get("mchid")?.as_str().map(str::to_owned));
        match named {
            Some(mchid) if mchid != self.mchid => {
                Err(Refusal::Forged("the resource is for another mchid"))
            }
            _ => Ok(()),
        }
    }
}

/// Step 4: the timestamp within [`WINDOW_SECS`] of `now`.
fn check_time(timestamp: &str, now: u64) -> Result<(), Refusal> {
    let ts: u64 = timestamp
        .parse()
        .map_err(|_| Refusal::Forged("Wechatpay-Timestamp is not a number"))?;
    if ts.abs_diff(now) > WINDOW_SECS {
        return Err(Refusal::Forged(
            "Wechatpay-Timestamp outside the 5-minute window",
        ));
    }
    Ok(())
}

/// The message WeChat Pay signs.
pub fn signed_message(timestamp: &str, nonce: &str, body: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(timestamp.len() + nonce.len() + body.len() + 3);
    for part in [
        timestamp.as_bytes(),
        b"\n",
        nonce.as_bytes(),
        b"\n",
        body,
        b"\n",
    ] {
        msg.extend_from_slice(part);
    }
    msg
}

/// Step 5: RSA-SHA256 over [`signed_message`].
fn check_signature(
    key: &PublicKey,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
    signature: &str,
) -> Result<(), Refusal> {
    if key.verifies(&signed_message(timestamp, nonce, body), signature) {
        Ok(())
    } else {
        Err(Refusal::Forged("bad signature"))
    }
}
