//! The rules of the cross-tab layer, with no browser APIs: the names of the
//! storage keys, locks and channels of an order, the paid marker and its
//! expiry, the messages tabs send each other, and the timings.

use crate::display::concat;
use crate::options::Strategy;
use crate::status::Verdict;

/// Every key, lock and channel paywatch makes starts with this.
pub const PREFIX: &str = "paywatch:";
/// `localStorage` keys of paid markers: `paywatch:paid:<order_no>`.
pub const MARKER_PREFIX: &str = "paywatch:paid:";
/// `localStorage` keys of bids (the claim without Web Locks):
/// `paywatch:bid:<token>`, one per tab and order, so tabs never write the
/// same key at once.
pub const BID_PREFIX: &str = "paywatch:bid:";

/// The leader sends a heartbeat this often.
pub const BEAT_MS: u32 = 1000;
/// A follower that hears nothing for this long (plus up to
/// [`SILENCE_JITTER_MS`]) takes the lead over by force: the leader's tab is
/// frozen or hung. A closed tab releases its lock at once, no wait.
pub const SILENCE_MS: u32 = 3000;
pub const SILENCE_JITTER_MS: u32 = 500;
/// A tab that takes the lead over from another first gives the old leader's
/// final message this long to arrive, so it does not ask the server about an
/// order another tab has just seen paid.
pub const TAKEOVER_GRACE_MS: u32 = 50;
/// The tab that claimed an order's analytics keeps the claim lock this long,
/// so a tab whose copy of `localStorage` has not caught up yet finds the lock
/// taken rather than an unmarked order.
pub const CLAIM_HOLD_MS: u32 = 1000;
/// Without Web Locks: how long a tab waits after writing its bid before it
/// reads the bids of the order; the earliest bid fires.
pub const VERIFY_MS: u32 = 100;

/// The `localStorage` key of an order's paid marker.
pub fn marker_key(order_no: &str) -> String {
    concat(&[MARKER_PREFIX, order_no])
}

/// The Web Lock held by the tab that watches the order for every tab.
pub fn lead_lock(order_no: &str) -> String {
    concat(&[PREFIX, "lead:", order_no])
}

/// The Web Lock held while a tab decides whether it fires the analytics.
pub fn claim_lock(order_no: &str) -> String {
    concat(&[PREFIX, "claim:", order_no])
}

/// The `BroadcastChannel` of the tabs watching one order.
pub fn channel_name(order_no: &str) -> String {
    concat(&[PREFIX, "order:", order_no])
}

/// The value of a paid marker: until when it counts (ms since the epoch),
/// and the token of the tab that wrote it. Stored as `"<until> <token>"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker<'a> {
    pub until: f64,
    pub token: &'a str,
}

impl Marker<'_> {
    pub fn new(now: f64, lifetime_ms: u32, token: &str) -> Marker<'_> {
        Marker {
            until: now + f64::from(lifetime_ms),
            token,
        }
    }

    pub fn encode(&self) -> String {
        concat(&[&whole(self.until), " ", self.token])
    }

    /// `None` for anything that is not a marker this version wrote.
    pub fn decode(text: &str) -> Option<Marker<'_>> {
        let (until, token) = number_then(text)?;
        Some(Marker { until, token })
    }

    /// Whether the marker still says "already counted" at `now`.
    pub fn is_fresh(&self, now: f64) -> bool {
        now < self.until
    }
}

/// A time in whole milliseconds, as stored (fractions dropped).
fn whole(ms: f64) -> String {
    crate::display::float(ms.trunc().max(0.0))
}

/// A leading whole number of milliseconds and the text after its space.
/// Digits by hand and `get` rather than indexing: `str::parse` and panic
/// paths would cost the wasm module more.
fn number_then(text: &str) -> Option<(f64, &str)> {
    let space = text.bytes().position(|b| b == b' ')?;
    let (digits, rest) = (text.get(..space)?, text.get(space + 1..)?);
    if digits.is_empty() || digits.len() > 16 {
        return None;
    }
    let mut n = 0.0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10.0 + f64::from(b - b'0');
    }
    Some((n, rest))
}

