//! Web Locks (`navigator.locks.request`) as an owned handle: a [`Lock`] is
//! held until it is dropped, and a request still waiting is withdrawn when
//! its future is dropped. Called as a plain function, so no unstable web-sys
//! API is needed.

use crate::web::js::{get, promise, set};
use js_sys::{Array, Function, Object, Promise};
use std::future::Future;
use std::pin::Pin;
use std::task::Context;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::AbortController;

/// How to ask for a lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// Wait in line until the holder lets go.
    Wait,
    /// Only if nobody holds it now (`ifAvailable`).
    IfFree,
    /// Take it from the holder (`steal`): for a holder that is frozen.
    Steal,
}

/// `navigator.locks`, where the browser has Web Locks (a secure context).
pub fn manager() -> Option<JsValue> {
    let locks = get(&get(&js_sys::global(), "navigator"), "locks");
    get(&locks, "request").is_function().then_some(locks)
}

/// A held lock. Dropping it releases it.
pub struct Lock {
    /// Resolves the promise the lock callback returned: the lock goes.
    release: Function,
    /// Settles when the lock is gone: released, or stolen by another tab.
    ended: JsFuture,
    _granted: Closure<dyn FnMut(JsValue) -> JsValue>,
}

impl Lock {
    /// Whether another tab has stolen the lock (the request rejected); if
    /// not, the task of `cx` is woken when it does. For a `poll_fn`.
    pub fn stolen(&mut self, cx: &mut Context<'_>) -> bool {
        Pin::new(&mut self.ended).poll(cx).is_ready()
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = self.release.call0(&JsValue::UNDEFINED);
    }
}

/// Withdraws a request still in line when dropped.
struct Withdraw(Option<AbortController>);

impl Drop for Withdraw {
    fn drop(&mut self) {
        if let Some(c) = &self.0 {
            c.abort();
        }
    }
}

/// Requests the exclusive lock `name`. `Ok(None)`: [`Ask::IfFree`] and
/// another tab holds it. `Err`: the request failed (the browser refused it).
pub async fn acquire(locks: &JsValue, name: &str, ask: Ask) -> Result<Option<Lock>, JsValue> {
    let (hold, release) = promise();
    // The lock callback resolves `granted` with the lock (null: not free)
    // and returns `hold`, which keeps the lock until `release` is called
    // (no lock: `undefined`, nothing to keep).
    let (granted, grant) = promise();
    let on_granted = Closure::<dyn FnMut(JsValue) -> JsValue>::new(move |lock: JsValue| {
        let _ = grant.call1(&JsValue::UNDEFINED, &lock);
        if lock.is_null() {
            JsValue::UNDEFINED
        } else {
            hold.clone().into()
        }
    });
    let options = Object::new();
    // `signal` may not be combined with `ifAvailable` or `steal`.
    let withdraw = match ask {
        Ask::Wait => {
            let c = AbortController::new()?;
            set(&options, "signal", &get(&c, "signal"));
            Withdraw(Some(c))
        }
        Ask::IfFree => {
            set(&options, "ifAvailable", &true.into());
            Withdraw(None)
        }
        Ask::Steal => {
            set(&options, "steal", &true.into());
            Withdraw(None)
        }
    };
    // A function ([`manager`] checked); were it not, calling it would throw.
    let request: Function = get(locks, "request").unchecked_into();
    let pending: Promise = request
        .call3(locks, &name.into(), options.as_ref(), on_granted.as_ref())?
        .unchecked_into();
    // The request rejects before the callback runs if it fails or is withdrawn.
    let lock = JsFuture::from(Promise::race(&Array::of2(&granted, &pending))).await?;
    if lock.is_null() {
        return Ok(None);
    }
    // Aborting a granted request does nothing: `withdraw` may go.
    drop(withdraw);
    Ok(Some(Lock {
        release,
        ended: JsFuture::from(pending),
        _granted: on_granted,
    }))
}
