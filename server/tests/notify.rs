//! The notify doors end to end, against the real server in-process, on the
//! memory store and on a real Redis:
//!
//! * every case of the shared vectors (`tests/vectors/`, clock set to the
//!   vectors' `now`) gives its expected reply and marks exactly what it
//!   says, and a refused one tells no waiter;
//! * a fresh notification, signed now with the vectors' private keys,
//!   tells an SSE stream, a WebSocket and a held long-poll once each, and
//!   fifteen resends tell nobody again.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use common::redis::Redis;
use common::*;
use paywatch_server::config::Payments;
use paywatch_server::demo_payer::Signer;
use reqwest::Method;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer as _};
use serde_json::{json, Value};
use sha2::Sha256;

const API_KEY: &str = "notify-test-key-0123456789";
const T: Duration = Duration::from_secs(5);
/// How long a waiter is watched for a frame that must not come.
const QUIET: Duration = Duration::from_millis(400);

fn vectors() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn vector(path: &str) -> String {
    std::fs::read_to_string(vectors().join(path))
        .unwrap()
        .trim_end()
        .to_owned()
}

fn cases(platform: &str) -> Vec<Value> {
    serde_json::from_str(&vector(&format!("{platform}/cases.json"))).unwrap()
}

fn payments() -> Payments {
    let v = vectors();
    Payments {
        api_keys_env: Some(API_KEY.into()),
        wechatpay_mchid: Some(vector("wechatpay/mchid.txt")),
        wechatpay_apiv3_key_file: Some(v.join("wechatpay/apiv3_key.txt")),
        wechatpay_public_key_files: vec![v.join("wechatpay/public_key.pem")],
        wechatpay_public_key_ids: vec![vector("wechatpay/public_key_id.txt")],
        alipay_app_id: Some(vector("alipay/app_id.txt")),
        // The bare base64 form, as Alipay's console prints it.
        alipay_public_key_file: Some(v.join("alipay/public_key.txt")),
        ..Payments::default()
    }
}

async fn server(redis: Option<&Redis>, clock: Option<u64>) -> TestServer {
    start_with(Options {
        redis: redis.map(Redis::url),
        payments: payments(),
        notify_clock: clock,
        ..Options::default()
    })
    .await
}

impl TestServer {
    async fn api_create(&self, order_no: &str, amount: Option<u64>) {
        let mut body = json!({ "order_no": order_no });
        if let Some(a) = amount {
            body["amount"] = a.into();
        }
        let (code, reply) = self
            .api(Method::POST, "/orders", Some(API_KEY), Some(body.clone()))
            .await;
        assert_eq!(code, 201, "create {body}: {reply}");
    }

    async fn api_status(&self, order_no: &str) -> Value {
        let path = format!("/orders/{}", enc(order_no));
        let (code, body) = self.api(Method::GET, &path, Some(API_KEY), None).await;
        assert_eq!(code, 200, "{body}");
        body
    }

    /// Posts a notification: `(status, body text)`.
    async fn notify(&self, path: &str, headers: &[(String, String)], body: &str) -> (u16, String) {
        let mut req = self
            .client
            .post(format!("{}{path}", self.url))
            .body(body.to_owned());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let res = req.send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }
}