/// A tab's bid to fire an order's analytics where there are no Web Locks,
/// stored under [`bid_key`] as `"<until> <at> <order_no>"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Bid<'a> {
    pub until: f64,
    /// When the tab bid (ms since the epoch): the earliest bid wins.
    pub at: f64,
    pub order_no: &'a str,
}

impl Bid<'_> {
    pub fn encode(&self) -> String {
        let (until, at) = (whole(self.until), whole(self.at));
        concat(&[&until, " ", &at, " ", self.order_no])
    }

    pub fn decode(text: &str) -> Option<Bid<'_>> {
        let (until, rest) = number_then(text)?;
        let (at, order_no) = number_then(rest)?;
        Some(Bid {
            until,
            at,
            order_no,
        })
    }
}

/// The `localStorage` key of the bid of the tab with `token`.
pub fn bid_key(token: &str) -> String {
    concat(&[BID_PREFIX, token])
}

/// Whether the bid `(at, token)` is the earliest of `bids` (ties: the
/// smaller token), so exactly one of the tabs that see the same bids wins.
pub fn wins(mine: (f64, &str), bids: &[(f64, String)]) -> bool {
    bids.iter().all(|(at, token)| mine <= (*at, token.as_str()))
}

/// Whether a stored marker says the order's analytics already fired.
pub fn already_fired(stored: Option<&str>, now: f64) -> bool {
    stored
        .and_then(Marker::decode)
        .is_some_and(|m| m.is_fresh(now))
}

/// Whether a `localStorage` entry is a paid marker or bid that can go:
/// expired, or unreadable. Other keys are never touched.
pub fn is_stale_marker(key: &str, value: Option<&str>, now: f64) -> bool {
    if key.starts_with(BID_PREFIX) {
        return !value.and_then(Bid::decode).is_some_and(|b| now < b.until);
    }
    key.starts_with(MARKER_PREFIX) && !already_fired(value, now)
}

/// How a watch learned its outcome: `outcome.source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// This page's own requests or push connection.
    Server,
    /// Another tab watching the order told this one (`BroadcastChannel`).
    Tab,
    /// This page decided: `timeout` or `cancelled`.
    Page,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Server => "server",
            Source::Tab => "tab",
            Source::Page => "page",
        }
    }
}

/// What tabs watching one order say to each other.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// The leader is alive (`"beat"`).
    Beat,
    /// The server said the order is final (`"final <status> <strategy>"`).
    Final { verdict: Verdict, via: Strategy },
}

impl Message {
    pub fn encode(&self) -> String {
        match self {
            Message::Beat => "beat".to_owned(),
            Message::Final { verdict, via } => concat(&["final ", verdict.name(), " ", via.name()]),
        }
    }

    /// `None` for anything else: a message of a newer version is ignored.
    pub fn decode(text: &str) -> Option<Message> {
        if text == "beat" {
            return Some(Message::Beat);
        }
        let rest = text.strip_prefix("final ")?;
        [Verdict::Paid, Verdict::Closed, Verdict::Expired]
            .into_iter()
            .find_map(|verdict| {
                let via = rest.strip_prefix(verdict.name())?.strip_prefix(' ')?;
                Some(Message::Final {
                    verdict,
                    via: Strategy::parse(via)?,
                })
            })
    }
}

