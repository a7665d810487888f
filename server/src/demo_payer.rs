//! The demo's payer (`--demo-payer`, with `--demo-endpoints`): it plays
//! WeChat Pay. When the demo page's pay button asks, it writes the
//! notification WeChat Pay would send (resource encrypted with the APIv3
//! key, headers signed with a throwaway private key) and posts it to this
//! server's own `/notify/wechatpay`, so the demo runs on the real path.
//! `make demo` makes the throwaway keys at start (`scripts/demo-keys.sh`).
//!
//! [`Signer`] is also what the tests use to sign fresh notifications.

use std::net::SocketAddr;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use axum::http::{header, Request, StatusCode};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use ring::rand::SystemRandom;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use rsa::pkcs8::Document;
use serde_json::json;

use crate::config;
use crate::error::ApiError;
use crate::store::{ChangeError, Status};
use crate::AppState;

/// Signs WeChat Pay-shaped notifications, as WeChat Pay would.
pub struct Signer {
    key: RsaKeyPair,
    rng: SystemRandom,
    key_id: String,
    mchid: String,
    apiv3_key: Vec<u8>,
}

/// A notification ready to post: its headers and its exact body.
pub struct Notification {
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Signer {
    /// `private_key_pem`: PKCS#8 PEM. `apiv3_key`: the 32-byte key.
    pub fn new(
        private_key_pem: &str,
        key_id: &str,
        mchid: &str,
        apiv3_key: &str,
    ) -> Result<Self, String> {
        let not_a_key = || "the demo payer's private key is not a PKCS#8 PEM RSA key".to_owned();
        let (_, der) = Document::from_pem(private_key_pem.trim()).map_err(|_| not_a_key())?;
        let key = RsaKeyPair::from_pkcs8(der.as_bytes()).map_err(|_| not_a_key())?;
        Ok(Signer {
            key,
            rng: SystemRandom::new(),
            key_id: key_id.to_owned(),
            mchid: mchid.to_owned(),
            apiv3_key: apiv3_key.as_bytes().to_vec(),
        })
    }

    /// `TRANSACTION.SUCCESS` for `order_no`, `amount` fen, at `now` (Unix s).
    pub fn transaction_success(&self, order_no: &str, amount: u64, now: u64) -> Notification {
        let plaintext = json!({
            "mchid": self.mchid,
            "appid": "wxdemo0000000000",
            "out_trade_no": order_no,
            "transaction_id": format!("4200{now}{}", random_digits(8)),
            "trade_type": "NATIVE",
            "trade_state": "SUCCESS",
            "trade_state_desc": "demo payment",
            "amount": { "total": amount, "payer_total": amount, "currency": "CNY", "payer_currency": "CNY" },
        })
        .to_string();
        let nonce = random_token(12);
        let cipher = Aes256Gcm::new_from_slice(&self.apiv3_key).expect("a 32-byte APIv3 key");
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(nonce.as_bytes()),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: b"transaction",
                },
            )
            .expect("AES-GCM sealing cannot fail for this size");
        let body = json!({
            "id": random_token(32),
            "create_time": now.to_string(),
            "resource_type": "encrypt-resource",
            "event_type": "TRANSACTION.SUCCESS",
            "summary": "demo payment",
            "resource": {
                "original_type": "transaction",
                "algorithm": "AEAD_AES_256_GCM",
                "ciphertext": BASE64.encode(sealed),
                "associated_data": "transaction",
                "nonce": nonce,
            },
        })
        .to_string();
        self.sign(&body, now)
    }

    /// Signs `body` as sent at `now`: the four `Wechatpay-*` headers.
    pub fn sign(&self, body: &str, now: u64) -> Notification {
        let nonce = random_token(32);
        let message = format!("{now}\n{nonce}\n{body}\n");
        let mut signature = vec![0; self.key.public().modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &self.rng,
                message.as_bytes(),
                &mut signature,
            )
            .expect("RSA signing with a parsed key");
        Notification {
            headers: vec![
                ("Wechatpay-Timestamp", now.to_string()),
                ("Wechatpay-Nonce", nonce),
                ("Wechatpay-Signature", BASE64.encode(&signature)),
                ("Wechatpay-Serial", self.key_id.clone()),
                (
                    "Wechatpay-Signature-Type",
                    "WECHATPAY2-SHA256-RSA2048".into(),
                ),
            ],
            body: body.to_owned(),
        }
    }
}

/// The demo's payer: a [`Signer`] and where to post.
pub struct DemoPayer {
    signer: Signer,
    addr: SocketAddr,
}

impl DemoPayer {
    /// Reads the private key at `path`; the WeChat Pay flags give the rest.
    pub fn load(path: &Path, cfg: &config::Payments, addr: SocketAddr) -> std::io::Result<Self> {
        let fail = |msg: String| std::io::Error::other(msg);
        let (Some(mchid), Some(apiv3_path), Some(key_id)) = (
            &cfg.wechatpay_mchid,
            &cfg.wechatpay_apiv3_key_file,
            cfg.wechatpay_public_key_ids.first(),
        ) else {
            return Err(fail("--demo-payer needs the --wechatpay-* flags".into()));
        };
        let pem = std::fs::read_to_string(path)
            .map_err(|e| fail(format!("--demo-payer {}: {e}", path.display())))?;
        let apiv3 = std::fs::read_to_string(apiv3_path).map_err(|e| {
            fail(format!(
                "--wechatpay-apiv3-key-file {}: {e}",
                apiv3_path.display()
            ))
        })?;
        let signer = Signer::new(&pem, key_id, mchid.trim(), apiv3.trim()).map_err(fail)?;
        Ok(DemoPayer { signer, addr })
    }

    /// Pays `order_no` the way WeChat Pay would: a signed notification to
    /// our own `/notify/wechatpay`.
    pub async fn pay(&self, state: &AppState, order_no: &str) -> Result<(), ApiError> {
        let order = state.order(order_no).await?;
        // As without the payer: a closed or expired order is not paid (409).
        if order.status.is_final() && order.status != Status::Paid {
            return Err(ChangeError::Conflict(order.status).into());
        }
        let amount = order.details.amount.unwrap_or(1);
        let now = crate::store::now_ms() / 1_000;
        let note = self.signer.transaction_success(order_no, amount, now);
        let status = self
            .post(note)
            .await
            .map_err(|e| ApiError::Internal(format!("demo payer: {e}").into()))?;
        if status != StatusCode::NO_CONTENT {
            return Err(ApiError::Internal(
                format!("demo payer: /notify/wechatpay answered {status}").into(),
            ));
        }
        Ok(())
    }

    async fn post(&self, note: Notification) -> Result<StatusCode, String> {
        let stream = tokio::net::TcpStream::connect(self.addr)
            .await
            .map_err(|e| e.to_string())?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(conn);
        let mut req = Request::post("/notify/wechatpay")
            .header(header::HOST, self.addr.to_string())
            .header(header::CONTENT_TYPE, "application/json");
        for (name, value) in &note.headers {
            req = req.header(*name, value);
        }
        let req = req
            .body(Full::new(axum::body::Bytes::from(note.body)))
            .map_err(|e| e.to_string())?;
        let res = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = res.status();
        let _ = res.into_body().collect().await;
        Ok(status)
    }
}

/// `n` random characters of `[0-9A-Z]`.
fn random_token(n: usize) -> String {
    const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the system's random source");
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % 36]))
        .collect()
}

fn random_digits(n: usize) -> String {
    random_token(n * 2)
        .chars()
        .filter(char::is_ascii_digit)
        .chain(std::iter::repeat('0'))
        .take(n)
        .collect()
}
