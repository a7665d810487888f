//! WeChat Pay APIv3 notifications, verified (public-key mode).
//!
//! TODO(verifier): the body of this module is being written.

use axum::http::HeaderMap;

use super::{Event, Refusal};

/// What the server was configured with.
pub struct WechatPay {
    _private: (),
}

impl WechatPay {
    /// `mchid`: our merchant id. `apiv3_key`: the 32-byte APIv3 key.
    /// `public_keys`: `(PUB_KEY_ID_…, PEM)` pairs, several for rotation.
    pub fn new(
        mchid: &str,
        apiv3_key: &str,
        public_keys: &[(String, String)],
    ) -> Result<Self, String> {
        let _ = (mchid, apiv3_key, public_keys);
        Err("not yet".into())
    }

    /// Verifies one notification at `now` (Unix seconds).
    pub fn verify(&self, headers: &HeaderMap, body: &[u8], now: u64) -> Result<Event, Refusal> {
        let _ = (headers, body, now);
        Err(Refusal::Forged("not yet"))
    }
}
