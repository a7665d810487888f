// What the wasm core and its wasm-bindgen glue expect from a browser, made
// from what a mini-program has. The glue (paywatch.js, generated from the
// browser build) is a factory that takes these as its globals: a mini-program
// wraps every module in a function whose parameters shadow names such as
// `window` and `WebSocket`, so assigning real globals would not reach it.
"use strict";

const text = require("./text.js");
const { Headers, Request, Response, AbortController, AbortSignal, makeFetch } = require("./request.js");
const { makeWebSocket } = require("./socket.js");
const { makeEventSource, canStream } = require("./event-source.js");
const { Event, CloseEvent } = require("./events.js");

/**
 * The globals for the glue. `globals` becomes its `globalThis`: where the
 * core looks for the analytics hooks (`kbnClickAna`, `PinganAna`) and
 * feature-detects `WebSocket` and `EventSource` (and `window`, which it must
 * not find). The adapters the host can offer are added to it.
 */
function createHost(wx, wasmApi, globals) {
  const host = {
    globalThis: globals,
    window: undefined,
    self: undefined,
    global: undefined,
    document: undefined,
    fetch: makeFetch(wx),
    Headers,
    Request,
    Response,
    AbortController,
    AbortSignal,
    WebSocket: makeWebSocket(wx),
    // Without a chunked wx.request there is no stream: no EventSource, and
    // the core's "auto" goes from WebSocket straight to long polling.
    EventSource: canStream(wx) ? makeEventSource(wx) : undefined,
    TextEncoder: text.TextEncoder,
    TextDecoder: text.TextDecoder,
    // gloo-net dispatches events of its own when it drops a socket or source.
    Event,
    CloseEvent,
    URL: undefined,
    WebAssembly: wasmShim(wasmApi),
  };
  for (const name of ["fetch", "Headers", "Request", "Response", "AbortController", "AbortSignal", "WebSocket", "EventSource", "TextEncoder", "TextDecoder"]) {
    if (host[name] !== undefined) globals[name] = host[name];
  }
  return host;
}

/** Where the `.wasm` is in the code package; what the glue is handed instead of bytes. */
class WasmPath {
  constructor(path) {
    this.path = path;
  }
}

/**
 * `WebAssembly` as the glue uses it, on `WXWebAssembly`: `instantiate` takes
 * a code-package path and resolves a bare Instance, so the shim resolves
 * the `{ instance, module }` pair the glue expects from bytes.
 */
function wasmShim(wasmApi) {
  if (!wasmApi) return undefined;
  class Instance {} // nothing is one: the glue then takes the pair as it is
  return {
    Instance,
    Module: wasmApi.Module,
    Memory: wasmApi.Memory,
    Table: wasmApi.Table,
    Global: wasmApi.Global,
    instantiate(source, imports) {
      if (!(source instanceof WasmPath)) {
        return Promise.reject(new TypeError("WXWebAssembly loads a .wasm by its path in the code package only"));
      }
      return wasmApi.instantiate(source.path, imports).then((instance) => ({ instance, module: null }));
    },
  };
}

module.exports = { createHost, WasmPath };
