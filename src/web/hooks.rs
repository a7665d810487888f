//! The page's callbacks and analytics globals, and how errors reach them.
//!
//! Every call into page code goes through [`Hooks::call`], which catches a
//! throw, logs it and reports it through `onError`, so one failing hook never
//! stops the others or the outcome (CONTRACT semantics 7).

use crate::display::concat;
use crate::web::js::{get, set};
use crate::web::objects::{to_js, Value::*};
use js_sys::{Error, Function, Reflect};
use wasm_bindgen::{JsCast, JsError, JsValue};

/// What went wrong, for `error.kind` in `onError`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A status check failed: network, HTTP status, timeout.
    Check,
    /// An answer or push message that is not a usable status body.
    Body,
    /// A push connection could not open or was lost.
    Connection,
    /// A page callback or analytics hook threw.
    Hook,
}

impl ErrorKind {
    fn name(self) -> &'static str {
        match self {
            ErrorKind::Check => "check",
            ErrorKind::Body => "body",
            ErrorKind::Connection => "connection",
            ErrorKind::Hook => "hook",
        }
    }
}

/// The callbacks of one watch, each layer (page defaults, then the call)
/// overriding the one before.
#[derive(Clone, Default)]
pub struct Hooks {
    pub on_status: Option<Function>,
    pub on_paid: Option<Function>,
    pub on_error: Option<Function>,
    pub on_event: Option<Function>,
}

impl Hooks {
    pub fn merge(&self, later: Hooks) -> Hooks {
        let pick = |a: &Option<Function>, b: Option<Function>| b.or_else(|| a.clone());
        Hooks {
            on_status: pick(&self.on_status, later.on_status),
            on_paid: pick(&self.on_paid, later.on_paid),
            on_error: pick(&self.on_error, later.on_error),
            on_event: pick(&self.on_event, later.on_event),
        }
    }

    /// Each callback's option name and slot, in the order of
    /// [`crate::options::CALLBACK_KEYS`].
    pub fn slots(&mut self) -> [(&'static str, &mut Option<Function>); 4] {
        [
            ("onStatus", &mut self.on_status),
            ("onPaid", &mut self.on_paid),
            ("onError", &mut self.on_error),
            ("onEvent", &mut self.on_event),
        ]
    }

    /// Calls `f(arg)` with `this` = `this`; a throw is logged and reported.
    pub fn call(
        &self,
        what: &str,
        f: &Function,
        this: &JsValue,
        arg: &JsValue,
        ctx: &ErrorContext,
    ) {
        if let Err(thrown) = f.call1(this, arg) {
            web_sys::console::error_2(&concat(&["paywatch: ", what, " threw"]).into(), &thrown);
            let err = ctx.error(
                ErrorKind::Hook,
                &concat(&[what, " threw: ", &describe(&thrown)]),
            );
            let _ = Reflect::set(&err, &"cause".into(), &thrown);
            // A throwing onError is only logged: reporting it to itself would loop.
            if what != "onError" {
                self.report_error(err, ctx);
            }
        }
    }

    /// Passes an error to `onError`, or to the console when there is none.
    pub fn report_error(&self, err: Error, ctx: &ErrorContext) {
        match &self.on_error {
            Some(f) => self.call("onError", f, &JsValue::UNDEFINED, &err, ctx),
            None => web_sys::console::warn_1(&err),
        }
    }

    /// `onEvent({ kind, strategy, orderNo, at, detail })` for timelines and logs.
    pub fn event(&self, kind: &str, strategy: &str, ctx: &ErrorContext, detail: Option<&str>) {
        let Some(f) = &self.on_event else { return };
        let fields = [
            ("kind", Text(kind)),
            ("strategy", Text(strategy)),
            ("orderNo", Text(&ctx.order_no)),
            ("at", Number(js_sys::Date::now())),
            ("detail", Text(detail.unwrap_or_default())),
        ];
        // No `detail` key when there is none.
        let ev = to_js(&fields[..if detail.is_some() { 5 } else { 4 }]);
        self.call("onEvent", f, &JsValue::UNDEFINED, &ev, ctx);
    }
}

/// Fills in the fields every `onError` error carries.
pub struct ErrorContext {
    pub order_no: String,
}

impl ErrorContext {
    /// An `Error` named `PayWatchError` with `kind` and `orderNo` set.
    pub fn error(&self, kind: ErrorKind, message: &str) -> Error {
        let err = pay_watch_error(message);
        set(&err, "kind", &kind.name().into());
        set(&err, "orderNo", &self.order_no.as_str().into());
        err
    }
}

/// An `Error` named `PayWatchError`, its message `paywatch: <message>`.
/// Made by wasm-bindgen's `JsError`, as serde-wasm-bindgen makes its
/// errors, and named as a plain property: no import of their own.
pub fn pay_watch_error(message: &str) -> Error {
    let message = concat(&["paywatch: ", message]);
    let err: Error = JsValue::from(JsError::new(&message)).unchecked_into();
    set(&err, "name", &"PayWatchError".into());
    err
}

/// Calls the seed page's analytics globals, when the page has them:
/// `window.kbnClickAna(label)` and `window.PinganAna.fire(eventId)`.
pub fn fire_analytics(
    hooks: &Hooks,
    label: Option<&str>,
    event_id: Option<&JsValue>,
    ctx: &ErrorContext,
) {
    let global = js_sys::global();
    if let Some(label) = label {
        if let Some(f) = get(&global, "kbnClickAna").dyn_ref::<Function>() {
            hooks.call("kbnClickAna", f, &JsValue::UNDEFINED, &label.into(), ctx);
        }
    }
    if let Some(id) = event_id {
        let ana = get(&global, "PinganAna");
        if ana.is_object() {
            if let Some(f) = get(&ana, "fire").dyn_ref::<Function>() {
                hooks.call("PinganAna.fire", f, &ana, id, ctx);
            }
        }
    }
}

/// A thrown value as text: an Error's message, or its string form.
pub fn describe(v: &JsValue) -> String {
    if let Some(e) = v.dyn_ref::<Error>() {
        return String::from(e.message());
    }
    v.as_string()
        .or_else(|| js_sys::JSON::stringify(v).ok().and_then(|s| s.as_string()))
        .unwrap_or_else(|| "a value that is not an Error".into())
}
