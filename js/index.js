// The package entry: loads the wasm module by itself, so
// `import { checkPayStatus } from "paywatch"` is all a page needs.
// Calls made before the module has loaded wait for it, in call order.
import initWasm, * as wasm from "./paywatch.js";

let loading = null;
let loaded = false;

// ---- What this browser must have (README, "Supported browsers") ----------
//
// Checked before the wasm is fetched, so an old browser gets a PayWatchError
// naming what it lacks instead of a LinkError, CompileError or TypeError from
// deep inside the glue.

// The smallest module using each WebAssembly feature the built .wasm uses
// (scripts/wasm-features.mjs lists them; the page-level tests check that the
// two lists agree); WebAssembly.validate says whether this engine accepts it.
const WASM_HEADER = [0, 97, 115, 109, 1, 0, 0, 0];
const VOID_FN = [1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0]; // type () -> (), one function of it
const WASM_FEATURES = [
  // (func (param externref))
  ["reference types", [1, 5, 1, 0x60, 1, 0x6f, 0, 3, 2, 1, 0, 10, 4, 1, 2, 0, 11]],
  // (memory 1) (func i32.const 0 i32.const 0 i32.const 0 memory.copy)
  ["bulk memory", [...VOID_FN, 5, 3, 1, 0, 1, 10, 14, 1, 12, 0, 0x41, 0, 0x41, 0, 0x41, 0, 0xfc, 10, 0, 0, 11]],
  // (func f32.const 0 i32.trunc_sat_f32_s drop)
  ["non-trapping float-to-int conversions", [...VOID_FN, 10, 12, 1, 10, 0, 0x43, 0, 0, 0, 0, 0xfc, 0, 0x1a, 11]],
  // (func i32.const 0 i32.extend8_s drop)
  ["sign-extension operators", [...VOID_FN, 10, 8, 1, 6, 0, 0x41, 0, 0xc0, 0x1a, 11]],
];

// Globals the glue and the Rust code call on every strategy.
const GLOBALS = ["fetch", "AbortController", "TextDecoder", "TextEncoder", "URL", "Promise"];
// Globals one strategy needs.
const STRATEGY_GLOBALS = { sse: "EventSource", websocket: "WebSocket" };

const SUPPORTED = "Chrome/Edge 96, Firefox 79, Safari 15 (iOS 15) or newer";

/** The first thing this browser lacks, or null. */
function missing() {
  const g = globalThis;
  const wasm = g.WebAssembly;
  if (typeof wasm !== "object" || wasm === null || typeof wasm.instantiate !== "function" || typeof wasm.validate !== "function") {
    return "WebAssembly";
  }
  for (const [name, body] of WASM_FEATURES) {
    let ok = false;
    try {
      ok = wasm.validate(new Uint8Array([...WASM_HEADER, ...body]));
    } catch {
      // an engine that throws on it lacks it too
    }
    if (!ok) return `WebAssembly ${name}`;
  }
  return GLOBALS.find((name) => typeof g[name] !== "function") ?? null;
}

let lacking;
function lacks() {
  if (lacking === undefined) lacking = missing();
  return lacking;
}

function unsupported(feature, orderNo) {
  const err = new Error(`paywatch: this browser lacks ${feature}, which paywatch needs; supported: ${SUPPORTED}`);
  err.name = "PayWatchError";
  err.kind = "unsupported";
  err.feature = feature;
  err.orderNo = typeof orderNo === "string" ? orderNo : "";
  return err;
}

// The strategy configure() set, for the strategy check of checkPayStatus.
let configuredStrategy;

/**
 * Loads the wasm module; resolves when paywatch is ready. Optional: every
 * export loads it on first use. Pass a URL or bytes to load the `.wasm` from
 * somewhere else than next to this file.
 */
export function init(wasmSource) {
  if (lacks()) return Promise.reject(unsupported(lacks()));
  if (!loading) {
    const arg = wasmSource === undefined ? undefined : { module_or_path: wasmSource };
    loading = initWasm(arg).then(
      () => {
        loaded = true;
      },
      (e) => {
        loading = null; // let a later call try again (e.g. after a network blip)
        throw e;
      },
    );
  }
  return loading;
}

// Start loading as soon as the module is imported; a failure surfaces on the
// first call instead of as an unhandled rejection here.
init().catch(() => {});

function later(fn) {
  init().then(fn).catch((e) => console.error(e));
}

export function configure(options) {
  if (options && typeof options.strategy === "string") configuredStrategy = options.strategy;
  if (loaded) return wasm.configure(options);
  // Validated once loaded; an invalid option is reported on the console.
  later(() => wasm.configure(options));
}

export function checkPayStatus(orderNo, type, options) {
  if (lacks()) return Promise.reject(unsupported(lacks(), orderNo));
  const strategy = (options && typeof options.strategy === "string" && options.strategy) || configuredStrategy;
  const needs = STRATEGY_GLOBALS[strategy];
  if (needs && typeof globalThis[needs] !== "function") return Promise.reject(unsupported(needs, orderNo));
  if (loaded) return wasm.checkPayStatus(orderNo, type, options);
  return init().then(() => wasm.checkPayStatus(orderNo, type, options));
}

export function stopPayStatus(orderNo) {
  if (loaded) return wasm.stopPayStatus(orderNo);
  later(() => wasm.stopPayStatus(orderNo));
}

export function resumeWatches() {
  if (loaded) wasm.resumeWatches();
}

export function activeWatches() {
  return loaded ? wasm.activeWatches() : 0;
}
