#!/usr/bin/env node
// Cross-tab figures (issue 10), with tabs of one headless Chromium browser
// context against a reference server on a free 127.0.0.1 port:
//  1. double fires: RUNS two-tab runs (default 200) where the server pushes
//     "paid" to both tabs' WebSockets at once; how many fired the analytics
//     twice (or not at all). Again without Web Locks (the fallback).
//  2. requests per minute of N tabs watching one order with `poll` and the
//     default options (intervalMs 2000), over WINDOW_SEC (default 60) — the
//     N = 1, 2, 4 groups and a crossTab: false group of 4 at the same time,
//     each in its own browser context.
//  3. leader hand-over: HANDOVERS times (default 10) the leader tab closes,
//     and 5 times its main thread hangs; from then until the follower leads
//     and until its first check.
// Usage: node scripts/bench-crosstab.mjs   (env: RUNS, WINDOW_SEC, HANDOVERS,
// PAYWATCH_SERVER_BIN, PAYWATCH_PKG, CHROMIUM)
import { launchChromium } from "../tests/e2e/chromium.mjs";
import {
  createOrder,
  eventAt,
  newTab,
  openTab,
  seen,
  simultaneousPush,
  sleep,
  startServer,
  stats,
  tabUrl,
  waitFor,
} from "../tests/e2e/tabs.mjs";

const RUNS = Number(process.env.RUNS || 200);
const WINDOW_SEC = Number(process.env.WINDOW_SEC || 60);
const HANDOVERS = Number(process.env.HANDOVERS || 10);

const server = await startServer();
const browser = await launchChromium();
const say = (s) => console.log(s);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (xs) => `median ${median(xs)} ms, min ${Math.min(...xs)} ms, max ${Math.max(...xs)} ms (n=${xs.length})`;

try {
  // 1. Simultaneous push.
  for (const [what, options] of [
    ["with Web Locks", {}],
    ["without Web Locks (earliest-bid fallback)", { nolocks: "1" }],
  ]) {
    const context = await browser.newContext();
    const pages = [await newTab(context), await newTab(context)];
    const fired = { 0: 0, 1: 0, 2: 0 };
    const t = performance.now();
    for (let i = 0; i < RUNS; i++) {
      const r = await simultaneousPush(server, context, pages, options);
      fired[Math.min(r.fired, 2)]++;
    }
    await context.close();
    say(`simultaneous push to two tabs, ${what}: ${RUNS} runs, analytics fired twice in ${fired[2]}, once in ${fired[1]}, never in ${fired[0]} (${((performance.now() - t) / 1000).toFixed(0)} s)`);
  }

  // 2. Requests per minute.
  const groups = [
    { tabs: 1, options: {} },
    { tabs: 2, options: {} },
    { tabs: 4, options: {} },
    { tabs: 4, options: { crossTab: "false" } },
  ];
  for (const g of groups) {
    g.context = await browser.newContext();
    g.no = await createOrder(server);
    const url = tabUrl(server, g.no, { intervalMs: "2000", ...g.options });
    for (let i = 0; i < g.tabs; i++) await openTab(g.context, url);
  }
  await sleep(3000); // elections done, every tab past its first check
  for (const g of groups) g.before = (await stats(server, g.no)).checks;
  await sleep(WINDOW_SEC * 1000);
  for (const g of groups) {
    const checks = (await stats(server, g.no)).checks - g.before;
    const perMin = ((checks * 60) / WINDOW_SEC).toFixed(1);
    const label = g.options.crossTab === "false" ? `${g.tabs} tabs, crossTab: false` : `${g.tabs} tab${g.tabs > 1 ? "s" : ""}`;
    say(`poll, intervalMs 2000, ${label}: ${checks} checks in ${WINDOW_SEC} s = ${perMin} requests per minute`);
    await g.context.close();
  }

  // 3. Hand-over.
  const closeLead = [];
  const closeCheck = [];
  const hangLead = [];
  for (let i = 0; i < HANDOVERS + 5; i++) {
    const hang = i >= HANDOVERS;
    const context = await browser.newContext();
    const no = await createOrder(server);
    const url = tabUrl(server, no, { intervalMs: "2000" });
    const a = await openTab(context, url);
    await waitFor("A leads", () => a.evaluate(() => window.events.some((e) => e.kind === "lead")));
    const b = await openTab(context, url);
    await waitFor("B follows", () => b.evaluate(() => window.events.some((e) => e.kind === "follow")));
    await sleep(500 + Math.random() * 1000); // anywhere in the heartbeat cycle
    const t0 = Date.now();
    let stuck;
    if (hang) {
      stuck = a.evaluate(() => {
        const end = Date.now() + 6000;
        while (Date.now() < end);
      });
    } else {
      await a.close();
    }
    await waitFor("B leads", () => eventAt(b, "lead"), 10_000);
    if (hang) {
      hangLead.push((await eventAt(b, "lead")) - t0);
      await stuck;
    } else {
      await waitFor("B checks", async () => (await seen(b)).checks > 0, 5000);
      closeLead.push((await eventAt(b, "lead")) - t0);
      closeCheck.push((await eventAt(b, "check")) - t0);
    }
    await context.close();
  }
  say(`hand-over, leader tab closed: the follower leads after ${fmt(closeLead)}; its first check after ${fmt(closeCheck)}`);
  say(`hand-over, leader tab hung (no heartbeat): the follower leads after ${fmt(hangLead)}`);
} finally {
  await browser.close();
  await server.stop();
}