fn case_headers(case: &Value) -> Vec<(String, String)> {
    case["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect()
}

/// Runs every vector case of `platform` against `s`, in file order.
async fn run_vectors(s: &TestServer, platform: &str) {
    for case in cases(platform) {
        let name = case["name"].as_str().unwrap();
        let setup: Vec<&str> = case["setup"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| {
                let no = o["order_no"].as_str().unwrap();
                no
            })
            .collect();
        for o in case["setup"].as_array().unwrap() {
            s.api_create(o["order_no"].as_str().unwrap(), o["amount"].as_u64())
                .await;
        }
        // A waiter on the first order: told exactly when the case marks it.
        let mut waiter = match setup.first() {
            Some(no) => {
                let mut r = s.sse_reader(no, None).await;
                assert_eq!(r.try_data(T).await.unwrap()["status"], "pending");
                Some(r)
            }
            None => None,
        };
        let (code, body) = s
            .notify(
                case["path"].as_str().unwrap(),
                &case_headers(&case),
                case["body"].as_str().unwrap(),
            )
            .await;
        let expect = &case["expect"];
        assert_eq!(
            u64::from(code),
            expect["http"].as_u64().unwrap(),
            "{platform} {name}: {body}"
        );
        if let Some(reply) = expect["reply"].as_str() {
            assert_eq!(body, reply, "{platform} {name}");
        } else if code == 204 {
            assert_eq!(body, "", "{platform} {name}");
        } else {
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["code"], "FAIL", "{platform} {name}: {body}");
            assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        let marks = &expect["marks"];
        for no in &setup {
            let want = if marks["order_no"] == *no {
                marks["status"].as_str().unwrap()
            } else {
                "pending"
            };
            let got = s.api_status(no).await;
            assert_eq!(got["status"], want, "{platform} {name}: {no} {got}");
            if want != "pending" {
                assert_eq!(got["source"], platform, "{platform} {name}");
            }
        }
        if let Some(r) = waiter.as_mut() {
            let told = r.try_data(QUIET).await;
            match marks["status"].as_str() {
                Some(status) => assert_eq!(told.unwrap()["status"], status, "{platform} {name}"),
                None => assert!(
                    told.is_none(),
                    "{platform} {name}: a waiter was told {told:?}"
                ),
            }
        }
    }
}

#[tokio::test]
async fn every_vector_case_gives_its_reply_and_marks_what_it_says() {
    let now = cases("wechatpay")[0]["now"].as_u64().unwrap();
    let s = server(None, Some(now)).await;
    run_vectors(&s, "wechatpay").await;
    run_vectors(&s, "alipay").await;
}

#[tokio::test]
async fn every_vector_case_on_redis() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let now = cases("wechatpay")[0]["now"].as_u64().unwrap();
    let s = server(Some(&redis), Some(now)).await;
    run_vectors(&s, "wechatpay").await;
    run_vectors(&s, "alipay").await;
}

/// A WeChat Pay notification for `order_no`, signed now.
fn wechatpay_now(order_no: &str, amount: u64) -> (Vec<(String, String)>, String) {
    let signer = Signer::new(
        &vector("wechatpay/private_key.pem"),
        &vector("wechatpay/public_key_id.txt"),
        &vector("wechatpay/mchid.txt"),
        &vector("wechatpay/apiv3_key.txt"),
    )
    .unwrap();
    let now = paywatch_server::store::now_ms() / 1_000;
    let note = signer.transaction_success(order_no, amount, now);
    let mut headers: Vec<(String, String)> = note
        .headers
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    headers.push(("Content-Type".into(), "application/json".into()));
    (headers, note.body)
}

/// An Alipay `TRADE_SUCCESS` for `order_no`, signed now (RSA2).
fn alipay_now(order_no: &str, yuan: &str) -> (Vec<(String, String)>, String) {
    let mut params = vec![
        ("app_id", vector("alipay/app_id.txt")),
        ("charset", "utf-8".to_owned()),
        ("notify_id", format!("{}", paywatch_server::store::now_ms())),
        ("notify_time", "2026-12-07 20:00:00".to_owned()),
        ("notify_type", "trade_status_sync".to_owned()),
        ("out_trade_no", order_no.to_owned()),
        ("subject", "会员年卡 A+B & C=D".to_owned()),
        ("total_amount", yuan.to_owned()),
        ("trade_no", "2026120722001400000000000001".to_owned()),
        ("trade_status", "TRADE_SUCCESS".to_owned()),
        ("version", "1.0".to_owned()),
    ];
    params.sort();
    let signing: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let key = rsa::RsaPrivateKey::from_pkcs8_pem(&vector("alipay/private_key.pem")).unwrap();
    let sig = SigningKey::<Sha256>::new(key).sign(signing.join("&").as_bytes());
    params.push(("sign", BASE64.encode(sig.to_bytes())));
    params.push(("sign_type", "RSA2".to_owned()));
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let headers = vec![(
        "Content-Type".to_owned(),
        "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
    )];
    (headers, body)
}

