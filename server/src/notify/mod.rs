//! Payment-platform notifications (CONTRACT §5, "The payment platforms
//! tell it directly").
//!
//! Each platform's verifier is a pure module: bytes and headers in, an
//! [`Event`] or a [`Refusal`] out, with the clock passed in. No I/O, no
//! store; the routes in [`crate::routes::notify`] apply the event.
//!
//! * [`wechatpay`]: WeChat Pay APIv3 (RSA-SHA256 over
//!   `timestamp\nnonce\nbody\n`, AEAD_AES_256_GCM resource);
//! * [`alipay`]: Alipay asynchronous notifications (RSA2 over the sorted,
//!   decoded parameters).

pub mod alipay;
pub mod key;
pub mod wechatpay;

/// What an authentic notification says about one order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The order is paid. `amount` is in the smallest currency unit (fen).
    Paid { order_no: String, amount: u64 },
    /// The order is closed (Alipay `TRADE_CLOSED`).
    Closed { order_no: String },
    /// Authentic, but about nothing this server tracks (a refund,
    /// `WAIT_BUYER_PAY`, …): acknowledged, changes nothing.
    Ignored { what: String },
}

/// Why a notification was refused. The text is for logs and the reply; it
/// never holds a key, a signature or the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not signed by a configured key, stale, undecryptable, or for another
    /// merchant/app: WeChat Pay `401`, Alipay `400 fail`.
    Forged(&'static str),
    /// Authentic or not, the body cannot be read: `400`.
    Malformed(&'static str),
}

impl Refusal {
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Forged(why) | Refusal::Malformed(why) => why,
        }
    }
}
