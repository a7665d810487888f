// paywatch in a WeChat mini-program: the same wasm core as in the browser,
// loaded with WXWebAssembly from the code package, talking through
// wx.request and wx.connectSocket (see host.js). After the devtools'
// "build npm", `require("paywatch/miniprogram")` (or `require("paywatch")`)
// gives this module.
"use strict";

const { createHost, WasmPath } = require("./host.js");
const { makeWatchPage } = require("./page.js");
const bindGlue = require("./paywatch.js");

/** Where "build npm" puts the wasm, from the mini-program root. */
const DEFAULT_WASM_PATH = "/miniprogram_npm/paywatch/paywatch_bg.wasm.br";

/**
 * The object the core sees as its global: put the page's analytics hooks
 * here (`globals.kbnClickAna = fn`, `globals.PinganAna = { fire }`). It is
 * deliberately not the host's own global object: in the devtools that one
 * can be a webview's window, with a `window`, `document` and `EventSource`
 * the core must not mistake for a browser page's.
 */
const globals = {};

let host = null;
let core = null;
let loading = null;
let loaded = false;
/** The strategy and URLs given to `configure`, to check watches against. */
let defaults = {};

function bound() {
  if (!core) {
    if (typeof wx !== "object" || !wx || typeof wx.request !== "function") {
      throw new Error("paywatch/miniprogram runs inside a WeChat mini-program (no `wx` here); use `paywatch` in a browser");
    }
    host = createHost(wx, typeof WXWebAssembly === "object" ? WXWebAssembly : undefined, globals);
    core = bindGlue(host);
  }
  return core;
}

/**
 * Loads the wasm; resolves when paywatch is ready. Optional: every export
 * loads it on first use. `wasmPath` is the `.wasm` or `.wasm.br` path in the
 * code package when miniprogram_npm is not at the mini-program root.
 */
function init(wasmPath) {
  if (!loading) {
    const path = wasmPath === undefined ? DEFAULT_WASM_PATH : wasmPath;
    loading = Promise.resolve()
      .then(() => {
        const glue = bound();
        if (!host.WebAssembly) {
          throw new Error("paywatch/miniprogram needs WXWebAssembly (base library 2.14.0 or newer for a .wasm.br)");
        }
        if (typeof path !== "string" || !/\.wasm(\.br)?$/.test(path)) {
          throw new TypeError(`init takes the code-package path of a .wasm or .wasm.br file, got ${JSON.stringify(path)}`);
        }
        return glue.default({ module_or_path: new WasmPath(path) }).catch((e) => {
          throw new Error(`paywatch: could not load ${path} with WXWebAssembly.instantiate: ${(e && e.message) || e}`);
        });
      })
      .then(
        () => {
          loaded = true;
        },
        (e) => {
          loading = null; // a later call may try again
          throw e;
        },
      );
  }
  return loading;
}

/** Page-wide defaults, merged over earlier calls. Every URL must be absolute. */
function configure(options) {
  checkUrls(options);
  if (loaded) core.configure(options);
  // Before the wasm has loaded, the core judges the other options then and
  // reports a bad one on the console, as the browser entry does.
  else init().then(() => core.configure(options)).catch((e) => console.error(e));
  defaults = Object.assign({}, defaults, picked(options));
}

/** Watches an order until it is paid, closed or expired, times out, or is stopped. */
function checkPayStatus(orderNo, type, options) {
  try {
    checkWatch(options);
  } catch (e) {
    return Promise.reject(e);
  }
  if (loaded) return core.checkPayStatus(orderNo, type, options);
  return init().then(() => core.checkPayStatus(orderNo, type, options));
}

/** Stops one order's watch, or every watch. */
function stopPayStatus(orderNo) {
  if (loaded) return core.stopPayStatus(orderNo);
  if (loading) loading.then(() => core.stopPayStatus(orderNo), () => {});
}

/** How many watches are running. */
function activeWatches() {
  return loaded ? core.activeWatches() : 0;
}

/** Every running watch checks now; dropped push connections reopen now. */
function resumeWatches() {
  if (loaded) core.resumeWatches();
}

const watchPage = makeWatchPage({ checkPayStatus, stopPayStatus, resumeWatches });

// Option checks only a mini-program needs. Everything else (order numbers,
// strategies, numbers) is the core's to judge, with the core's messages.
const URL_RULES = {
  endpoint: { scheme: /^https?:\/\/[^/?#]+/i, example: "https://api.example.com/pay" },
  sseUrl: { scheme: /^https?:\/\/[^/?#]+/i, example: "https://api.example.com/payment-status" },
  wsUrl: { scheme: /^wss?:\/\/[^/?#]+/i, example: "wss://api.example.com/ws" },
};

function usedUrls(strategy) {
  switch (strategy) {
    case "sse":
      return ["endpoint", "sseUrl"];
    case "websocket":
      return ["endpoint", "wsUrl"];
    case "auto":
      return host && host.EventSource ? ["endpoint", "wsUrl", "sseUrl"] : ["endpoint", "wsUrl"];
    default:
      return ["endpoint"];
  }
}

function picked(options) {
  const out = {};
  if (options && typeof options === "object") {
    for (const key of ["strategy", "endpoint", "sseUrl", "wsUrl"]) {
      if (options[key] !== undefined && options[key] !== null) out[key] = options[key];
    }
  }
  return out;
}

function checkUrls(options) {
  const given = picked(options);
  for (const key of Object.keys(URL_RULES)) {
    const value = given[key];
    if (typeof value === "string" && !URL_RULES[key].scheme.test(value)) {
      throw optionsError(
        `${key} ${JSON.stringify(value)} must be an absolute URL such as ${URL_RULES[key].example}: ` +
          "a mini-program has no page address to resolve it against",
      );
    }
  }
}

function checkWatch(options) {
  checkUrls(options);
  bound();
  const merged = Object.assign({}, defaults, picked(options));
  const strategy = merged.strategy === undefined ? "poll" : merged.strategy;
  if (strategy === "sse" && !host.EventSource) {
    throw optionsError(
      'strategy "sse" needs a streaming wx.request (enableChunked, base library 2.20.2 or newer), ' +
        'which this WeChat lacks; use "auto", "websocket" or "long-poll"',
    );
  }
  for (const key of usedUrls(strategy)) {
    if (merged[key] === undefined) {
      throw optionsError(
        `${key} is not set: in a mini-program there is no page address for the default; ` +
          `set an absolute URL, e.g. configure({ ${key}: "${URL_RULES[key].example}" })`,
      );
    }
  }
}

function optionsError(message) {
  const e = new Error(message);
  e.name = "PayWatchError";
  return e;
}

module.exports = {
  init,
  configure,
  checkPayStatus,
  stopPayStatus,
  activeWatches,
  resumeWatches,
  watchPage,
  globals,
};