/// Each kind of waiter is told once, and fifteen resends tell nobody again.
async fn told_once(s: &TestServer, platform: &str) {
    let no = format!("E2E-{platform}-{}", paywatch_server::store::now_ms());
    s.api_create(&no, Some(8800)).await;
    let (path, (headers, body), accepted) = match platform {
        "wechatpay" => ("/notify/wechatpay", wechatpay_now(&no, 8800), (204, "")),
        _ => ("/notify/alipay", alipay_now(&no, "88.00"), (200, "success")),
    };

    let mut sse = s.sse_reader(&no, None).await;
    assert_eq!(sse.try_data(T).await.unwrap()["status"], "pending");
    let mut ws = s.ws().await;
    ws.subscribe(&no).await;
    assert_eq!(ws.try_json(T).await.unwrap()["status"], "pending");
    let long_poll = {
        let url = s.check_url(&no, "&wait=10");
        let client = s.client.clone();
        tokio::spawn(async move {
            let res = client.get(url).send().await.unwrap();
            res.json::<Value>().await.unwrap()
        })
    };
    s.wait_stat(&no, "long_poll_waiting", 1).await;

    let (code, text) = s.notify(path, &headers, &body).await;
    assert_eq!((code, text.as_str()), accepted, "{platform}");
    assert_eq!(sse.try_data(T).await.unwrap()["status"], "paid");
    assert_eq!(ws.try_json(T).await.unwrap()["status"], "paid");
    assert_eq!(long_poll.await.unwrap()["status"], "paid");

    for _ in 0..15 {
        let (code, text) = s.notify(path, &headers, &body).await;
        assert_eq!((code, text.as_str()), accepted, "{platform} resend");
    }
    assert!(
        sse.try_data(QUIET).await.is_none(),
        "{platform}: SSE told twice"
    );
    assert!(
        ws.try_json(QUIET).await.is_none(),
        "{platform}: WebSocket told twice"
    );
    let status = s.api_status(&no).await;
    assert_eq!(status["status"], "paid");
    assert_eq!(status["source"], platform);
}

#[tokio::test]
async fn a_fresh_notification_tells_each_waiter_once_in_memory() {
    let s = server(None, None).await;
    told_once(&s, "wechatpay").await;
    told_once(&s, "alipay").await;
}

#[tokio::test]
async fn a_fresh_notification_tells_each_waiter_once_on_redis() {
    let Some(redis) = Redis::start().await else {
        return;
    };
    let s = server(Some(&redis), None).await;
    told_once(&s, "wechatpay").await;
    told_once(&s, "alipay").await;
}

/// The demo's pay button with `--demo-payer`: a notification signed with
/// the (here: the vectors') private key goes through `/notify/wechatpay`.
#[tokio::test]
async fn the_demo_payer_pays_through_a_signed_notification() {
    let mut payments = payments();
    payments.demo_payer_key_file = Some(vectors().join("wechatpay/private_key.pem"));
    let s = start_with(Options {
        payments,
        ..Options::default()
    })
    .await;
    s.api_create("DEMO-PAYER-1", Some(1234)).await;
    let mut sse = s.sse_reader("DEMO-PAYER-1", None).await;
    assert_eq!(sse.try_data(T).await.unwrap()["status"], "pending");

    let (code, body) = s.pay("DEMO-PAYER-1").await;
    assert_eq!((code, &body["status"]), (200, &json!("paid")), "{body}");
    assert_eq!(body["source"], "wechatpay", "the door that marked it");
    assert_eq!(sse.try_data(T).await.unwrap()["status"], "paid");
    let (code, _) = s.pay("DEMO-PAYER-1").await;
    assert_eq!(code, 200, "paying a paid order again is a no-op");
    assert!(sse.try_data(QUIET).await.is_none(), "told twice");
    let status = s.api_status("DEMO-PAYER-1").await;
    assert_eq!(
        (&status["source"], &status["amount"]),
        (&json!("wechatpay"), &json!(1234))
    );

    // A closed order is not paid by the demo payer either.
    s.api_create("DEMO-PAYER-2", None).await;
    let (code, _) = s
        .post(&format!("/orders/{}/close", enc("DEMO-PAYER-2")))
        .await;
    assert_eq!(code, 200);
    let (code, body) = s.pay("DEMO-PAYER-2").await;
    assert_eq!(code, 409, "{body}");
    assert_eq!(s.api_status("DEMO-PAYER-2").await["status"], "closed");
}

