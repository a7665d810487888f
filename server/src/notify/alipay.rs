//! Alipay asynchronous notifications, verified (RSA2).
//!
//! The checks, in order:
//!
//! 1. the body form-decodes (UTF-8; `+` is a space), with each name once;
//! 2. `sign_type` is `RSA2` and `sign` is there;
//! 3. `sign` is an RSA-SHA256 (PKCS#1 v1.5) signature by Alipay's key over
//!    [`signing_string`]: every other parameter but `sign` and `sign_type`,
//!    sorted by name, joined `k=v` with `&`, with the decoded values;
//! 4. `app_id` is ours.
//!
//! Then `TRADE_SUCCESS`/`TRADE_FINISHED` is [`Event::Paid`], `TRADE_CLOSED`
//! is [`Event::Closed`], and every other status is [`Event::Ignored`].

use std::collections::BTreeMap;

use super::key::PublicKey;
use super::{Event, Refusal};

/// What the server was configured with.
pub struct Alipay {
    app_id: String,
    key: PublicKey,
}

/// A notification's parameters, decoded, by name (sorted: byte order).
pub type Params = BTreeMap<String, String>;

impl Alipay {
    /// `app_id`: ours. `public_key`: Alipay's public key, PEM or the bare
    /// base64 of its DER that Alipay's console prints.
    pub fn new(app_id: &str, public_key: &str) -> Result<Self, String> {
        if app_id.is_empty() {
            return Err("the app id is empty".into());
        }
        let key = PublicKey::from_pem_or_base64(public_key)
            .ok_or("the Alipay public key is neither a PEM nor a base64 RSA public key (SPKI)")?;
        Ok(Alipay {
            app_id: app_id.to_owned(),
            key,
        })
    }

    /// Verifies one form-encoded notification body.
    pub fn verify(&self, body: &[u8]) -> Result<Event, Refusal> {
        let mut params = parse(body)?;
        if params.get("sign_type").map(String::as_str) != Some("RSA2") {
            return Err(Refusal::Forged("sign_type is not RSA2"));
        }
        let sign = params
            .remove("sign")
            .ok_or(Refusal::Forged("no sign parameter"))?;
        self.check_signature(&params, &sign)?;
        if params.get("app_id") != Some(&self.app_id) {
            return Err(Refusal::Forged("app_id is not ours"));
        }
        let order_no = params
            .remove("out_trade_no")
            .ok_or(Refusal::Malformed("no out_trade_no"))?;
        let status = params.get("trade_status").map_or("", String::as_str);
        match status {
            "TRADE_SUCCESS" | "TRADE_FINISHED" => {
                let total = params
                    .get("total_amount")
                    .ok_or(Refusal::Malformed("no total_amount"))?;
                let amount = yuan_to_fen(total)
                    .ok_or(Refusal::Malformed("total_amount is not an amount"))?;
                Ok(Event::Paid { order_no, amount })
            }
            "TRADE_CLOSED" => Ok(Event::Closed { order_no }),
            other => Ok(Event::Ignored {
                what: format!("trade_status {other}"),
            }),
        }
    }

    fn check_signature(&self, params: &Params, sign: &str) -> Result<(), Refusal> {
        if self.key.verifies(signing_string(params).as_bytes(), sign) {
            Ok(())
        } else {
            Err(Refusal::Forged("bad signature"))
        }
    }
}

/// Step 1: every parameter, decoded. A name sent twice is refused: which
/// one was signed would be a guess.
pub fn parse(body: &[u8]) -> Result<Params, Refusal> {
    if std::str::from_utf8(body).is_err() {
        return Err(Refusal::Malformed("the body is not UTF-8"));
    }
    let mut params = Params::new();
    for (k, v) in form_urlencoded::parse(body) {
        if params.insert(k.into_owned(), v.into_owned()).is_some() {
            return Err(Refusal::Malformed("a parameter is sent twice"));
        }
    }
    Ok(params)
}

/// The string Alipay signs: every parameter but `sign` and `sign_type`,
/// sorted by name, `k=v` joined with `&`, values decoded.
pub fn signing_string(params: &Params) -> String {
    params
        .iter()
        .filter(|(k, _)| *k != "sign" && *k != "sign_type")
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `"88.00"` → 8800 fen; at most two decimals, no sign, no exponent.
pub fn yuan_to_fen(s: &str) -> Option<u64> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |d: &str| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (s.contains('.') && !digits(frac)) || frac.len() > 2 {
        return None;
    }
    let fen: u64 = format!("{frac:0<2}").parse().ok()?;
    whole
        .parse::<u64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(fen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts() {
        assert_eq!(yuan_to_fen("88.00"), Some(8800));
        assert_eq!(yuan_to_fen("0.01"), Some(1));
        assert_eq!(yuan_to_fen("88"), Some(8800));
        assert_eq!(yuan_to_fen("88.5"), Some(8850));
        for bad in [
            "",
            ".5",
            "1.",
            "1.234",
            "-1",
            "1e3",
            " 1",
            "1,00",
            "99999999999999999999",
        ] {
            assert_eq!(yuan_to_fen(bad), None, "{bad:?}");
        }
    }
}
