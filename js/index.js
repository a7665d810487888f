// The package entry: loads the wasm module by itself, so
// `import { checkPayStatus } from "paywatch"` is all a page needs.
// Calls made before the module has loaded wait for it, in call order.
import initWasm, * as wasm from "./paywatch.js";

let loading = null;
let loaded = false;

/**
 * Loads the wasm module; resolves when paywatch is ready. Optional: every
 * export loads it on first use. Pass a URL or bytes to load the `.wasm` from
 * somewhere else than next to this file.
 */
export function init(wasmSource) {
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
  if (loaded) return wasm.configure(options);
  // Validated once loaded; an invalid option is reported on the console.
  later(() => wasm.configure(options));
}

export function checkPayStatus(orderNo, type, options) {
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
