//! The pure verifiers (`src/notify/`) against every case of the shared
//! vectors, one step at a time, with the clock set to the vectors' `now`;
//! and property tests: nothing a sender can put in a body or a header
//! makes a verifier panic or mark an order it should not.

use std::path::PathBuf;

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use paywatch_server::notify::alipay::{self, Alipay};
use paywatch_server::notify::wechatpay::{signed_message, WechatPay};
use paywatch_server::notify::{Event, Refusal};
use proptest::prelude::*;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use serde_json::Value;
use sha2::Sha256;

fn vector(path: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    std::fs::read_to_string(dir.join(path))
        .unwrap()
        .trim_end()
        .to_owned()
}

fn cases(platform: &str) -> Vec<Value> {
    serde_json::from_str(&vector(&format!("{platform}/cases.json"))).unwrap()
}

fn wechatpay() -> WechatPay {
    let keys = [
        // A second id first: rotation keeps several keys at once.
        (
            "PUB_KEY_ID_00000000000000000000000000000001".to_owned(),
            vector("alipay/public_key.pem"),
        ),
        (
            vector("wechatpay/public_key_id.txt"),
            vector("wechatpay/public_key.pem"),
        ),
    ];
    WechatPay::new(
        &vector("wechatpay/mchid.txt"),
        &vector("wechatpay/apiv3_key.txt"),
        &keys,
    )
    .unwrap()
}

fn alipay() -> Alipay {
    Alipay::new(
        &vector("alipay/app_id.txt"),
        &vector("alipay/public_key.txt"),
    )
    .unwrap()
}

fn headers(case: &Value) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in case["headers"].as_object().unwrap() {
        map.insert(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v.as_str().unwrap()).unwrap(),
        );
    }
    map
}

fn case<'a>(all: &'a [Value], name: &str) -> &'a Value {
    all.iter().find(|c| c["name"] == name).unwrap()
}

#[test]
fn wechatpay_every_case_step_by_step() {
    let verifier = wechatpay();
    let key = VerifyingKey::<Sha256>::new(
        rsa::RsaPublicKey::from_public_key_pem(&vector("wechatpay/public_key.pem")).unwrap(),
    );
    for case in cases("wechatpay") {
        let name = case["name"].as_str().unwrap();
        let h = headers(&case);
        let body = case["body"].as_str().unwrap().as_bytes();
        // The signature step alone.
        let get = |n: &str| h.get(n).map(|v| v.to_str().unwrap());
        let signed = match (
            get("Wechatpay-Timestamp"),
            get("Wechatpay-Nonce"),
            get("Wechatpay-Signature"),
        ) {
            (Some(ts), Some(nonce), Some(sig)) => BASE64
                .decode(sig)
                .ok()
                .and_then(|raw| Signature::try_from(raw.as_slice()).ok())
                .is_some_and(|sig| key.verify(&signed_message(ts, nonce, body), &sig).is_ok()),
            _ => false,
        };
        assert_eq!(signed, case["signature_valid"] == true, "{name}: signature");
        // The decryption step alone.
        if let Some(decrypts) = case["decrypts"].as_bool() {
            assert_eq!(
                verifier.open_resource(body).is_ok(),
                decrypts,
                "{name}: decrypts"
            );
        }
        // The whole verdict.
        let verdict = verifier.verify(&h, body, case["now"].as_u64().unwrap());
        let expect = &case["expect"];
        match expect["http"].as_u64().unwrap() {
            204 => {
                let event = verdict.unwrap_or_else(|r| panic!("{name}: refused {r:?}"));
                match &expect["marks"] {
                    Value::Null => {
                        // A duplicate, a refund, or an amount the route refuses.
                        if name == "refund_success" {
                            assert!(matches!(event, Event::Ignored { .. }), "{name}: {event:?}");
                        }
                    }
                    marks => assert_eq!(
                        event,
                        Event::Paid {
                            order_no: marks["order_no"].as_str().unwrap().into(),
                            amount: if name == "order_without_amount" {
                                1
                            } else {
                                8800
                            },
                        },
                        "{name}"
                    ),
                }
            }
            401 => assert!(
                matches!(verdict, Err(Refusal::Forged(_))),
                "{name}: {verdict:?}"
            ),
            400 => assert!(
                matches!(verdict, Err(Refusal::Malformed(_))),
                "{name}: {verdict:?}"
            ),
            other => panic!("{name}: unexpected {other}"),
        }
    }
}

#[test]
fn wechatpay_plaintext_and_amounts() {
    let all = cases("wechatpay");
    let valid = case(&all, "valid_transaction_success");
    let plaintext = wechatpay()
        .open_resource(valid["body"].as_str().unwrap().as_bytes())
        .unwrap();
    assert_eq!(
        String::from_utf8(plaintext).unwrap(),
        vector("wechatpay/plaintext.json")
    );
    // The verifier reports the notified amount; the route compares it.
    let differs = case(&all, "amount_differs_from_order");
    let event = wechatpay()
        .verify(
            &headers(differs),
            differs["body"].as_str().unwrap().as_bytes(),
            differs["now"].as_u64().unwrap(),
        )
        .unwrap();
    assert!(matches!(event, Event::Paid { amount: 1, .. }), "{event:?}");
}

