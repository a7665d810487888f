//! The platforms' RSA public keys: parsed by the `rsa` crate (SPKI, as PEM
//! or as the bare base64 of its DER that Alipay's console prints), verified
//! by `ring` (RSASSA-PKCS1-v1_5 with SHA-256, 2048 to 8192 bits).
//!
//! Why two crates: `rsa`'s pure-Rust bignum takes about 440 µs of CPU per
//! 2048-bit verification on the reference machine, which held one core to
//! some 2,200 notifications a second (`make bench-server`, ingest); `ring`'s
//! verification is an order of magnitude cheaper. Parsing stays with `rsa`,
//! whose `pkcs8` decoder reads both forms.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ring::signature::{RsaPublicKeyComponents, RSA_PKCS1_2048_8192_SHA256};
use rsa::pkcs8::DecodePublicKey;
use rsa::traits::PublicKeyParts;
use rsa::RsaPublicKey;

/// An RSA public key that checks SHA256withRSA signatures.
pub struct PublicKey(RsaPublicKeyComponents<Vec<u8>>);

impl PublicKey {
    /// A `-----BEGIN PUBLIC KEY-----` PEM, or `None`.
    pub fn from_pem(pem: &str) -> Option<Self> {
        RsaPublicKey::from_public_key_pem(pem.trim())
            .ok()
            .map(Self::from_rsa)
    }

    /// A PEM, or the bare base64 of the DER, or `None`.
    pub fn from_pem_or_base64(text: &str) -> Option<Self> {
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            return Self::from_pem(text);
        }
        let der = BASE64.decode(text).ok()?;
        RsaPublicKey::from_public_key_der(&der)
            .ok()
            .map(Self::from_rsa)
    }

    fn from_rsa(key: RsaPublicKey) -> Self {
        PublicKey(RsaPublicKeyComponents {
            n: key.n().to_bytes_be(),
            e: key.e().to_bytes_be(),
        })
    }

    /// Whether `signature_base64` is this key's signature over `message`.
    pub fn verifies(&self, message: &[u8], signature_base64: &str) -> bool {
        let Ok(signature) = BASE64.decode(signature_base64.trim()) else {
            return false;
        };
        self.0
            .verify(&RSA_PKCS1_2048_8192_SHA256, message, &signature)
            .is_ok()
    }
}