/// How long a follower waits in silence before it takes the lead over;
/// `random` is in `[0, 1)`, so that followers do not all move at once.
pub fn silence_limit(random: f64) -> u32 {
    SILENCE_MS + (f64::from(SILENCE_JITTER_MS) * random.clamp(0.0, 1.0)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::DEFAULT_MARKER_MS;

    #[test]
    fn names_are_per_order_and_prefixed() {
        assert_eq!(marker_key("PW 1/测"), "paywatch:paid:PW 1/测");
        assert_eq!(lead_lock("A"), "paywatch:lead:A");
        assert_eq!(claim_lock("A"), "paywatch:claim:A");
        assert_eq!(channel_name("A"), "paywatch:order:A");
        assert_ne!(lead_lock("A"), claim_lock("A"));
    }

    #[test]
    fn a_marker_counts_until_it_expires() {
        let m = Marker::new(1_000.0, DEFAULT_MARKER_MS, "t1");
        assert_eq!(m.encode(), "86401000 t1");
        assert_eq!(Marker::decode(&m.encode()), Some(m.clone()));
        assert!(already_fired(Some("86401000 t1"), 1_000.0));
        assert!(already_fired(Some("86401000 t1"), 86_400_999.0));
        assert!(!already_fired(Some("86401000 t1"), 86_401_000.0));
        assert!(!already_fired(None, 0.0));
        // A marker with no lifetime never counts.
        assert!(!Marker::new(5.0, 0, "x").is_fresh(5.0));
    }

    #[test]
    fn unreadable_markers_do_not_count_and_can_be_swept() {
        for junk in [
            "",
            "1",
            "soon t",
            "-5 t",
            "1.5 t",
            " t",
            "99999999999999999 t",
        ] {
            assert!(!already_fired(Some(junk), 0.0), "{junk:?}");
        }
        assert!(is_stale_marker("paywatch:paid:A", Some("10 t"), 10.0));
        assert!(is_stale_marker("paywatch:paid:A", Some("junk"), 0.0));
        assert!(!is_stale_marker("paywatch:paid:A", Some("11 t"), 10.0));
        assert!(!is_stale_marker("cart", Some("junk"), 0.0));
        assert!(!is_stale_marker("paywatch:lead:A", None, 0.0));
        assert!(is_stale_marker("paywatch:bid:t", Some("10 5 A"), 10.0));
        assert!(is_stale_marker("paywatch:bid:t", Some("10 A"), 0.0));
        assert!(!is_stale_marker("paywatch:bid:t", Some("11 5 A"), 10.0));
    }

    #[test]
    fn bids_round_trip_and_the_earliest_wins() {
        let bid = Bid {
            until: 86_401_000.0,
            at: 1_000.0,
            order_no: "PW 1 测",
        };
        assert_eq!(bid.encode(), "86401000 1000 PW 1 测");
        assert_eq!(Bid::decode(&bid.encode()), Some(bid));
        assert_eq!(bid_key("t1"), "paywatch:bid:t1");
        for junk in ["", "1 2", "x 2 A", "1 y A"] {
            assert_eq!(Bid::decode(junk), None, "{junk:?}");
        }
        let bids = [
            (5.0, "b".to_owned()),
            (5.0, "a".to_owned()),
            (7.0, "0".to_owned()),
        ];
        assert!(wins((5.0, "a"), &bids));
        assert!(!wins((5.0, "b"), &bids));
        assert!(!wins((7.0, "0"), &bids));
        // Alone (the others' bids not seen yet): a tab wins.
        assert!(wins((9.0, "z"), &[(9.0, "z".to_owned())]));
    }

    #[test]
    fn messages_round_trip_and_strangers_are_ignored() {
        let all = [
            Message::Beat,
            Message::Final {
                verdict: Verdict::Paid,
                via: Strategy::Poll,
            },
            Message::Final {
                verdict: Verdict::Closed,
                via: Strategy::WebSocket,
            },
            Message::Final {
                verdict: Verdict::Expired,
                via: Strategy::LongPoll,
            },
        ];
        for m in all {
            assert_eq!(Message::decode(&m.encode()), Some(m.clone()), "{m:?}");
        }
        assert_eq!(Message::Beat.encode(), "beat");
        assert_eq!(
            Message::Final {
                verdict: Verdict::Paid,
                via: Strategy::Sse
            }
            .encode(),
            "final paid sse"
        );
        for other in [
            "",
            "beat now",
            "final pending poll",
            "final paid pigeon",
            "final paid",
            "final paid poll extra",
            "hello",
        ] {
            assert_eq!(Message::decode(other), None, "{other:?}");
        }
    }

    #[test]
    fn silence_is_jittered_within_bounds() {
        assert_eq!(silence_limit(0.0), SILENCE_MS);
        assert_eq!(silence_limit(0.999), SILENCE_MS + 499);
        assert_eq!(silence_limit(7.0), SILENCE_MS + SILENCE_JITTER_MS);
        assert!(
            silence_limit(0.5) > BEAT_MS * 2,
            "two beats fit in a silence"
        );
    }

    #[test]
    fn sources_have_names() {
        assert_eq!(
            [Source::Server, Source::Tab, Source::Page].map(Source::name),
            ["server", "tab", "page"]
        );
    }
}
