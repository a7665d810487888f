// `fetch`, `Headers`, `Response`, `AbortController` and `AbortSignal` on top
// of `wx.request`, shaped like the Fetch standard so the wasm core (and any
// code written against the browser) can use them unchanged.
//
// Host facts this follows: wx.request needs an absolute http(s) URL, parses
// JSON unless told otherwise (so `dataType` is set to "text" and the body is
// asked for as an ArrayBuffer), times out after at most 60 s, and fails with
// "interrupted" once the app has been in the background for 5 s.
"use strict";

const { Event, EventTarget, domError } = require("./events.js");
const text = require("./text.js");

const HOST_TIMEOUT_MS = 60000;

class Headers {
  constructor(init) {
    Object.defineProperty(this, "_map", { value: new Map() });
    if (init == null) return;
    if (init instanceof Headers) {
      init.forEach((v, k) => this.append(k, v));
    } else if (Array.isArray(init)) {
      for (const [k, v] of init) this.append(k, v);
    } else if (typeof init === "object") {
      for (const k of Object.keys(init)) this.append(k, init[k]);
    } else {
      throw new TypeError("Headers takes an object, an array of pairs, or Headers");
    }
  }

  append(name, value) {
    const key = String(name).toLowerCase();
    const v = String(value);
    this._map.set(key, this._map.has(key) ? `${this._map.get(key)}, ${v}` : v);
  }

  set(name, value) {
    this._map.set(String(name).toLowerCase(), String(value));
  }

  get(name) {
    const v = this._map.get(String(name).toLowerCase());
    return v === undefined ? null : v;
  }

  has(name) {
    return this._map.has(String(name).toLowerCase());
  }

  delete(name) {
    this._map.delete(String(name).toLowerCase());
  }

  forEach(fn, thisArg) {
    for (const [k, v] of this.entries()) fn.call(thisArg, v, k, this);
  }

  entries() {
    return [...this._map.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))[Symbol.iterator]();
  }

  keys() {
    return [...this.entries()].map((e) => e[0])[Symbol.iterator]();
  }

  values() {
    return [...this.entries()].map((e) => e[1])[Symbol.iterator]();
  }

  [Symbol.iterator]() {
    return this.entries();
  }
}

/** A finished response: the whole body is already here (wx.request buffers it). */
class Response {
  constructor(body, init = {}) {
    this.status = init.status === undefined ? 200 : init.status;
    this.statusText = init.statusText || "";
    this.ok = this.status >= 200 && this.status < 300;
    this.headers = new Headers(init.headers);
    this.url = init.url || "";
    this.type = "basic";
    this.redirected = false;
    this.bodyUsed = false;
    this._body = body == null ? new ArrayBuffer(0) : body;
  }

  _take() {
    if (this.bodyUsed) return Promise.reject(new TypeError("Response body is already used"));
    this.bodyUsed = true;
    return Promise.resolve(this._body);
  }

  text() {
    return this._take().then((b) => (typeof b === "string" ? b : new text.TextDecoder().decode(b)));
  }

  json() {
    return this.text().then((t) => JSON.parse(t));
  }

  arrayBuffer() {
    return this._take().then((b) => {
      if (typeof b !== "string") return b;
      const bytes = new text.TextEncoder().encode(b);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    });
  }

  clone() {
    if (this.bodyUsed) throw new TypeError("Response body is already used");
    return new Response(this._body, { status: this.status, statusText: this.statusText, headers: this.headers, url: this.url });
  }
}

class AbortSignal extends EventTarget {
  constructor() {
    super();
    this.aborted = false;
    this.reason = undefined;
    this.onabort = null;
  }

  throwIfAborted() {
    if (this.aborted) throw this.reason;
  }
}

class AbortController {
  constructor() {
    this.signal = new AbortSignal();
  }

  abort(reason) {
    const s = this.signal;
    if (s.aborted) return;
    s.aborted = true;
    s.reason = reason === undefined ? domError("AbortError", "This operation was aborted") : reason;
    s.dispatchEvent(new Event("abort"));
  }
}

/** A URL wx.request can use: absolute http(s), nothing to resolve against. */
function absoluteHttpUrl(url) {
  const s = String(url);
  if (!/^https?:\/\/[^/?#]+/i.test(s)) {
    throw new TypeError(
      `Failed to fetch ${JSON.stringify(s)}: a mini-program has no page address to resolve it against; use an absolute https:// URL`,
    );
  }
  return s;
}

/**
 * Makes `fetch` for one `wx`. Rejects like the browser: a TypeError when
 * the request fails, the signal's reason when aborted.
 */
function makeFetch(wx) {
  return function fetch(input, init = {}) {
    return new Promise((resolve, reject) => {
      const url = absoluteHttpUrl(typeof input === "object" && input && input.url ? input.url : input);
      const signal = init.signal;
      if (signal && signal.aborted) return reject(signal.reason);
      let settled = false;
      let task = null;
      const onAbort = () => {
        if (settled) return;
        settled = true;
        if (task) task.abort();
        reject(signal.reason);
      };
      const done = () => {
        settled = true;
        if (signal) signal.removeEventListener("abort", onAbort);
      };
      task = wx.request({
        url,
        method: (init.method || "GET").toUpperCase(),
        header: headerObject(init.headers),
        data: init.body == null ? undefined : init.body,
        dataType: "text",
        responseType: "arraybuffer",
        timeout: HOST_TIMEOUT_MS,
        success(res) {
          if (settled) return;
          done();
          resolve(new Response(res.data, { status: res.statusCode, headers: res.header, url }));
        },
        fail(err) {
          if (settled) return;
          done();
          reject(new TypeError(`Failed to fetch: ${(err && err.errMsg) || "request failed"}`));
        },
      });
      if (signal) signal.addEventListener("abort", onAbort);
    });
  };
}

function headerObject(headers) {
  const out = {};
  if (headers) new Headers(headers).forEach((v, k) => (out[k] = v));
  return out;
}

module.exports = { Headers, Response, AbortController, AbortSignal, makeFetch, absoluteHttpUrl, headerObject };
