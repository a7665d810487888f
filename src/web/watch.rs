//! One watch of one order, the page's registry of running watches, and the
//! single place where a watch ends: [`Watch::settle`].
//!
//! `settle` runs at most once per watch (a flag guards it), so whatever mix
//! of retries, reconnects and transports reports "paid", the hooks run once
//! and the promise resolves once (CONTRACT semantics 1). It removes the watch
//! from the registry and stops its task, whose future owns every timer,
//! fetch, listener and socket of the watch (semantics 3).
//!
//! The registry also owns the page-lifecycle listeners while any watch runs
//! ([`crate::web::lifecycle`]): the page coming back wakes every watch for an
//! immediate check, and a page entering the back/forward cache or going
//! offline drops every watch's transport (aborting its request, closing its
//! connection) until it returns, when the transport starts over.

use super::crosstab;
use crate::crosstab::Source;
use crate::options::{EventId, Strategy};
use crate::status::Verdict;
use crate::web::hooks::fire_analytics;
use crate::web::js::{promise, spawn};
use crate::web::lifecycle::{self, Change, Listeners};
use crate::web::objects::{to_js, Value::*};
use crate::web::transport::{self, Ctx};
use js_sys::{Function, Object, Promise};
use std::cell::{Cell, RefCell};
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use wasm_bindgen::{JsCast, JsValue};

/// How a watch ended: `outcome.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The server's final verdict: paid, closed or expired (never pending).
    Final(Verdict),
    Timeout,
    Cancelled,
}

impl Ending {
    const PAID: Ending = Ending::Final(Verdict::Paid);

    fn name(self) -> &'static str {
        match self {
            Ending::Final(v) => v.name(),
            Ending::Timeout => "timeout",
            Ending::Cancelled => "cancelled",
        }
    }
}

pub struct Watch {
    ctx: Ctx,
    ty: Option<i64>,
    started_at: f64,
    promise: Promise,
    resolve: Function,
    settled: Cell<bool>,
    /// How the final status was learned: `outcome.source`.
    source: Cell<Source>,
}

thread_local! {
    /// The running watches of this page, oldest first.
    static RUNNING: RefCell<Vec<Rc<Watch>>> = const { RefCell::new(Vec::new()) };
    /// Outcomes of the orders this page saw paid: asking again about one of
    /// them resolves with its outcome and fires nothing, so a re-render that
    /// calls `checkPayStatus` again cannot count a conversion twice.
    /// (A list: a page sees few orders paid, and a map costs the module more.)
    static PAID: RefCell<Vec<(String, JsValue)>> = const { RefCell::new(Vec::new()) };
    /// The page-lifecycle listeners, while any watch runs.
    static LISTENERS: Cell<Option<Listeners>> = const { Cell::new(None) };
}

/// Starts watching, or returns the promise of the running watch of the same
/// order (semantics 2), or the outcome of an order this page already saw
/// paid (semantics 1). An exclusive watch (the default) first cancels every
/// running watch.
pub fn start(ctx: Ctx, ty: Option<i64>) -> Promise {
    if let Some(running) = find(&ctx.order_no) {
        return running.promise.clone();
    }
    let outcome = PAID.with_borrow(|paid| {
        let found = paid.iter().find(|(no, _)| *no == ctx.order_no);
        found.map(|(_, outcome)| outcome.clone())
    });
    if let Some(outcome) = outcome {
        return Promise::resolve(&outcome);
    }
    if ctx.config.exclusive {
        for old in &all() {
            old.settle(Ending::Cancelled, None);
        }
    }
    let (promise, resolve) = promise();
    let watch = Rc::new(Watch {
        ctx,
        ty,
        started_at: js_sys::Date::now(),
        promise: promise.clone(),
        resolve,
        settled: Cell::new(false),
        source: Cell::new(Source::Page),
    });
    let first = RUNNING.with_borrow_mut(|running| {
        running.push(watch.clone());
        running.len() == 1
    });
    if first {
        LISTENERS.set(Some(Listeners::new(on_lifecycle)));
    }
    spawn(Box::pin(run(watch)));
    promise
}

/// Cancels the watch of `order_no`, or every watch. Returns how many.
pub fn stop(order_no: Option<&str>) -> usize {
    let mut stopped = 0;
    for w in &all() {
        if order_no.is_none_or(|no| w.ctx.order_no == no) {
            w.settle(Ending::Cancelled, None);
            stopped += 1;
        }
    }
    stopped
}

/// Wakes every running watch: check now, reconnect now.
pub fn wake_all(reason: &str) {
    tell_all("wake", reason);
}

/// What the page-lifecycle listeners report, passed on to every watch.
fn on_lifecycle(change: Change) {
    match change {
        Change::Wake(reason) => tell_all("wake", reason),
        Change::Suspend(reason) => tell_all("pause", reason),
        Change::Resume(reason) => tell_all("resume", reason),
    }
}

/// Tells every running watch (and its `onEvent`) that the page woke it up
/// (`"wake"`: check now), was suspended (`"pause"`) or resumed
/// (`"resume"`: start over with a check, also a push transport still
/// connecting).
fn tell_all(kind: &str, reason: &str) {
    for w in &all() {
        let ctx = &w.ctx;
        ctx.event(kind, ctx.config.strategy, Some(reason));
        if kind != "wake" {
            ctx.life.raise();
        }
        if kind != "pause" {
            ctx.wake.raise();
        }
    }
}

/// How many watches are running (for tests and the demo).
pub fn running() -> usize {
    all().len()
}

/// The running watches, oldest first: a copy, as settling one changes the
/// registry. (Every borrow of a registry ends before any page code runs.)
fn all() -> Vec<Rc<Watch>> {
    RUNNING.with_borrow(Vec::clone)
}

