//! Watch tokens (`--watch-secret-file`): only the payer watches an order
//! (CONTRACT §5). Stateless: a token is the order's number and an expiry,
//! signed with HMAC-SHA256 under the server's secret, so any backend that
//! holds the secret can mint one:
//!
//! ```text
//! token = "v1." + exp + "." + hex(HMAC-SHA256(secret, "v1\n" + order_no + "\n" + exp))
//! ```
//!
//! `exp` is the expiry in Unix seconds, in decimal; `hex` is lowercase; the
//! secret is the file's bytes with a trailing newline removed, at least 32
//! bytes. `examples/watch-token.mjs` mints one in Node; server/README.md
//! gives a test vector. Pure: the clock is passed in.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Shortest secret accepted.
pub const MIN_SECRET_BYTES: usize = 32;

/// Why a token was refused (the reply says which; the token itself never
/// appears in a reply or a log).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refused {
    Missing,
    Malformed,
    Expired,
    /// Not signed by our secret for this order and expiry (also: another
    /// order's token).
    Wrong,
}

impl Refused {
    pub fn reason(self) -> &'static str {
        match self {
            Refused::Missing => "watch token missing",
            Refused::Malformed => "watch token malformed",
            Refused::Expired => "watch token expired",
            Refused::Wrong => "watch token not valid for this order",
        }
    }
}

/// The secret, and the minting and checking of tokens under it.
pub struct WatchTokens {
    secret: Vec<u8>,
}

impl WatchTokens {
    pub fn new(secret: &[u8]) -> Result<Self, String> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(format!(
                "the watch secret must be at least {MIN_SECRET_BYTES} bytes, not {}",
                secret.len()
            ));
        }
        Ok(WatchTokens {
            secret: secret.to_vec(),
        })
    }

    fn mac(&self, order_no: &str, exp: u64) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("HMAC takes any key");
        mac.update(format!("v1\n{order_no}\n{exp}").as_bytes());
        mac
    }

    /// The token for `order_no`, valid until `exp` (Unix seconds).
    pub fn mint(&self, order_no: &str, exp: u64) -> String {
        let sig = self.mac(order_no, exp).finalize().into_bytes();
        let hex: String = sig.iter().map(|b| format!("{b:02x}")).collect();
        format!("v1.{exp}.{hex}")
    }

    /// Whether `token` lets its bearer watch `order_no` at `now` (Unix
    /// seconds). The signature is compared in constant time.
    pub fn check(&self, order_no: &str, token: Option<&str>, now: u64) -> Result<(), Refused> {
        let token = token.filter(|t| !t.is_empty()).ok_or(Refused::Missing)?;
        let mut parts = token.splitn(3, '.');
        let (Some("v1"), Some(exp), Some(sig)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Refused::Malformed);
        };
        let exp: u64 = exp.parse().map_err(|_| Refused::Malformed)?;
        let sig = decode_hex(sig).ok_or(Refused::Malformed)?;
        self.mac(order_no, exp)
            .verify_slice(&sig)
            .map_err(|_| Refused::Wrong)?;
        if now >= exp {
            return Err(Refused::Expired);
        }
        Ok(())
    }
}

/// Lowercase or uppercase hex, 32 bytes' worth; `None` otherwise.
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"paywatch-test-watch-secret-0123456789";

    #[test]
    fn the_documented_vector() {
        let t = WatchTokens::new(SECRET).unwrap();
        let token = t.mint("SO-1001", 1_800_000_000);
        // The vector of server/README.md (also what node:crypto gives,
        // examples/watch-token.mjs), and the hmac crate on its own.
        assert_eq!(
            token,
            "v1.1800000000.86d4ab4b5ebd41f640980753c4b1e77791c73238a49c7dc3cad4191ee6508891"
        );
        assert_eq!(token, "v1.1800000000.".to_owned() + &hex_of_known_vector());
        assert_eq!(t.check("SO-1001", Some(&token), 1_799_999_999), Ok(()));
    }

    /// Computed independently of `mint`, by the `hmac` crate directly.
    fn hex_of_known_vector() -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
        mac.update(b"v1\nSO-1001\n1800000000");
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    #[test]
    fn refusals() {
        let t = WatchTokens::new(SECRET).unwrap();
        let token = t.mint("A-1", 2_000);
        assert_eq!(t.check("A-1", None, 1_000), Err(Refused::Missing));
        assert_eq!(t.check("A-1", Some(""), 1_000), Err(Refused::Missing));
        assert_eq!(t.check("B-1", Some(&token), 1_000), Err(Refused::Wrong));
        assert_eq!(t.check("A-1", Some(&token), 2_000), Err(Refused::Expired));
        let later = token.replacen("v1.2000.", "v1.9999.", 1);
        assert_eq!(t.check("A-1", Some(&later), 1_000), Err(Refused::Wrong));
        for bad in ["x", "v1.2000", "v2.2000.00", "v1.abc.00", "v1.2000.zz"] {
            assert_eq!(
                t.check("A-1", Some(bad), 1_000),
                Err(Refused::Malformed),
                "{bad}"
            );
        }
        let other = WatchTokens::new(b"another-secret-of-enough-bytes-000000").unwrap();
        assert_eq!(other.check("A-1", Some(&token), 1_000), Err(Refused::Wrong));
        assert!(WatchTokens::new(b"short").is_err());
    }
}
