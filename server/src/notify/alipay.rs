//! Alipay asynchronous notifications, verified (RSA2).
//!
//! TODO(verifier): the body of this module is being written.

use super::{Event, Refusal};

/// What the server was configured with.
pub struct Alipay {
    _private: (),
}

impl Alipay {
    /// `app_id`: ours. `public_key`: Alipay's public key, PEM or the bare
    /// base64 its console prints.
    pub fn new(app_id: &str, public_key: &str) -> Result<Self, String> {
        let _ = (app_id, public_key);
        Err("not yet".into())
    }

    /// Verifies one form-encoded notification body.
    pub fn verify(&self, body: &[u8]) -> Result<Event, Refusal> {
        let _ = body;
        Err(Refusal::Malformed("not yet"))
    }
}
