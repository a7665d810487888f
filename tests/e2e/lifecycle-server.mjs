// A reference server for the lifecycle tests and the come-back benchmark
// (and the visibility switch both use):
// started on a free 127.0.0.1 port, serving tests/e2e/lifecycle-page/ and
// the built package, with the test hooks the suite uses.
import { spawn } from "node:child_process";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { testServerFlags } from "./server-flags.mjs";

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
  const bin = process.env.PAYWATCH_SERVER_BIN || "target/debug/paywatch-server";
  const child = spawn(isAbsolute(bin) ? bin : join(root, bin), [
    "--host", "127.0.0.1", "--port", "0",
    "--www", join(root, "tests/e2e/lifecycle-page"),
    "--pkg", isAbsolute(pkg) ? pkg : join(root, pkg),
    ...testServerFlags(),
  ], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise((res, rej) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) res(m[1]);
    });
    child.on("exit", (code) => rej(new Error(`server exited (${code})`)));
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
    stop: () => new Promise((res) => {
      child.once("exit", res);
      child.kill("SIGTERM");
    }),
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
