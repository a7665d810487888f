// Figures for paywatch/miniprogram in the simulated host, with the example
// page and the default options:
//  1. detection latency per strategy: from sending POST /orders/{no}/pay to
//     the page's setData({ paid: true }) (onStatus), over ORDERS orders each,
//     paid at a random moment of the polling interval;
//  2. what the server saw for one order paid 30 s after its watch started
//     (all strategies at once, one host each).
// Run with a server (test hooks on): PAYWATCH_SERVER=http://127.0.0.1:PORT node tests/miniprogram/bench.mjs
import { performance } from "node:perf_hooks";
import { openPayPage, server, waitFor, sleep, watching } from "./support.mjs";

const STRATEGIES = ["interval", "poll", "long-poll", "sse", "websocket", "auto"];
const ORDERS = Number(process.env.ORDERS || 10);
const PAID_AFTER_MS = 30000;

/** Opens the pay page and records when it shows paid. */
async function page(strategy) {
  const t = await openPayPage({ strategy });
  const setData = t.page.setData;
  t.page.setData = (patch, cb) => {
    if (patch.paid && t.paidAt === undefined) t.paidAt = performance.now();
    setData(patch, cb);
  };
  return t;
}

async function latency(strategy) {
  const times = [];
  for (let i = 0; i < ORDERS; i++) {
    const t = await page(strategy);
    try {
      await waitFor("the watch", async () => watching(strategy, await server.stats(t.no)));
      await sleep(Math.random() * 2000);
      const sent = performance.now();
      await server.pay(t.no);
      await waitFor("paid", () => t.paidAt !== undefined, 10000);
      times.push(t.paidAt - sent);
    } finally {
      t.dispose();
    }
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  return { median: at(0.5), p90: at(0.9), max: times[times.length - 1] };
}

async function paidAfter30s(strategy) {
  const t = await page(strategy);
  try {
    const started = performance.now();
    await sleep(PAID_AFTER_MS - (performance.now() - started));
    await server.pay(t.no);
    await waitFor("paid", () => t.paidAt !== undefined, 10000);
    await sleep(200);
    const s = await server.stats(t.no);
    const wxRequests = t.host.requests.log.filter((r) => r.url.includes(encodeURIComponent(t.no)) && r.method === "GET").length;
    return { checks: s.checks, sse: s.sse_connects, ws: s.ws_connects, wxRequests, sockets: t.host.sockets.made };
  } finally {
    t.dispose();
  }
}

const ms = (v) => (v < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`);
const counts = await Promise.all(STRATEGIES.map(paidAfter30s));
const lat = {};
for (const s of STRATEGIES) lat[s] = await latency(s);

console.log(`Simulated mini-program host, ${ORDERS} orders per strategy, default options, node ${process.version}`);
console.log("| strategy | median | p90 | max | requests for an order paid after 30 s |");
console.log("|---|---:|---:|---:|---|");
STRATEGIES.forEach((s, i) => {
  const c = counts[i];
  const many = (n, one) => `${n} ${one}${n === 1 ? "" : "s"}`;
  const parts = [many(c.checks, "check")];
  if (c.sse) parts.push(many(c.sse, "SSE stream"));
  if (c.ws) parts.push(many(c.ws, "WebSocket connect"));
  const total = c.checks + c.sse + c.ws;
  console.log(`| ${s} | ${ms(lat[s].median)} | ${ms(lat[s].p90)} | ${ms(lat[s].max)} | ${total} (${parts.join(", ")}) |`);
});