#[test]
fn wechatpay_refuses_bad_configuration_without_echoing_it() {
    let pem = vector("wechatpay/public_key.pem");
    let keys = [("PUB_KEY_ID_1".to_owned(), pem.clone())];
    let short = "0123456789012345678901234567890";
    let err = WechatPay::new("1900000001", short, &keys).err().unwrap();
    assert!(err.contains("32 bytes") && !err.contains(short), "{err}");
    let garbage = [(
        "PUB_KEY_ID_1".to_owned(),
        "-----BEGIN PUBLIC KEY-----\nsecretish\n".to_owned(),
    )];
    let err = WechatPay::new("1900000001", &"k".repeat(32), &garbage)
        .err()
        .unwrap();
    assert!(err.contains("PEM") && !err.contains("secretish"), "{err}");
}

#[test]
fn alipay_every_case() {
    let verifier = alipay();
    for case in cases("alipay") {
        let name = case["name"].as_str().unwrap();
        let verdict = verifier.verify(case["body"].as_str().unwrap().as_bytes());
        let expect = &case["expect"];
        match expect["http"].as_u64().unwrap() {
            200 => {
                let event = verdict.unwrap_or_else(|r| panic!("{name}: refused {r:?}"));
                let marks = &expect["marks"];
                match marks["status"].as_str() {
                    Some("paid") => assert!(
                        matches!(&event, Event::Paid { order_no, .. } if marks["order_no"] == order_no.as_str()),
                        "{name}: {event:?}"
                    ),
                    Some("closed") => assert!(
                        matches!(&event, Event::Closed { order_no } if marks["order_no"] == order_no.as_str()),
                        "{name}: {event:?}"
                    ),
                    _ => {}
                }
                if name == "wait_buyer_pay" {
                    assert!(matches!(event, Event::Ignored { .. }), "{name}");
                }
            }
            400 => assert!(verdict.is_err(), "{name}: {verdict:?}"),
            other => panic!("{name}: unexpected {other}"),
        }
    }
}

#[test]
fn alipay_signing_string_and_key_forms() {
    let all = cases("alipay");
    let success = case(&all, "trade_success");
    let params = alipay::parse(success["body"].as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(
        alipay::signing_string(&params),
        vector("alipay/signing_string.txt")
    );
    // PEM and the console's bare base64 are the same key.
    let pem = Alipay::new(
        &vector("alipay/app_id.txt"),
        &vector("alipay/public_key.pem"),
    )
    .unwrap();
    assert!(pem
        .verify(success["body"].as_str().unwrap().as_bytes())
        .is_ok());
    assert!(Alipay::new("2021", "not a key").is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any one byte of a valid WeChat Pay body or header changed: never
    /// paid (the signature covers them all), never a panic.
    #[test]
    fn wechatpay_one_byte_changed_is_never_paid(at in any::<prop::sample::Index>(), xor in 1u8..=255, part in 0usize..4) {
        let all = cases("wechatpay");
        let valid = case(&all, "valid_transaction_success");
        let mut h = headers(valid);
        let mut body = valid["body"].as_str().unwrap().as_bytes().to_vec();
        match part {
            0 => { let i = at.index(body.len()); body[i] ^= xor; }
            p => {
                let name = ["Wechatpay-Timestamp", "Wechatpay-Nonce", "Wechatpay-Signature"][p - 1];
                let mut v = h[name].as_bytes().to_vec();
                let i = at.index(v.len());
                v[i] ^= xor;
                match HeaderValue::from_bytes(&v) {
                    Ok(v) => { h.insert(name, v); }
                    Err(_) => return Ok(()),
                }
            }
        }
        let verdict = wechatpay().verify(&h, &body, valid["now"].as_u64().unwrap());
        prop_assert!(!matches!(verdict, Ok(Event::Paid { .. })), "{:?}", verdict);
    }

    /// Arbitrary bytes and headers: a refusal, never a panic.
    #[test]
    fn wechatpay_arbitrary_input(body in prop::collection::vec(any::<u8>(), 0..2048), ts in "[0-9]{0,12}", sig in "[A-Za-z0-9+/=]{0,400}") {
        let mut h = HeaderMap::new();
        h.insert("Wechatpay-Timestamp", HeaderValue::from_str(&ts).unwrap());
        h.insert("Wechatpay-Nonce", HeaderValue::from_static("n"));
        h.insert("Wechatpay-Signature", HeaderValue::from_str(&sig).unwrap());
        h.insert("Wechatpay-Serial", HeaderValue::from_str(&vector("wechatpay/public_key_id.txt")).unwrap());
        prop_assert!(wechatpay().verify(&h, &body, 1_796_645_811).is_err());
    }

    /// Any one byte of a valid Alipay body changed: never paid for another
    /// order or amount, never a panic; arbitrary bytes are refused.
    #[test]
    fn alipay_one_byte_changed_and_arbitrary_input(at in any::<prop::sample::Index>(), xor in 1u8..=255, junk in prop::collection::vec(any::<u8>(), 0..2048)) {
        let all = cases("alipay");
        let valid = case(&all, "trade_success");
        let mut body = valid["body"].as_str().unwrap().as_bytes().to_vec();
        let i = at.index(body.len());
        body[i] ^= xor;
        let verdict = alipay().verify(&body);
        if let Ok(Event::Paid { order_no, amount }) = &verdict {
            // Only a change the decoding undoes (say `%2B` ↔ `%2b`) may pass.
            prop_assert_eq!(order_no.as_str(), "AP2026120745811001");
            prop_assert_eq!(*amount, 8800);
        }
        prop_assert!(alipay().verify(&junk).is_err());
        // The canonicalisation alone never panics either.
        if let Ok(params) = alipay::parse(&junk) {
            let _ = alipay::signing_string(&params);
        }
    }
}
