//! Whether this tab fires the analytics of a paid order: the first tab of
//! the browser profile to claim it does, every other tab and every reload
//! within `paidMarkerMs` does not.
//!
//! With Web Locks, the claim is made under the order's claim lock, asked for
//! with `ifAvailable`: of two tabs claiming in the same millisecond, one gets
//! the lock and the other is told at once that it is taken, so it does not
//! fire. The winner reads the marker, writes it if absent (before any hook
//! runs), and keeps the lock [`CLAIM_HOLD_MS`] longer, by which time every
//! tab's copy of `localStorage` holds the marker.
//!
//! Without Web Locks (an insecure context, an old browser), each tab writes
//! a bid under a key of its own (`paywatch:bid:<token>`: when it bid, for
//! which order), waits [`VERIFY_MS`], reads every bid for the order and
//! fires only if its own is the earliest. Tabs never write the same key, so
//! no write is lost to another; this holds as long as `localStorage` carries
//! a bid to the other tabs within that wait (usually a millisecond or two).
//! On a machine so loaded that it takes longer, both tabs can fire.
//!
//! Where `localStorage` is unavailable or throws, the marker is skipped:
//! tabs claiming at the same time still fire once (the lock), but a reload
//! fires again.

use super::lock::{self, Ask};
use crate::crosstab::{
    already_fired, bid_key, claim_lock, is_stale_marker, marker_key, wins, Bid, Marker, BID_PREFIX,
    CLAIM_HOLD_MS, VERIFY_MS,
};
use crate::web::js::{get, spawn};
use crate::web::transport::sleep_ms;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use wasm_bindgen::JsCast;
use web_sys::Storage;

/// Whether this tab should fire the analytics of `order_no`, which it has
/// just seen paid. `marker_ms` is how long the marker lasts (0: no marker).
pub async fn first_to_fire(order_no: String, marker_ms: u32) -> bool {
    let order_no = order_no.as_str();
    let storage = if marker_ms > 0 { storage() } else { None };
    if let Some(locks) = lock::manager() {
        match lock::acquire(&locks, &claim_lock(order_no), Ask::IfFree).await {
            Ok(Some(held)) => {
                let first = mark(storage.as_ref(), order_no, marker_ms);
                // A task that owns the lock and ends when the timer fires:
                // the executor drops a finished task's future, and the lock
                // with it.
                let mut hold = sleep_ms(CLAIM_HOLD_MS);
                spawn(Box::pin(poll_fn(move |cx| {
                    let _owned = &held;
                    Pin::new(&mut hold).poll(cx)
                })));
                return first;
            }
            Ok(None) => return false,
            // The browser refused the lock: as without Web Locks.
            Err(_) => {}
        }
    }
    // Without Web Locks (or with the lock refused) the earliest bid fires;
    // see the module docs.
    let Some(storage) = &storage else { return true };
    let key = marker_key(order_no);
    let at = js_sys::Date::now();
    if fired(storage, &key, at) {
        return false;
    }
    sweep(storage, at, order_no);
    let mine = token();
    let bid = Bid {
        until: at + f64::from(marker_ms),
        at,
        order_no,
    };
    let my_key = bid_key(&mine);
    if storage.set_item(&my_key, &bid.encode()).is_err() {
        return true;
    }
    sleep_ms(VERIFY_MS).await;
    let now = js_sys::Date::now();
    if fired(storage, &key, now) {
        return false;
    }
    let bids = sweep(storage, now, order_no);
    let first = wins((at.floor(), &my_key), &bids);
    if first {
        let _ = storage.set_item(&key, &Marker::new(now, marker_ms, &mine).encode());
    }
    first
}

/// `localStorage`, if the page may use it: where it may not, reading it
/// throws, and [`get`] answers `undefined`.
fn storage() -> Option<Storage> {
    let storage = get(&js_sys::global(), "localStorage");
    storage.is_object().then(|| storage.unchecked_into())
}

fn read(storage: &Storage, key: &str) -> Option<String> {
    storage.get_item(key).ok().flatten()
}

/// Under the claim lock: `false` if the marker says the analytics fired,
/// else writes the marker and answers `true`. No storage: `true`.
fn mark(storage: Option<&Storage>, order_no: &str, marker_ms: u32) -> bool {
    let Some(storage) = storage else { return true };
    let key = marker_key(order_no);
    let now = js_sys::Date::now();
    if fired(storage, &key, now) {
        return false;
    }
    sweep(storage, now, order_no);
    let _ = storage.set_item(&key, &Marker::new(now, marker_ms, &token()).encode());
    true
}

/// Whether the marker under `key` says the analytics already fired.
fn fired(storage: &Storage, key: &str, now: f64) -> bool {
    already_fired(read(storage, key).as_deref(), now)
}

/// Removes expired paid markers and bids, so they do not pile up, and
/// returns the live bids for `order_no`: when each was made, and its key
/// (the bid keys differ only in their tokens, so they order as those do).
fn sweep(storage: &Storage, now: f64, order_no: &str) -> Vec<(f64, String)> {
    let mut stale = Vec::new();
    let mut bids = Vec::new();
    for i in 0..storage.length().unwrap_or(0) {
        let Ok(Some(k)) = storage.key(i) else {
            continue;
        };
        let value = read(storage, &k);
        if is_stale_marker(&k, value.as_deref(), now) {
            stale.push(k);
        } else if k.starts_with(BID_PREFIX) {
            // A bid that is not stale: readable, and not expired.
            if let Some(b) = value.as_deref().and_then(Bid::decode) {
                if b.order_no == order_no {
                    bids.push((b.at, k));
                }
            }
        }
    }
    for k in &stale {
        let _ = storage.remove_item(k);
    }
    bids
}

/// A random token naming this tab's write.
fn token() -> String {
    let n = (js_sys::Math::random() * 9_007_199_254_740_991.0).floor();
    crate::display::in_radix(n, 16)
}
