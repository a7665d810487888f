//! How a watch learns the status: one module per strategy, all built on
//! [`Ctx`], which makes the HTTP checks and reads push messages.
//!
//! Every transport is an `async fn` that returns only with a final verdict.
//! Everything it opens (timers, fetches, event sources, sockets) is owned by
//! its future, so dropping the future — the watch settling, being stopped,
//! or being replaced — cancels all of it.

mod http;
mod interval;
mod long_poll;
mod poll;
mod push;
mod sse;
mod websocket;

use crate::convert::parse_json;
use crate::hooks::{ErrorContext, ErrorKind, Hooks};
use crate::options::{Config, Strategy};
use crate::schedule::{check_url, request_deadline_ms};
use crate::status::{read_answer, BodyError, Verdict};
use std::cell::Cell;
use std::time::Duration;

/// A final verdict and the transport that saw it.
#[derive(Debug, Clone, Copy)]
pub struct Final {
    pub verdict: Verdict,
    pub via: Strategy,
}

/// What the transports of one watch share.
pub struct Ctx {
    pub order_no: String,
    pub config: Config,
    /// `wsUrl`, resolved against the page (`ws(s)://<host>/ws` by default).
    pub ws_url: String,
    pub hooks: Hooks,
    pub errors: ErrorContext,
    attempts: Cell<u32>,
}

impl Ctx {
    pub fn new(order_no: String, config: Config, ws_url: String, hooks: Hooks) -> Ctx {
        let errors = ErrorContext {
            order_no: order_no.clone(),
        };
        Ctx {
            order_no,
            config,
            ws_url,
            hooks,
            errors,
            attempts: Cell::new(0),
        }
    }

    /// HTTP checks made plus push connections opened, so far.
    pub fn attempts(&self) -> u32 {
        self.attempts.get()
    }

    fn count_attempt(&self) {
        self.attempts.set(self.attempts.get() + 1);
    }

    pub fn event(&self, kind: &str, via: Strategy, detail: Option<&str>) {
        self.hooks.event(kind, via.name(), &self.errors, detail);
    }

    pub fn report(&self, kind: ErrorKind, via: Strategy, message: &str) {
        let err = self.errors.error(kind, message);
        crate::hooks::set(&err, "strategy", &via.name().into());
        self.hooks.report_error(err, &self.errors);
    }

    /// One HTTP status check (CONTRACT §2). `None` when it failed; the failure
    /// has been reported through `onError`.
    pub async fn check(&self, via: Strategy, wait_sec: Option<u32>) -> Option<Verdict> {
        self.count_attempt();
        let c = &self.config;
        let url = check_url(
            &c.endpoint,
            &c.action,
            &self.order_no,
            js_sys::Date::now(),
            wait_sec,
        );
        self.event("check", via, None);
        let deadline = request_deadline_ms(c.request_timeout_ms, wait_sec.unwrap_or(0));
        let answer = match http::get_text(&url, deadline).await {
            Ok(a) => a,
            Err(message) => {
                self.report(ErrorKind::Check, via, &message);
                return None;
            }
        };
        match read_answer(answer.0, &answer.1, &self.order_no, parse_json) {
            Ok(v) => {
                self.event("answer", via, Some(v.name()));
                Some(v)
            }
            Err(e) => {
                let kind = if matches!(e, BodyError::Http(_)) {
                    ErrorKind::Check
                } else {
                    ErrorKind::Body
                };
                self.report(kind, via, &e.to_string());
                None
            }
        }
    }

    /// Reads one push message. A body for another order is ignored quietly
    /// (shared channels carry them); anything else unusable is reported.
    pub fn read_push(&self, via: Strategy, text: &str) -> Option<Verdict> {
        match read_answer(200, text, &self.order_no, parse_json) {
            Ok(v) => {
                self.event("push", via, Some(v.name()));
                Some(v)
            }
            Err(BodyError::OtherOrder(other)) => {
                self.event(
                    "ignored",
                    via,
                    Some(&format!("a message for order {other}")),
                );
                None
            }
            Err(e) => {
                self.report(ErrorKind::Body, via, &e.to_string());
                None
            }
        }
    }
}

/// Watches with the configured strategy until a final verdict.
pub async fn run(ctx: &Ctx) -> Final {
    match ctx.config.strategy {
        Strategy::Interval => interval::run(ctx).await,
        Strategy::Poll => poll::run(ctx).await,
        Strategy::LongPoll => long_poll::run(ctx).await,
        Strategy::Sse => push::run(ctx, Strategy::Sse, sse::connect, false)
            .await
            .expect("no fallback"),
        Strategy::WebSocket => push::run(ctx, Strategy::WebSocket, websocket::connect, false)
            .await
            .expect("no fallback"),
        Strategy::Auto => auto(ctx).await,
    }
}

/// WebSocket; if it never opens, SSE; if that never opens, long polling.
/// Once a push transport has opened, it stays, reconnecting as needed.
async fn auto(ctx: &Ctx) -> Final {
    if websocket::supported() {
        if let Some(f) = push::run(ctx, Strategy::WebSocket, websocket::connect, true).await {
            return f;
        }
        ctx.event("fallback", Strategy::WebSocket, Some("sse"));
    }
    if sse::supported() {
        if let Some(f) = push::run(ctx, Strategy::Sse, sse::connect, true).await {
            return f;
        }
        ctx.event("fallback", Strategy::Sse, Some("long-poll"));
    }
    long_poll::run(ctx).await
}

/// A timer future; dropping it clears the timer.
pub fn sleep_ms(ms: u32) -> gloo_timers::future::TimeoutFuture {
    gloo_timers::future::sleep(Duration::from_millis(u64::from(ms)))
}
