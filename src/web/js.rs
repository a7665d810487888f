//! The few JS helpers every browser-side module uses: a promise with its
//! resolve function, spawning a task, and reading or writing a property.
//! A leaf: it imports nothing of the crate, so anything may import it.

use js_sys::{Function, Promise, Reflect};
use std::future::Future;
use std::pin::Pin;
use wasm_bindgen::{JsCast, JsValue};

/// A new promise and the function that resolves it. The executor runs at
/// once, inside `new Promise`, so `resolve` never stays the placeholder
/// (and no `Option` needs unwrapping, with its panic path).
pub fn promise() -> (Promise, Function) {
    let mut resolve = JsValue::UNDEFINED.unchecked_into();
    let promise = Promise::new(&mut |res, _| resolve = res);
    (promise, resolve)
}

/// Runs `task` on its own, to its end. Every task of the crate starts
/// here: the executor's spawning code is linked once, not once per task.
#[inline(never)]
pub fn spawn(task: Pin<Box<dyn Future<Output = ()>>>) {
    wasm_bindgen_futures::spawn_local(task);
}

/// `target[key] = value`; a throwing setter is ignored.
pub fn set(target: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(target, &key.into(), value);
}

/// `target[key]`, or `undefined` if reading it throws.
pub fn get(target: &JsValue, key: &str) -> JsValue {
    Reflect::get(target, &key.into()).unwrap_or(JsValue::UNDEFINED)
}
