// Helpers for the cross-tab tests (crosstab.mjs) and benchmark
// (scripts/bench-crosstab.mjs): a reference server on a free 127.0.0.1 port
// serving the fixture page crosstab/index.html and the built package at
// /pkg/, and tabs of one Chromium browser context opened on it.
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, "../..");

import { spawnServer } from "./server.mjs";

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

export { assert } from "./harness.mjs";

export function assertEqual(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

// Polls `fn` until it returns something truthy; bounded in time.
export async function waitFor(what, fn, timeoutMs = 10_000, everyMs = 20) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what} (last: ${last})`);
    await sleep(everyMs);
  }
}

// Starts the reference server on the fixture page; resolves with { url, stop }.
export function startServer() {
  const pkg = process.env.PAYWATCH_PKG ? resolve(process.env.PAYWATCH_PKG) : join(root, "pkg");
  return spawnServer({ www: join(here, "crosstab"), pkg });
}

export async function api(server, method, path, body) {
  const res = await fetch(server.url + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const enc = encodeURIComponent;
export const createOrder = async (server) => (await api(server, "POST", "/orders", "{}")).order_no;
export const payOrder = (server, no) => api(server, "POST", `/orders/${enc(no)}/pay`);
export const closeOrder = (server, no) => api(server, "POST", `/orders/${enc(no)}/close`);
export const stats = (server, no) => api(server, "GET", `/_test/orders/${enc(no)}/stats`);
// Sends `text` at once to every open SSE stream and WebSocket of the order.
export const push = (server, no, text) => api(server, "POST", `/_test/orders/${enc(no)}/push`, text);
export const paidBody = (no) => JSON.stringify({ payed: 1, status: "paid", order_no: no });

// The fixture page's URL for one order; `options` become query parameters.
export function tabUrl(server, no, options = {}) {
  const q = new URLSearchParams({ order: no, type: "1", ...options });
  return `${server.url}/?${q}`;
}

// A new tab of `context` that records its console errors and page errors
// in `page.problems`.
export async function newTab(context) {
  const p = await context.newPage();
  p.problems = [];
  p.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") p.problems.push(`console.${m.type()}: ${m.text()}`);
  });
  p.on("pageerror", (e) => p.problems.push(`page error: ${e.message}`));
  return p;
}

// Opens the fixture page at `url` in `page`, or in a new tab of `context`.
export async function openTab(context, url, page) {
  const p = page || (await newTab(context));
  await p.goto(url);
  return p;
}

// What a tab saw: analytics calls, onStatus/onPaid calls, outcome, events.
export function seen(page) {
  return page.evaluate(() => ({
    kbn: window.anaCalls.kbn.length,
    fire: window.anaCalls.fire.length,
    status: window.statusCalls,
    paid: window.paidCalls,
    outcome: window.outcome || null,
    kinds: window.events.map((e) => e.kind),
    checks: window.events.filter((e) => e.kind === "check").length,
    errors: window.errors,
  }));
}

export const eventAt = (page, kind) =>
  page.evaluate((k) => (window.events.find((e) => e.kind === k) || {}).at ?? null, kind);

export const outcomeOf = (page) => page.evaluate(() => window.outcome || null);

// Opens two tabs of `context` on one order (default: each runs its own
// WebSocket, shareWatch false), waits until both sockets are open, then the
// server pushes "paid" to both in one go. Resolves with the analytics calls
// of the two tabs once both have settled.
export async function simultaneousPush(server, context, pages, options = {}) {
  const no = await createOrder(server);
  const url = tabUrl(server, no, { strategy: "websocket", shareWatch: "false", ...options });
  await Promise.all(pages.map((p) => openTab(context, url, p)));
  await waitFor("both sockets open and caught up", async () => {
    const s = await stats(server, no);
    if (s.ws_open < pages.length) return false;
    const kinds = await Promise.all(pages.map((p) => p.evaluate(() => window.events.map((e) => e.kind))));
    return kinds.every((k) => k.includes("answer"));
  });
  await push(server, no, paidBody(no));
  const outcomes = await Promise.all(pages.map((p) => waitFor("paid outcome", () => outcomeOf(p))));
  const calls = await Promise.all(pages.map(seen));
  return { no, outcomes, calls, fired: calls.reduce((n, c) => n + c.kbn, 0) };
}
