// The small part of DOM events the adapters share: `addEventListener`,
// `removeEventListener`, `dispatchEvent`, and the `on<type>` handler
// properties, as WebSocket, EventSource and AbortSignal have them.
"use strict";

class Event {
  constructor(type, fields) {
    this.type = type;
    this.target = null;
    this.currentTarget = null;
    this.timeStamp = Date.now();
    if (fields) Object.assign(this, fields);
  }
}

/**
 * `new CloseEvent("close", { code, reason, wasClean })`. Besides the socket
 * adapter, gloo-net makes one when it drops a socket: it closes the socket and
 * dispatches a "close" of its own at once, so that its once-only listener
 * runs (and goes) while the watch still owns it.
 */
class CloseEvent extends Event {
  constructor(type, init) {
    super(type, { code: 0, reason: "", wasClean: false, ...init });
  }
}

class EventTarget {
  constructor() {
    Object.defineProperty(this, "_listeners", { value: new Map() });
  }

  addEventListener(type, listener, options) {
    if (typeof listener !== "function" && !(listener && typeof listener.handleEvent === "function")) return;
    const list = this._listeners.get(type) || [];
    if (list.some((l) => l.listener === listener)) return;
    list.push({ listener, once: Boolean(options && options.once) });
    this._listeners.set(type, list);
  }

  removeEventListener(type, listener) {
    const list = this._listeners.get(type);
    if (!list) return;
    const i = list.findIndex((l) => l.listener === listener);
    if (i >= 0) list.splice(i, 1);
  }

  /** Calls `on<type>`, then the listeners; a throwing listener is logged, like a browser does. */
  dispatchEvent(event) {
    event.target = event.currentTarget = this;
    const handler = this["on" + event.type];
    const calls = typeof handler === "function" ? [handler] : [];
    for (const l of (this._listeners.get(event.type) || []).slice()) {
      if (l.once) this.removeEventListener(event.type, l.listener);
      calls.push(typeof l.listener === "function" ? l.listener : l.listener.handleEvent.bind(l.listener));
    }
    for (const call of calls) {
      try {
        call.call(this, event);
      } catch (e) {
        console.error(e);
      }
    }
    return true;
  }
}

/** The DOMException shape (`name`, `message`) for hosts without one. */
function domError(name, message) {
  const e = new Error(message);
  e.name = name;
  return e;
}

module.exports = { Event, CloseEvent, EventTarget, domError };
