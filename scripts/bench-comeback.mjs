#!/usr/bin/env node
// `make bench` (part): the payer comes back. Run by scripts/bench-comeback.sh,
// which builds the "before" package and passes both package directories.
//
// 1. Return-to-paid latency, per strategy, before and after, side by side:
//    the page watches with the defaults; it goes hidden and is frozen (CDP);
//    the order is paid; after a random 0.5–2.5 s it is resumed and becomes
//    visible; the time from "visible" to onStatus. Median / p90 of ORDERS.
// 2. Dead-socket detection (after only), per push strategy: the server
//    blackholes the connection (silent, never closed) and the order is paid
//    at once; time to the replacement connection and to onStatus.
// 3. Requests of a poll watch over REQUEST_MINUTES (default 5) with the
//    defaults, after versus before (slowAfterMs: Infinity), side by side in
//    one page, while 1 and 2 run (skipped when REQUEST_MINUTES=0).
//
// Usage: node scripts/bench-comeback.mjs BEFORE_PKG AFTER_PKG
import { launchChromium } from "../tests/e2e/chromium.mjs";
import { setVisibility, sleep, startServer, waitFor } from "../tests/e2e/lifecycle-server.mjs";

const [beforePkg, afterPkg] = process.argv.slice(2);
const ORDERS = Number(process.env.ORDERS || 20);
const DEAD_RUNS = Number(process.env.DEAD_RUNS || 10);
const REQUEST_MINUTES = Number(process.env.REQUEST_MINUTES ?? 5);
const HEARTBEAT_MS = Number(process.env.HEARTBEAT_MS || 1000);
const STRATEGIES = ["interval", "poll", "long-poll", "sse", "websocket"];

process.env.PAYWATCH_TEST_SERVER_FLAGS = `--test-hooks --heartbeat-ms ${HEARTBEAT_MS} --demo-endpoints --rate-limit 10000 --max-waiters-per-client 10000`;
const browser = await launchChromium();

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { median: at(0.5), p90: at(0.9), max: s[s.length - 1] };
}
const ms = (v) => (Number.isFinite(v) ? `${Math.round(v)} ms` : "not seen");

async function openPage(server, context) {
  const page = await context.newPage();
  await page.goto(`${server.url}/index.html`);
  await page.waitForFunction(() => window.ready === true);
  return page;
}
const log = (page) => page.evaluate(() => window.paywatchLog);

async function watching(server, no, strategy) {
  const key = { sse: "sse_open", websocket: "ws_open", "long-poll": "long_poll_waiting" }[strategy];
  await waitFor("watching", async () => {
    const s = await server.stats(no);
    return key ? s[key] >= 1 : s.checks >= 1 && s.in_flight === 0;
  });
}

async function returnToPaid(pkg, strategy) {
  const server = await startServer({ pkg });
  const context = await browser.newContext();
  const out = [];
  for (let i = 0; i < ORDERS; i++) {
    const page = await openPage(server, context);
    const cdp = await context.newCDPSession(page);
    const no = await server.create("back");
    await page.evaluate(([no, strategy]) => window.watchOrder(no, { strategy }), [no, strategy]);
    await watching(server, no, strategy);
    await setVisibility(page, "hidden");
    await cdp.send("Page.setWebLifecycleState", { state: "frozen" });
    await server.pay(no);
    await sleep(500 + Math.random() * 2000);
    await cdp.send("Page.setWebLifecycleState", { state: "active" });
    const visible = Date.now();
    await setVisibility(page, "visible");
    await waitFor("onStatus", async () => (await log(page)).status.length === 1, 30_000);
    // At most 0: a held request or an open socket may deliver the payment
    // while the page is frozen (headless Chromium runs network callbacks),
    // and then it was on screen before the page came back.
    out.push(Math.max(0, (await log(page)).status[0].at - visible));
    await page.close();
  }
  await context.close();
  await server.stop();
  return stats(out);
}

