//! Everything that runs only in the browser (wasm32): the exported JS
//! functions, one watch and its registry, the transports, the page's
//! lifecycle, the cooperation of tabs, the page's callbacks, and the
//! module's allocator. The pure rules they follow live beside this folder
//! ([`crate::options`], [`crate::status`], [`crate::schedule`],
//! [`crate::crosstab`], …) and are tested natively with `cargo test`.
//!
//! The data path of one watch: [`api`] reads the options and calls
//! [`watch::start`]; the watch runs [`crosstab::run`] (lead or follow),
//! whose leader runs [`transport::run`] (the strategy's loop); a final
//! verdict settles the watch once: [`hooks`] call the page, [`objects`]
//! write the outcome.

pub mod api;
mod body;
mod crosstab;
pub mod heap;
mod hooks;
mod js;
mod lifecycle;
mod objects;
mod transport;
mod watch;