#[tokio::test]
async fn an_amount_that_differs_marks_nothing() {
    let s = server(None, None).await;
    s.api_create("AMT-1", Some(100)).await;
    let (headers, body) = wechatpay_now("AMT-1", 1);
    assert_eq!(s.notify("/notify/wechatpay", &headers, &body).await.0, 204);
    assert_eq!(s.api_status("AMT-1").await["status"], "pending");
    s.api_create("AMT-2", Some(10_000)).await;
    let (headers, body) = alipay_now("AMT-2", "0.01");
    assert_eq!(
        s.notify("/notify/alipay", &headers, &body).await,
        (200, "success".into())
    );
    assert_eq!(s.api_status("AMT-2").await["status"], "pending");
}

#[tokio::test]
async fn unconfigured_doors_are_not_there() {
    let s = start().await;
    let (code, _) = s.notify("/notify/wechatpay", &[], "{}").await;
    assert_eq!(code, 404);
    let (code, _) = s.notify("/notify/alipay", &[], "a=b").await;
    assert_eq!(code, 404);
    let (code, _) = s.notify("/api/orders", &[], "{}").await;
    assert_eq!(code, 404, "no key, no /api");
}

/// Arbitrary bodies (up to twice the body cap) and headers at both doors:
/// never a 5xx, nothing marked; a body over the cap is 413 before anything
/// reads it whole (memory stays bounded by the cap).
#[tokio::test]
async fn arbitrary_input_is_refused_without_a_5xx() {
    let s = server(None, None).await;
    s.api_create("FUZZ-1", None).await;
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let max = paywatch_server::limits::MAX_BODY_BYTES;
    for round in 0..300 {
        let len = (next() as usize) % (2 * max);
        let body: Vec<u8> = if round % 3 == 0 {
            // Form-shaped: the names an Alipay body has, a made-up sign.
            format!(
                "out_trade_no=FUZZ-1&trade_status=TRADE_SUCCESS&total_amount=0.01&sign_type=RSA2&sign={:x}&app_id={}",
                next(),
                vector("alipay/app_id.txt")
            )
            .into_bytes()
        } else {
            (0..len).map(|_| next() as u8).collect()
        };
        let headers = [
            (
                "Wechatpay-Timestamp",
                (paywatch_server::store::now_ms() / 1000).to_string(),
            ),
            ("Wechatpay-Nonce", format!("{:x}", next())),
            ("Wechatpay-Signature", BASE64.encode(next().to_le_bytes())),
            ("Wechatpay-Serial", vector("wechatpay/public_key_id.txt")),
        ];
        for path in ["/notify/wechatpay", "/notify/alipay"] {
            let mut req = s.client.post(format!("{}{path}", s.url)).body(body.clone());
            if round % 2 == 0 {
                for (k, v) in &headers {
                    req = req.header(*k, v);
                }
            }
            let code = req.send().await.unwrap().status().as_u16();
            assert!(code < 500, "{path}: {code} for a {}-byte body", body.len());
            if body.len() > max {
                assert_eq!(code, 413, "{path}: over the cap");
            }
        }
    }
    assert_eq!(s.api_status("FUZZ-1").await["status"], "pending");
}
