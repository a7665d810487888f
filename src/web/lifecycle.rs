//! The page's lifecycle, as far as watching a payment cares: the payer left
//! for the wallet app and came back, the page went into or out of the
//! back/forward cache, the network went away or came back.
//!
//! [`Listeners`] is the set of `window`/`document` listeners; the watch
//! registry owns it while any watch runs and drops it (removing every
//! listener) when the last one ends. Where there is no `window` or
//! `document` (a worker, a mini-program) there is nothing to listen to, and
//! the host tells paywatch itself through `resumeWatches()`.

use crate::web::js::get;
use std::cell::Cell;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Event, EventTarget};

/// What a lifecycle event means for the running watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Check now: the page became visible, got focus, or was resumed from
    /// frozen. The reason is the event's name.
    Wake(&'static str),
    /// Stop every request and connection: the page is going into the
    /// back/forward cache (`pagehide`) or the network is gone (`offline`).
    Suspend(&'static str),
    /// Back from the cache (`pageshow` with `persisted`) or online again:
    /// start over with an immediate check.
    Resume(&'static str),
}

thread_local! {
    static OFFLINE: Cell<bool> = const { Cell::new(false) };
    static IN_CACHE: Cell<bool> = const { Cell::new(false) };
}

/// Whether watches should hold no request or connection now.
pub fn suspended() -> bool {
    OFFLINE.with(Cell::get) || IN_CACHE.with(Cell::get)
}

/// One listener; dropping it removes it.
struct Listener {
    target: EventTarget,
    kind: &'static str,
    callback: Closure<dyn FnMut(Event)>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self
            .target
            .remove_event_listener_with_callback(self.kind, self.callback.as_ref().unchecked_ref());
    }
}

/// The page's lifecycle listeners; dropping the set removes them all.
pub struct Listeners {
    _set: Vec<Listener>,
}

impl Listeners {
    /// Listens on `window` and `document`, if the global scope has them,
    /// and tells `on_change` what each event means.
    pub fn new(on_change: fn(Change)) -> Listeners {
        let global = js_sys::global();
        let has = |name| !get(&global, name).is_undefined();
        let mut set = Vec::new();
        if !has("window") || !has("document") {
            return Listeners { _set: set };
        }
        let navigator = get(&global, "navigator");
        OFFLINE.with(|o| o.set(get(&navigator, "onLine") == JsValue::FALSE));
        let window: EventTarget = global.unchecked_into();
        let document: EventTarget = get(&window, "document").unchecked_into();
        let mut listen =
            |target: &EventTarget, kind: &'static str, read: fn(&Event) -> Option<Change>| {
                let callback = Closure::<dyn FnMut(Event)>::new(move |e: Event| {
                    if let Some(change) = read(&e) {
                        on_change(change);
                    }
                });
                let _ = target
                    .add_event_listener_with_callback(kind, callback.as_ref().unchecked_ref());
                set.push(Listener {
                    target: target.clone(),
                    kind,
                    callback,
                });
            };
        listen(&document, "visibilitychange", |e| {
            let document = get(e, "target");
            (get(&document, "visibilityState") == "visible").then_some(Change::Wake("visible"))
        });
        listen(&document, "resume", |_| Some(Change::Wake("resume")));
        listen(&window, "focus", |_| Some(Change::Wake("focus")));
        listen(&window, "offline", |_| {
            OFFLINE.with(|o| o.set(true));
            Some(Change::Suspend("offline"))
        });
        listen(&window, "online", |_| {
            OFFLINE.with(|o| o.set(false));
            Some(Change::Resume("online"))
        });
        listen(&window, "pagehide", |_| {
            IN_CACHE.with(|c| c.set(true));
            Some(Change::Suspend("pagehide"))
        });
        listen(&window, "pageshow", |e| {
            // The first `pageshow` of a load is not a return.
            (get(e, "persisted") == JsValue::TRUE).then(|| {
                IN_CACHE.with(|c| c.set(false));
                Change::Resume("pageshow")
            })
        });
        Listeners { _set: set }
    }
}
