//! How a watch learns the status: one module per strategy, all built on
//! [`Ctx`], which makes the HTTP checks and reads push messages.
//!
//! Every transport is a future that returns only with a final verdict.
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

use crate::display::concat;
use crate::options::{Config, Strategy};
use crate::schedule::{check_url, poll_gap, request_deadline_ms, retry_after_ms, Backoff};
use crate::signal::Signal;
use crate::status::{read_answer, read_push_message, BodyError, PushMessage, Verdict};
use crate::web::body::read_body;
use crate::web::hooks::{ErrorContext, ErrorKind, Hooks};
use gloo_timers::callback::Timeout;
use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{ready, Context, Poll};

/// A wake-up that comes within this long of one already answered is answered
/// by that one's check: a burst of lifecycle events makes one request.
pub const WAKE_QUIET_MS: f64 = 1000.0;
/// Retries of a failed catch-up check start this far apart, doubling (with
/// jitter) up to the cap.
const CATCH_UP_BASE_MS: u32 = 500;
const CATCH_UP_CAP_MS: u32 = 10_000;

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
    /// When the watch started (ms since the epoch): polling slows down
    /// `slowAfterMs` after it.
    pub started_at: f64,
    /// "Check now": raised by the page coming back (visible, focus,
    /// resumed) or by `resumeWatches()`; lowered by the next check.
    pub wake: Signal,
    /// The page was suspended or resumed ([`crate::web::lifecycle`]).
    pub life: Signal,
    /// The watch ended: its task drops everything and ends.
    pub stop: Signal,
    /// The bookkeeping of the checks: counts, timings, `Retry-After`.
    checks: Checks,
}

/// What [`Ctx`] keeps about its checks (and connection attempts).
struct Checks {
    attempts: Cell<u32>,
    in_flight: Cell<bool>,
    /// A wake-up came while a check was in flight; that check may have
    /// started before the payer came back, so another follows it.
    wake_after_check: Cell<bool>,
    last_check_at: Cell<f64>,
    /// When a wake-up last started a check.
    last_wake_at: Cell<f64>,
    /// No check or connect before this time (ms since the epoch): the
    /// server's `Retry-After`.
    hold_until: Cell<f64>,
    /// A 429/503 was reported and no check has succeeded since: further ones
    /// are not reported again.
    throttled: Cell<bool>,
}

/// What a push connection (SSE or WebSocket) tells the reconnect loop
/// ([`push`]).
#[derive(Debug)]
pub enum PushEvent {
    Open,
    /// A `message` event's data, or a WebSocket text frame.
    Message(String),
    /// The connection failed or closed; why.
    Lost(String),
}

/// An open (or opening) push connection: the stream of what it tells the
/// loop. Behind it is gloo-net's event source or socket, whose `Drop`
/// removes the listeners and closes it.
pub type Connection = Pin<Box<dyn futures::stream::Stream<Item = PushEvent>>>;

/// Opens one push connection: [`sse::connect`] or [`websocket::connect`].
pub type Connect = fn(&Ctx) -> Result<Connection, String>;

/// A check or a wait that a hand-written `poll_fn` keeps across its polls:
/// boxed, because it is an `async fn`'s or a closure's future, whose type
/// has no name to write in the `Option` that holds it.
pub type Held<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// What a push message said that matters to the reconnect loop.
pub enum Pushed {
    Status(Verdict),
    /// An application heartbeat, with the server's interval when given.
    Heartbeat(Option<u32>),
}