fn find(order_no: &str) -> Option<Rc<Watch>> {
    RUNNING.with_borrow(|running| running.iter().find(|w| w.ctx.order_no == order_no).cloned())
}

/// The task of a watch: the transport (or the tab leading this order, see
/// [`crosstab`]), raced against `timeoutMs`, then [`Watch::settle`]; it
/// just ends once the watch is stopped. While the page is suspended
/// (back/forward cache, offline) the transport is dropped — and with it
/// every request, timer, connection, channel and lock, so the page may enter
/// the cache and another tab may lead — and started afresh on resume.
/// Everything is dropped before the watch settles.
async fn run(watch: Rc<Watch>) {
    let ctx = &watch.ctx;
    let ended = {
        let mut deadline = ctx.config.timeout_ms.map(transport::sleep_ms);
        let mut running = pin!(None);
        poll_fn(|cx| {
            if ctx.stop.take(cx) {
                return Poll::Ready(None);
            }
            if transport::fired(&mut deadline, cx) {
                return Poll::Ready(Some((Ending::Timeout, None, Source::Page)));
            }
            // Whatever the page did, it is judged by where it is now.
            ctx.life.take(cx);
            if lifecycle::suspended() {
                running.set(None);
                return Poll::Pending;
            }
            if running.is_none() {
                running.set(Some(crosstab::run(ctx)));
            }
            let Some(Poll::Ready((f, source))) = running.as_mut().as_pin_mut().map(|t| t.poll(cx))
            else {
                return Poll::Pending;
            };
            let ending = Ending::Final(f.verdict);
            Poll::Ready(Some((ending, Some(f.via), source)))
        })
        .await
    };
    // `None`: settle() already ran (stop or replacement).
    if let Some((ending, via, source)) = ended {
        watch.source.set(source);
        watch.settle(ending, via);
    }
}

impl Watch {
    /// Ends the watch once: unregisters it, cancels its task, runs the paid
    /// hooks if it was paid, and resolves its promise with the outcome. The
    /// analytics of a paid order wait for [`crosstab::first_to_fire`]: only
    /// the first tab of the profile fires them; every tab runs `onStatus`
    /// and `onPaid`.
    fn settle(self: &Rc<Self>, ending: Ending, via: Option<Strategy>) {
        if self.settled.replace(true) {
            return;
        }
        let idle = RUNNING.with_borrow_mut(|running| {
            running.retain(|w| !Rc::ptr_eq(w, self));
            running.is_empty()
        });
        if idle {
            // Semantics 3: no listener of a finished watch is left.
            drop(LISTENERS.take());
        }
        self.ctx.stop.raise();
        let ctx = &self.ctx;
        let entry = ctx.config.type_entry(self.ty);
        let pay_status = match ending {
            Ending::PAID => entry.pay_status.clone(),
            _ => JsValue::NULL,
        };
        let strategy = via.unwrap_or(ctx.config.strategy);
        let outcome = to_js(&[
            ("status", Text(ending.name())),
            ("orderNo", Text(&ctx.order_no)),
            ("type", self.ty.map_or(Null, |t| Number(t as f64))),
            ("payStatus", Page(&pay_status)),
            ("strategy", Text(strategy.name())),
            ("source", Text(self.source.get().name())),
            ("attempts", Number(ctx.attempts().into())),
            (
                "elapsedMs",
                Number((js_sys::Date::now() - self.started_at).round()),
            ),
        ]);
        if ending == Ending::PAID {
            PAID.with_borrow_mut(|paid| paid.push((ctx.order_no.clone(), outcome.clone())));
        }
        let watch = self.clone();
        let outcome: Object = outcome.unchecked_into();
        let finish = move |fire: bool| watch.finish(ending, strategy, &outcome, fire);
        if ending == Ending::PAID && ctx.config.analytics && ctx.config.cross_tab {
            let (no, marker_ms) = (ctx.order_no.clone(), ctx.config.paid_marker_ms);
            // A task that runs `finish` once the claim answers, and ends.
            let mut claim = Box::pin(crosstab::first_to_fire(no, marker_ms));
            spawn(Box::pin(poll_fn(move |cx| {
                claim.as_mut().poll(cx).map(&finish)
            })));
        } else {
            finish(ending == Ending::PAID && ctx.config.analytics);
        }
    }

    /// The hooks and the promise of a settled watch; `fire`: the analytics too.
    fn finish(&self, ending: Ending, strategy: Strategy, outcome: &Object, fire: bool) {
        let ctx = &self.ctx;
        if ending == Ending::PAID {
            let entry = ctx.config.type_entry(self.ty);
            let pay_status = entry.pay_status.clone();
            let hooks = &ctx.hooks;
            if fire {
                let event_id = entry.event_id.as_ref().map(|id| match id {
                    EventId::Number(n) => JsValue::from_f64(*n),
                    EventId::Text(s) => JsValue::from_str(s),
                });
                fire_analytics(
                    hooks,
                    entry.label.as_deref(),
                    event_id.as_ref(),
                    &ctx.errors,
                );
            }
            if let Some(f) = &hooks.on_status {
                hooks.call("onStatus", f, &JsValue::UNDEFINED, &pay_status, &ctx.errors);
            }
            if let Some(f) = &hooks.on_paid {
                hooks.call("onPaid", f, &JsValue::UNDEFINED, outcome, &ctx.errors);
            }
        }
        ctx.event("end", strategy, Some(ending.name()));
        let _ = self.resolve.call1(&JsValue::UNDEFINED, outcome);
    }
}
