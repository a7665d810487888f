// Measures, in one run against a real reference server on loopback:
//  1. detection latency per strategy: from sending `POST /orders/{no}/pay` to
//     `onStatus` in the page (median and p90 of N orders, default 20);
//  2. HTTP requests per strategy for one order paid 30 s after its watch
//     started, with the default options (intervalMs 2000, longPollWaitSec 25).
// Usage: node scripts/bench.mjs <server-url> [orders] [paid-after-sec]
import { launchChromium } from "../tests/e2e/chromium.mjs";

const [server, ordersArg = "20", paidAfterArg = "30"] = process.argv.slice(2);
if (!server) {
  console.error("usage: node scripts/bench.mjs <server-url> [orders] [paid-after-sec]");
  process.exit(2);
}
const ORDERS = Number(ordersArg);
const PAID_AFTER_SEC = Number(paidAfterArg);
const STRATEGIES = ["interval", "poll", "long-poll", "sse", "websocket"];

const browser = await launchChromium();
const page = await browser.newPage();
page.on("pageerror", (e) => console.error("page error:", e));
await page.goto(`${server}/pkg/package.json`);

// Runs in the page: N orders of one strategy watched side by side; each is paid
// once its watch is ready (connected, or at a random point of its poll cycle).
const latencies = await page.evaluate(async ({ strategies, orders }) => {
  const pw = await import("/pkg/index.js");
  await pw.init();
  const post = (path, body) => fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body ?? {}) }).then((r) => r.json());
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const out = {};
  // Four orders at a time: a browser opens at most six HTTP/1.1 connections
  // per origin, and every SSE stream or held long-poll keeps one.
  const BATCH = 4;
  for (const strategy of strategies) {
    out[strategy] = [];
    for (let i = 0; i < orders; i += BATCH) {
      const runs = [];
      for (let j = i; j < Math.min(orders, i + BATCH); j++) runs.push(one(strategy));
      out[strategy].push(...(await Promise.all(runs)));
    }
  }
  return out;

  async function one(strategy) {
    const { order_no } = await post("/orders");
    let ready;
    const isReady = new Promise((r) => (ready = r));
    let seenAt = null;
    const watch = pw.checkPayStatus(order_no, 1, {
      strategy, exclusive: false, analytics: false,
      onStatus: () => { seenAt = performance.now(); },
      onEvent: (e) => {
        if (e.kind === "open" || (strategy === "long-poll" && e.kind === "check")) ready();
      },
    });
    if (strategy === "interval" || strategy === "poll") {
      await sleep(500 + Math.random() * 2000); // a random point of the 2 s cycle
    } else {
      await isReady;
      await sleep(300); // the catch-up check / held request is under way
    }
    const sentAt = performance.now();
    await fetch(`/orders/${encodeURIComponent(order_no)}/pay`, { method: "POST" });
    const outcome = await watch;
    if (outcome.status !== "paid" || seenAt === null) throw new Error(`${strategy}: ${JSON.stringify(outcome)}`);
    return seenAt - sentAt;
  }
}, { strategies: STRATEGIES, orders: ORDERS });

// Requests per order paid after PAID_AFTER_SEC, all five strategies at once.
const requests = await page.evaluate(async ({ strategies, paidAfterSec }) => {
  const pw = await import("/pkg/index.js");
  const post = (path) => fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }).then((r) => r.json());
  const orders = {};
  const watches = [];
  for (const strategy of strategies) {
    const { order_no } = await post("/orders");
    orders[strategy] = order_no;
    watches.push(pw.checkPayStatus(order_no, 1, { strategy, exclusive: false, analytics: false }));
  }
  await new Promise((r) => setTimeout(r, paidAfterSec * 1000));
  for (const s of strategies) await fetch(`/orders/${encodeURIComponent(orders[s])}/pay`, { method: "POST" });
  const outcomes = await Promise.all(watches);
  const result = {};
  for (const [i, s] of strategies.entries()) {
    const st = await fetch(`/_test/orders/${encodeURIComponent(orders[s])}/stats`).then((r) => r.json());
    result[s] = { checks: st.checks, sse: st.sse_connects, ws: st.ws_connects, status: outcomes[i].status, attempts: outcomes[i].attempts };
  }
  return result;
}, { strategies: STRATEGIES, paidAfterSec: PAID_AFTER_SEC });

await browser.close();

const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
};
console.log(`\npaywatch benchmark — ${new Date().toISOString()}, server ${server}, ${ORDERS} orders per strategy`);
console.log(`\n| strategy  | median ms | p90 ms | max ms | HTTP requests for an order paid after ${PAID_AFTER_SEC} s |`);
console.log("|-----------|----------:|-------:|-------:|------:|");
for (const s of STRATEGIES) {
  const l = latencies[s];
  const r = requests[s];
  if (r.status !== "paid") throw new Error(`${s}: not paid in the request count run`);
  const total = r.checks + r.sse + r.ws;
  const detail = `${total} (${r.checks} checks${r.sse ? `, ${r.sse} SSE connect` : ""}${r.ws ? `, ${r.ws} WebSocket connect` : ""})`;
  console.log(`| ${s.padEnd(9)} | ${q(l, 0.5).toFixed(1).padStart(9)} | ${q(l, 0.9).toFixed(1).padStart(6)} | ${Math.max(...l).toFixed(1).padStart(6)} | ${detail} |`);
}