/// Marks a check as in flight for as long as it lives, however it ends
/// (answered, failed, or dropped mid-flight by a stop or a suspend), and
/// then passes on a wake-up that came meanwhile.
struct InFlight<'a>(&'a Ctx);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.checks.in_flight.set(false);
        if self.0.checks.wake_after_check.replace(false) {
            self.0.wake.raise();
        }
    }
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
            started_at: js_sys::Date::now(),
            wake: Signal::default(),
            life: Signal::default(),
            stop: Signal::default(),
            checks: Checks {
                attempts: Cell::new(0),
                in_flight: Cell::new(false),
                wake_after_check: Cell::new(false),
                last_check_at: Cell::new(f64::NEG_INFINITY),
                last_wake_at: Cell::new(f64::NEG_INFINITY),
                hold_until: Cell::new(0.0),
                throttled: Cell::new(false),
            },
        }
    }

    /// The gap before the next polling check: `intervalMs`, then
    /// `slowIntervalMs` once the watch is `slowAfterMs` old.
    pub fn poll_gap(&self) -> u32 {
        let c = &self.config;
        let elapsed = js_sys::Date::now() - self.started_at;
        poll_gap(c.interval_ms, c.slow_after_ms, c.slow_interval_ms, elapsed)
    }

    /// Whether a wake-up should start a check now, and if so, notes that
    /// it does: no check is in flight, and no wake-up started one in the
    /// last [`WAKE_QUIET_MS`]. A routine check that started just before the
    /// payer came back does not count (it may have missed the payment): one
    /// in flight is followed by the wake-up's check when it ends.
    pub fn answer_wake(&self) -> bool {
        let now = js_sys::Date::now();
        if now - self.checks.last_wake_at.get() < WAKE_QUIET_MS {
            return false;
        }
        if self.checks.in_flight.get() {
            self.checks.wake_after_check.set(true);
            return false;
        }
        self.checks.last_wake_at.set(now);
        true
    }

    /// How long ago the current (or last) check started, in ms.
    pub fn since_check_started(&self) -> f64 {
        js_sys::Date::now() - self.checks.last_check_at.get()
    }

    /// The wait for a server's `Retry-After`, if one is in force.
    pub fn hold_off(&self, via: Strategy) -> Option<Sleep> {
        let left = self.checks.hold_until.get() - js_sys::Date::now();
        (left >= 1.0).then(|| {
            let ms = left.min(u32::MAX as f64) as u32;
            let detail = num_in("the server asked to wait ", ms, " ms");
            self.event("hold", via, Some(&detail));
            sleep_ms(ms)
        })
    }

    /// Waits `ms`, or less if a wake-up comes that [`Ctx::answer_wake`]
    /// answers.
    pub fn pause(&self, ms: u32) -> impl Future<Output = ()> + '_ {
        let mut timer = Some(sleep_ms(ms));
        poll_fn(move |cx| {
            if fired(&mut timer, cx) || (self.wake.take(cx) && self.answer_wake()) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }

    /// HTTP checks made plus push connections opened, so far.
    pub fn attempts(&self) -> u32 {
        self.checks.attempts.get()
    }

    fn count_attempt(&self) {
        self.checks.attempts.set(self.checks.attempts.get() + 1);
    }

    pub fn event(&self, kind: &str, via: Strategy, detail: Option<&str>) {
        self.hooks.event(kind, via.name(), &self.errors, detail);
    }

    pub fn report(&self, kind: ErrorKind, via: Strategy, message: &str) {
        let err = self.errors.error(kind, message);
        crate::web::js::set(&err, "strategy", &via.name().into());
        self.hooks.report_error(err, &self.errors);
    }

    /// One HTTP status check (CONTRACT §2). `None` when it failed; the failure
    /// has been reported through `onError`.
    pub async fn check(&self, via: Strategy, wait_sec: Option<u32>) -> Option<Verdict> {
        if let Some(hold) = self.hold_off(via) {
            hold.await;
        }
        // This check answers every wake-up raised so far.
        self.wake.clear();
        self.checks.in_flight.set(true);
        let _in_flight = InFlight(self);
        self.checks.last_check_at.set(js_sys::Date::now());
        self.count_attempt();
        let c = &self.config;
        let url = &check_url(
            &c.endpoint,
            &c.action,
            &self.order_no,
            js_sys::Date::now(),
            wait_sec,
        );
        self.event("check", via, None);
        let deadline = request_deadline_ms(c.request_timeout_ms, wait_sec.unwrap_or(0));
        let answer = {
            // The fetch, raced against the deadline: dropped (aborted) as
            // soon as the deadline passes.
            let mut fetch = pin!(http::get_text(url));
            let mut timer = Some(sleep_ms(deadline));
            poll_fn(|cx| {
                if fired(&mut timer, cx) {
                    let why = num_in(
                        "status check took longer than ",
                        deadline,
                        " ms and was aborted",
                    );
                    return Poll::Ready(Err(why));
                }
                fetch.as_mut().poll(cx)
            })
            .await
        };
        let answer = match answer {
            Ok(a) => a,
            Err(message) => {
                self.report(ErrorKind::Check, via, &message);
                return None;
            }
        };
        match read_answer(answer.status, &answer.text, &self.order_no, read_body) {
            Ok(v) => {
                self.checks.throttled.set(false);
                self.event("answer", via, Some(v.name()));
                Some(v)
            }
            Err(BodyError::Http(code @ (429 | 503))) => {
                self.slow_down(via, code, answer.retry_after.as_deref());
                None
            }
            Err(e) => {
                let kind = if matches!(e, BodyError::Http(_)) {
                    ErrorKind::Check
                } else {
                    ErrorKind::Body
                };
                self.report(kind, via, &because("", &e));
                None
            }
        }
    }

    /// A 429 or 503: no check or reconnect before its `Retry-After` has
    /// passed. Reported once, not once per retry, until a check succeeds.
    fn slow_down(&self, via: Strategy, code: u16, retry_after: Option<&str>) {
        let now = js_sys::Date::now();
        let parse_date = |v: &str| Some(js_sys::Date::parse(v));
        let wait = retry_after.and_then(|v| retry_after_ms(v, now, parse_date));
        if let Some(ms) = wait {
            self.checks.hold_until.set(now + f64::from(ms));
        }
        let mut message = num_in("status check failed with HTTP ", code.into(), "");
        if let Some(ms) = wait {
            message += &num_in("; retrying after ", ms, " ms as the server asked");
        }
        if self.checks.throttled.replace(true) {
            self.event("hold", via, Some(&message));
        } else {
            self.report(ErrorKind::Check, via, &message);
        }
    }

    /// Checks until one check gets an answer (CONTRACT semantics 5, as
    /// sharpened in v2): after a push connection (re)opens, a failed check
    /// is retried with backoff, one at a time, so a server that pushes only
    /// changes cannot hide a payment made while the connection was down.
    pub fn catch_up(&self) -> impl Future<Output = Verdict> + '_ {
        let mut backoff = Backoff::new(CATCH_UP_BASE_MS, CATCH_UP_CAP_MS);
        // A check, or the wait before the next one.
        let mut check = Some(Box::pin(self.check(Strategy::Poll, None)));
        let mut wait = None;
        poll_fn(move |cx| loop {
            if let Some(c) = &mut check {
                if let Some(v) = ready!(c.as_mut().poll(cx)) {
                    return Poll::Ready(v);
                }
                check = None;
                let delay = backoff.next_delay(js_sys::Math::random());
                let detail = num_in("catch-up check again in ", delay, " ms");
                self.event("retry", Strategy::Poll, Some(&detail));
                wait = Some(sleep_ms(delay));
            }
            if !fired(&mut wait, cx) {
                return Poll::Pending;
            }
            check = Some(Box::pin(self.check(Strategy::Poll, None)));
        })
    }

    /// Reads one push message. A body for another order is ignored quietly
    /// (shared channels carry them); anything else unusable is reported.
    pub fn read_push(&self, via: Strategy, text: &str) -> Option<Pushed> {
        match read_push_message(text, &self.order_no, read_body) {
            Ok(PushMessage::Heartbeat(every)) => Some(Pushed::Heartbeat(every)),
            Ok(PushMessage::Status(v)) => {
                self.event("push", via, Some(v.name()));
                Some(Pushed::Status(v))
            }
            Err(BodyError::OtherOrder(other)) => {
                self.event(
                    "ignored",
                    via,
                    Some(&concat(&["a message for order ", &other])),
                );
                None
            }
            Err(e) => {
                self.report(ErrorKind::Body, via, &because("", &e));
                None
            }
        }
    }
}

