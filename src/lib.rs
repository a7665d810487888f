//! paywatch tells a checkout page the moment an order is paid, then runs the
//! page's analytics hooks and status callback exactly once.
//!
//! Layout:
//! - pure policy, tested natively with `cargo test`: [`options`] (reading,
//!   merging, validating), [`status`] (what a status body means), [`schedule`]
//!   (backoff, slowdown, `Retry-After`, long-poll gaps, URLs), [`display`]
//!   (numbers and strings in messages), [`signal`] (a wake-up futures wait for),
//!   [`crosstab::policy`] (paid markers, tab messages, timings);
//! - the browser side (wasm32 only): `api` (the exported JS functions),
//!   `body` (status bodies: `JSON.parse`, serde-wasm-bindgen), `watch`
//!   (one watch, exactly-once settling, the registry), `lifecycle` (the
//!   page's visibility, back/forward cache and network events, owned by the
//!   registry), `crosstab` (one leader per order across tabs, outcomes told
//!   to the other tabs, analytics once per browser profile), `hooks` (page
//!   callbacks and analytics), and `transport/` — one module per strategy.

/// The wasm module's allocator: size classes with free lists ([`heap`]).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: heap::Heap = heap::Heap::new();

#[cfg(target_arch = "wasm32")]
pub mod heap;

pub mod crosstab;
pub mod display;
pub mod options;
pub mod schedule;
pub mod signal;
pub mod status;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod body;
#[cfg(target_arch = "wasm32")]
mod hooks;
#[cfg(target_arch = "wasm32")]
mod js;
#[cfg(target_arch = "wasm32")]
mod lifecycle;
#[cfg(target_arch = "wasm32")]
mod objects;
#[cfg(target_arch = "wasm32")]
mod transport;
#[cfg(target_arch = "wasm32")]
mod watch;

#[cfg(target_arch = "wasm32")]
pub use api::{active_watches, check_pay_status, configure, resume_watches, stop_pay_status};
