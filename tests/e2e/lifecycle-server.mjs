// A reference server for the lifecycle tests and the come-back benchmark
// (and the visibility switch both use):
// started on a free 127.0.0.1 port, serving tests/e2e/lifecycle-page/ and
// the built package, with the test hooks the suite uses.
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnServer } from "./server.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/// Resolves with `fn()`'s first truthy value; throws after `timeoutMs`.
export async function waitFor(what, fn, timeoutMs = 10_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

export async function startServer({ pkg = process.env.PAYWATCH_PKG || "pkg" } = {}) {
  const { url, stop } = await spawnServer({
    www: join(root, "tests/e2e/lifecycle-page"),
    pkg: isAbsolute(pkg) ? pkg : join(root, pkg),
  });
  const api = async (method, path, body) => {
    const res = await fetch(url + path, {
      method,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  let n = 0;
  return {
    url,
    api,
    create: async (prefix) => (await api("POST", "/orders", { order_no: `${prefix}-${Date.now()}-${++n}` })).order_no,
    pay: (no) => api("POST", `/orders/${encodeURIComponent(no)}/pay`),
    stats: (no) => api("GET", `/_test/orders/${encodeURIComponent(no)}/stats`),
    behave: (no, b) => api("POST", `/_test/orders/${encodeURIComponent(no)}/behavior`, b),
    hook: (no, what) => api("POST", `/_test/orders/${encodeURIComponent(no)}/${what}`),
    stop,
  };
}

// Headless Chromium keeps every page "visible" (it has no window to hide
// or minimize; CDP cannot change that), so the payer's trip to the wallet
// app is played as the browser plays it: `document.visibilityState` flips
// and `visibilitychange` fires. Freezing the page in between is real.
export async function setVisibility(page, state) {
  await page.evaluate((state) => {
    window.__visibility = state;
    if (!window.__visibilityPatched) {
      window.__visibilityPatched = true;
      Object.defineProperty(document, "visibilityState", { configurable: true, get: () => window.__visibility });
      Object.defineProperty(document, "hidden", { configurable: true, get: () => window.__visibility !== "visible" });
    }
    document.dispatchEvent(new Event("visibilitychange"));
  }, state);
}