/// Watches with the configured strategy until a final verdict.
///
/// `"auto"` climbs down the ladder WebSocket → SSE → long polling →
/// polling, skipping what the browser lacks. A push transport that never
/// opens, or that opened but then fails to reconnect several times in a
/// row, gives way to the next rung, and so does long polling whose checks
/// keep failing. Each rung starts with a check (or an open and its catch-up
/// check), so no step loses a payment.
pub async fn run(ctx: &Ctx) -> Final {
    let auto = ctx.config.strategy == Strategy::Auto;
    let mut rung = ctx.config.strategy;
    if auto {
        rung = if websocket::supported() {
            Strategy::WebSocket
        } else {
            step_down(Strategy::WebSocket)
        };
    }
    loop {
        let done = match rung {
            Strategy::Interval => Some(interval::run(ctx).await),
            Strategy::LongPoll => long_poll::run(ctx, auto).await,
            Strategy::WebSocket => push::run(ctx, rung, websocket::connect, auto).await,
            Strategy::Sse => push::run(ctx, rung, sse::connect, auto).await,
            _ => Some(poll::run(ctx).await),
        };
        if let Some(f) = done {
            return f;
        }
        let next = step_down(rung);
        ctx.event("fallback", rung, Some(next.name()));
        rung = next;
    }
}