/// `runs` blackholed connections; a run that sees no replacement within
/// `giveUpMs` counts as "not detected" (Infinity).
async function deadSocket(pkg, strategy, runs, giveUpMs) {
  const server = await startServer({ pkg });
  const context = await browser.newContext();
  const replaced = [];
  const seen = [];
  const key = strategy === "sse" ? "sse_connects" : "ws_connects";
  const within = (what, fn) => waitFor(what, fn, giveUpMs).then(() => true, () => false);
  for (let i = 0; i < runs; i++) {
    const page = await openPage(server, context);
    const no = await server.create("dead");
    await page.evaluate(([no, strategy]) => window.watchOrder(no, { strategy }), [no, strategy]);
    await watching(server, no, strategy);
    await sleep(HEARTBEAT_MS * 1.2); // a heartbeat has armed liveness
    const at = Date.now();
    await server.hook(no, "blackhole");
    await server.pay(no);
    const again = await within("a new connection", async () => (await server.stats(no))[key] >= 2);
    replaced.push(again ? Date.now() - at : Infinity);
    const paid = await within("onStatus", async () => (await log(page)).status.length === 1);
    seen.push(paid ? (await log(page)).status[0].at - at : Infinity);
    await page.close();
  }
  await context.close();
  await server.stop();
  return { replaced: stats(replaced), seen: stats(seen) };
}

async function requestsOverMinutes() {
  const server = await startServer({ pkg: afterPkg });
  const context = await browser.newContext();
  const page = await openPage(server, context);
  const after = await server.create("requests-after");
  const before = await server.create("requests-before");
  await page.evaluate(([a, b]) => {
    window.watchOrder(a, { strategy: "poll", exclusive: false, timeoutMs: Infinity });
    window.watchOrder(b, { strategy: "poll", exclusive: false, timeoutMs: Infinity, slowAfterMs: Infinity });
  }, [after, before]);
  await sleep(REQUEST_MINUTES * 60_000);
  const counts = { after: (await server.stats(after)).checks, before: (await server.stats(before)).checks };
  await context.close();
  await server.stop();
  return counts;
}

// The 5-minute count runs meanwhile, in a page of its own.
const requests = REQUEST_MINUTES > 0 ? requestsOverMinutes() : null;

console.log(`return-to-paid latency: paid while hidden and frozen, then visible; ${ORDERS} orders per strategy, defaults (intervalMs 2000)`);
console.log("| strategy | before: median | p90 | max | after: median | p90 | max |");
console.log("|---|---|---|---|---|---|---|");
for (const strategy of STRATEGIES) {
  const b = await returnToPaid(beforePkg, strategy);
  const a = await returnToPaid(afterPkg, strategy);
  console.log(`| ${strategy} | ${ms(b.median)} | ${ms(b.p90)} | ${ms(b.max)} | ${ms(a.median)} | ${ms(a.p90)} | ${ms(a.max)} |`);
}

const DEAD_BEFORE_MS = 20_000;
console.log(`\ndead-socket detection: connection blackholed and order paid at once; server heartbeat ${HEARTBEAT_MS} ms, default livenessMs (2.5x); after: ${DEAD_RUNS} runs; before: 2 runs, given up after ${DEAD_BEFORE_MS / 1000} s`);
console.log("| strategy | before: to onStatus | after: to replacement connection, median | max | after: to onStatus, median | max |");
console.log("|---|---|---|---|---|---|");
for (const strategy of ["sse", "websocket"]) {
  const b = await deadSocket(beforePkg, strategy, 2, DEAD_BEFORE_MS);
  const d = await deadSocket(afterPkg, strategy, DEAD_RUNS, 60_000);
  console.log(`| ${strategy} | ${ms(b.seen.max)} | ${ms(d.replaced.median)} | ${ms(d.replaced.max)} | ${ms(d.seen.median)} | ${ms(d.seen.max)} |`);
}

if (requests) {
  const r = await requests;
  console.log(`\nrequests of a poll watch over ${REQUEST_MINUTES} min with the defaults: before (constant 2 s) ${r.before}, after (2 s, then 10 s after 60 s) ${r.after}: ${(r.before / r.after).toFixed(2)}x fewer`);
}
await browser.close();
