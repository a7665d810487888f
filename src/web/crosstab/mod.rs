//! One browser, one conversion: the tabs of one browser profile that watch
//! the same order cooperate (CONTRACT §4, addition 11).
//!
//! - **One watcher per order.** The tabs elect a leader with the Web Lock
//!   `paywatch:lead:<order>`; only the leader runs the transport. The others
//!   follow: they make no request and listen on the order's
//!   `BroadcastChannel`. When the leader's tab closes its lock goes at once;
//!   when it is frozen or hung its heartbeats stop, and after
//!   [`crate::crosstab::SILENCE_MS`] a follower steals the lock. Either way the new
//!   leader checks at once.
//! - **Tell the other tabs.** A tab whose own transport saw the order paid,
//!   closed or expired tells the channel; every tab watching it settles with
//!   that outcome (`outcome.source` `"tab"`), without a request.
//! - **Analytics once.** [`first_to_fire`] decides, with a durable marker in
//!   `localStorage` and the claim lock, which one tab fires the analytics.
//!   `onStatus`, `onPaid` and the promise still happen in every tab.
//!
//! Without Web Locks every tab runs its own transport (the channel and the
//! marker still apply); `crossTab: false` turns all of it off.
//!
//! The pure rules (names, marker, messages, timings) are
//! [`crate::crosstab`], tested natively; here is what runs in the browser:
//! the leader loop ([`leader`]), the claim of the analytics ([`claim`]),
//! Web Locks ([`lock`]) and the `BroadcastChannel` ([`channel`]).

mod channel;
mod claim;
mod leader;
mod lock;

pub use claim::first_to_fire;
pub use leader::run;
