// Measures, in one run against a real reference server on loopback, in each
// browser engine (Chromium, Firefox, WebKit: tests/e2e/engines.mjs):
//  1. detection latency per strategy: from sending `POST /orders/{no}/pay` to
//     `onStatus` in the page (median and p90 of N orders, default 20);
//  2. HTTP requests per strategy for one order paid 30 s after its watch
//     started, with the default options (intervalMs 2000, longPollWaitSec 25).
// Usage: node scripts/bench.mjs <server-url> [orders] [paid-after-sec]
// Env: BENCH_ENGINES (default chromium,firefox,webkit; WebKit needs a
// display: bench.sh runs this under xvfb-run).
import { launch, enginesFrom } from "../tests/e2e/engines.mjs";

const [server, ordersArg = "20", paidAfterArg = "30"] = process.argv.slice(2);
if (!server) {
  console.error("usage: node scripts/bench.mjs <server-url> [orders] [paid-after-sec]");
  process.exit(2);
}
const ORDERS = Number(ordersArg);
const PAID_AFTER_SEC = Number(paidAfterArg);
const STRATEGIES = ["interval", "poll", "long-poll", "sse", "websocket"];
const ENGINES = enginesFrom(process.env.BENCH_ENGINES || "chromium,firefox,webkit");

const results = {};
for (const engine of ENGINES) {
  console.error(`bench: ${engine}`);
  results[engine] = await measure(engine);
}

async function measure(engine) {
const browser = await launch(engine, { scriptTimeoutMs: 30 * 60_000 });
// The demo page: an HTML document of the server's origin that starts no
// watch by itself (its buttons do).
const page = await browser.open(`${server}/`);

// Runs in the page: N orders of one strategy watched side by side; each is paid
// once its watch is ready (connected, or at a random point of its poll cycle).
const latencies = await page.eval(async ({ strategies, orders }) => {
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
const requests = await page.eval(async ({ strategies, paidAfterSec }) => {
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

await page.close();
await browser.close();
return { latencies, requests };
}

const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))];
};
const ms = (x) => x.toFixed(1).padStart(7);
console.log(`\npaywatch benchmark — ${new Date().toISOString()}, server ${server}, ${ORDERS} orders per strategy`);
console.log(`\nDetection latency, ms: median / p90 / max per engine`);
console.log(`\n| strategy  | ${ENGINES.map((e) => `${e} median | p90 | max`).join(" | ")} |`);
console.log(`|-----------|${ENGINES.map(() => "------:|------:|------:").join("|")}|`);
for (const s of STRATEGIES) {
  const cells = ENGINES.map((e) => {
    const l = results[e].latencies[s];
    return `${ms(q(l, 0.5))} | ${ms(q(l, 0.9))} | ${ms(Math.max(...l))}`;
  });
  console.log(`| ${s.padEnd(9)} | ${cells.join(" | ")} |`);
}
console.log(`\nHTTP requests for an order paid after ${PAID_AFTER_SEC} s`);
console.log(`\n| strategy  | ${ENGINES.join(" | ")} |`);
console.log(`|-----------|${ENGINES.map(() => "------").join("|")}|`);
for (const s of STRATEGIES) {
  const cells = ENGINES.map((e) => {
    const r = results[e].requests[s];
    if (r.status !== "paid") throw new Error(`${e} ${s}: not paid in the request count run`);
    const total = r.checks + r.sse + r.ws;
    return `${total} (${r.checks} checks${r.sse ? `, ${r.sse} SSE connect` : ""}${r.ws ? `, ${r.ws} WebSocket connect` : ""})`;
  });
  console.log(`| ${s.padEnd(9)} | ${cells.join(" | ")} |`);
}
