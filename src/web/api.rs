//! The JavaScript API (CONTRACT §1): `configure`, `checkPayStatus`,
//! `stopPayStatus`. This is the only module that turns the caller's JS values
//! into Rust ones (options with serde-wasm-bindgen, into the typed
//! [`PartialOptions`]) and Rust errors into JS `Error`s.

use crate::display::{self, concat};
use crate::options::{check_order, OptionsError, PartialOptions};
use crate::schedule::to_ws_scheme;
use crate::web::hooks::{describe, pay_watch_error, Hooks};
use crate::web::js::get;
use crate::web::transport::Ctx;
use crate::web::watch;
use js_sys::{Array, Function, Promise};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;

thread_local! {
    /// The page-wide defaults set by `configure`, once it has been called.
    static PAGE: RefCell<Option<(PartialOptions, Hooks)>> = const { RefCell::new(None) };
}

/// Sets page-wide default options, merged over earlier `configure` calls.
/// Throws an `Error` naming the problem when an option is invalid; then
/// nothing changes.
///
/// ```js
/// configure({ strategy: "sse", onError: (e) => console.warn(e) });
/// ```
#[wasm_bindgen]
pub fn configure(options: JsValue) -> Result<(), JsValue> {
    let (layer, hooks) = read_options(&options).map_err(to_error)?;
    let page = over_page(layer, hooks);
    PAGE.set(Some(page));
    Ok(())
}

/// `layer` and `hooks` over the page-wide defaults, if `configure` set any.
fn over_page(layer: PartialOptions, hooks: Hooks) -> (PartialOptions, Hooks) {
    PAGE.with_borrow(|page| match page {
        Some((options, page_hooks)) => (options.merge(layer), page_hooks.merge(hooks)),
        None => (layer, hooks),
    })
}

/// Watches `order_no` until it is paid, closed or expired, the watch times
/// out, or it is stopped; resolves with the outcome. Never rejects once
/// watching has begun; rejects at once, before any request, on bad input.
///
/// ```js
/// const outcome = await checkPayStatus("PW123", 1, { onStatus: setPayStatus });
/// if (outcome.status === "paid") showThanks();
/// ```
#[wasm_bindgen(js_name = checkPayStatus)]
pub fn check_pay_status(order_no: JsValue, r#type: JsValue, options: JsValue) -> Promise {
    match prepare(&order_no, &r#type, &options) {
        Ok((ctx, ty)) => watch::start(ctx, ty),
        Err(e) => Promise::reject(&to_error(e)),
    }
}

/// Stops the watch of one order, or every watch when no order is given. A
/// stopped watch's promise resolves with status `cancelled`; no request,
/// timer, listener or socket of it is left.
#[wasm_bindgen(js_name = stopPayStatus)]
pub fn stop_pay_status(order_no: JsValue) -> Result<(), JsValue> {
    if order_no.is_undefined() || order_no.is_null() {
        watch::stop(None);
        return Ok(());
    }
    match order_no.as_string() {
        Some(no) => {
            watch::stop(Some(&no));
            Ok(())
        }
        None => Err(to_error(OptionsError(
            "stopPayStatus takes an order number string or nothing".into(),
        ))),
    }
}

/// Makes every running watch check the status now (unless a check is in
/// flight or just started) and reopen a dead push connection without
/// waiting out its backoff. Pages call it where paywatch cannot see the
/// payer come back by itself, e.g. a mini-program's `onShow`; in a browser
/// the page's own `visibilitychange`, `focus`, `pageshow` and `online`
/// events do this already.
#[wasm_bindgen(js_name = resumeWatches)]
pub fn resume_watches() {
    watch::wake_all("resumeWatches");
}

/// How many watches are running on this page.
#[wasm_bindgen(js_name = activeWatches)]
pub fn active_watches() -> usize {
    watch::running()
}

fn prepare(
    order_no: &JsValue,
    ty: &JsValue,
    options: &JsValue,
) -> Result<(Ctx, Option<i64>), OptionsError> {
    let no = order_no.as_string();
    let ty_number =
        if ty.is_undefined() || ty.is_null() {
            None
        } else {
            Some(ty.as_f64().ok_or_else(|| {
                OptionsError(concat(&["type must be a number, got ", &describe(ty)]))
            })?)
        };
    let ty = check_order(no.as_deref(), ty_number)?;
    let (layer, hooks) = read_options(options)?;
    let (layer, hooks) = over_page(layer, hooks);
    let config = layer.resolve();
    let ws_url = resolve_ws_url(config.ws_url.as_deref())?;
    Ok((Ctx::new(no.unwrap_or_default(), config, ws_url, hooks), ty))
}

/// Reads a JS options object: its callbacks into [`Hooks`], then its data
/// options (and the check of every name) through serde-wasm-bindgen into
/// [`PartialOptions`].
fn read_options(options: &JsValue) -> Result<(PartialOptions, Hooks), OptionsError> {
    let mut hooks = Hooks::default();
    if options.is_undefined() || options.is_null() {
        return Ok((PartialOptions::default(), hooks));
    }
    if !options.is_object() || Array::is_array(options) || options.is_function() {
        return Err(OptionsError(concat(&[
            "options must be an object, got ",
            &describe(options),
        ])));
    }
    for (key, slot) in hooks.slots() {
        *slot = match get(options, key).dyn_into::<Function>() {
            Ok(f) => Some(f),
            Err(v) if v.is_undefined() || v.is_null() => None,
            Err(v) => {
                return Err(OptionsError(concat(&[
                    key,
                    " must be a function, got ",
                    &describe(&v),
                ])))
            }
        };
    }
    let layer = crate::web::body::from_object(options.clone()).map_err(|e| {
        // The readers of `options::read` word their errors themselves.
        OptionsError(String::from(
            JsValue::from(e).unchecked_into::<js_sys::Error>().message(),
        ))
    })?;
    Ok((layer, hooks))
}

/// `wsUrl` as an absolute `ws:`/`wss:` URL: relative to the page, and
/// `ws(s)://<page host>/ws` when unset.
fn resolve_ws_url(ws_url: Option<&str>) -> Result<String, OptionsError> {
    // `location.href` of the global scope (a mini-program has none).
    let base = get(&get(&js_sys::global(), "location"), "href")
        .as_string()
        .unwrap_or_default();
    let given = ws_url.unwrap_or("/ws");
    if base.is_empty() {
        return Ok(to_ws_scheme(given));
    }
    let url = web_sys::Url::new_with_base(given, &base).map_err(|_| {
        OptionsError(concat(&[
            "wsUrl ",
            &display::quoted(given),
            " is not a valid URL",
        ]))
    })?;
    // `href` as a plain property: no import for the getter.
    Ok(to_ws_scheme(
        &get(&url, "href").as_string().unwrap_or_default(),
    ))
}

/// `e` as the `PayWatchError` it throws, worded as its `Display` words it
/// (not through `to_string`, which would link a formatting path of its own).
fn to_error(e: OptionsError) -> JsValue {
    pay_watch_error(&e.0).into()
}
