//! paywatch tells a checkout page the moment an order is paid, then runs the
//! page's analytics hooks and status callback exactly once.
//!
//! Layout: the pure rules at the top of `src/`, tested natively with
//! `cargo test` — [`options`] (reading, merging, validating), [`status`]
//! (what a status body means), [`schedule`] (backoff, slowdown,
//! `Retry-After`, long-poll gaps, URLs), [`display`] (numbers and strings in
//! messages), [`signal`] (a wake-up futures wait for), [`crosstab`] (paid
//! markers, tab messages, timings); and everything that runs only in the
//! browser behind one boundary, `web/` (wasm32 only): the exported
//! functions, one watch, the transports (`web/transport/`, one module per
//! strategy), the page's lifecycle, the tabs' cooperation, the page's
//! callbacks and the module's allocator.

pub mod crosstab;
pub mod display;
pub mod options;
pub mod schedule;
pub mod signal;
pub mod status;

#[cfg(target_arch = "wasm32")]
mod web;

/// The wasm module's allocator: size classes with free lists ([`heap`]).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: web::heap::Heap = web::heap::Heap::new();

#[cfg(target_arch = "wasm32")]
pub use web::api::{active_watches, check_pay_status, configure, resume_watches, stop_pay_status};
#[cfg(target_arch = "wasm32")]
pub use web::heap;