/// The rung of `"auto"` below `rung`.
fn step_down(rung: Strategy) -> Strategy {
    match rung {
        Strategy::WebSocket if sse::supported() => Strategy::Sse,
        Strategy::WebSocket | Strategy::Sse => Strategy::LongPoll,
        _ => Strategy::Poll,
    }
}

/// A timer future: gloo-timers' `Timeout` raising a [`Signal`]. Dropping it
/// clears the timer.
pub struct Sleep {
    fired: Rc<Signal>,
    _timeout: Timeout,
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.fired.take(cx) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// A timer of `ms`.
pub fn sleep_ms(ms: u32) -> Sleep {
    let fired = Rc::new(Signal::default());
    let raise = fired.clone();
    Sleep {
        fired,
        _timeout: Timeout::new(ms, move || raise.raise()),
    }
}

/// Whether the timer in `slot` has fired, for a `poll_fn`. A fired timer
/// leaves the slot, so an empty slot is a timer not set (or spent).
pub fn fired(slot: &mut Option<Sleep>, cx: &mut Context<'_>) -> bool {
    let done = slot
        .as_mut()
        .is_some_and(|t| Pin::new(t).poll(cx).is_ready());
    if done {
        *slot = None;
    }
    done
}

/// Whether the browser has `name` (`name in globalThis`).
fn global_has(name: &str) -> bool {
    wasm_bindgen::JsValue::from(name).js_in(&js_sys::global())
}

/// `what` followed by the error's message. Every message the transports
/// build from an error goes through here: one formatting path for all the
/// error types.
#[allow(clippy::disallowed_macros)] // the one path from a `Display` to text
pub fn because(what: &str, e: &dyn std::fmt::Display) -> String {
    format!("{what}{e}")
}

/// `before`, the whole number `n` as JavaScript prints it, then `after`:
/// every message that tells a number is built here.
pub fn num_in(before: &str, n: u32, after: &str) -> String {
    concat(&[before, &crate::display::float(n.into()), after])
}
