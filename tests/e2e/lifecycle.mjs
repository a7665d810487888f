#!/usr/bin/env node
// The page's real lifecycle, driven in headless Chromium against the real
// reference server (issue 7): the payer leaves for the wallet app and comes
// back (the page hidden and frozen, then resumed and visible again), the
// page goes into the back/forward cache and comes back, the network goes
// away and comes back. The fixture page is tests/e2e/lifecycle-page/.
//
// Exits non-zero on any failure; the last line is `lifecycle: N passed, M failed`.
// Env: PAYWATCH_SERVER_BIN (default target/debug/paywatch-server),
//      PAYWATCH_TEST_SERVER_FLAGS (default: tests/e2e/server-flags.mjs),
//      PAYWATCH_PKG (default pkg).
import { launchChromium } from "./chromium.mjs";
import { assert, suite } from "./harness.mjs";
import { setVisibility, startServer, sleep, waitFor } from "./lifecycle-server.mjs";

const STRATEGIES = ["interval", "poll", "long-poll", "sse", "websocket"];
const { test, finish } = suite("lifecycle");

const server = await startServer();
// Playwright turns the back/forward cache off by default; these tests need it.
const browser = await launchChromium({ ignoreDefaultArgs: ["--disable-back-forward-cache"] });
const context = await browser.newContext();

async function openPage() {
  const page = await context.newPage();
  await page.goto(`${server.url}/index.html`);
  await page.waitForFunction(() => window.ready === true);
  return page;
}

const log = (page) => page.evaluate(() => window.paywatchLog);


/// Waits until the server sees the watch settled in: connected, or its
/// first check answered.
async function watching(no, strategy) {
  const key = { sse: "sse_open", websocket: "ws_open", "long-poll": "long_poll_waiting" }[strategy];
  await waitFor(`${strategy} watching ${no}`, async () => {
    const s = await server.stats(no);
    return key ? s[key] >= 1 && (strategy === "long-poll" || s.checks >= 1) : s.checks >= 1 && s.in_flight === 0;
  });
}

for (const strategy of STRATEGIES) {
  await test(`${strategy}: paid while frozen, seen at once when the page comes back`, async () => {
    const page = await openPage();
    const cdp = await context.newCDPSession(page);
    const no = await server.create("frozen");
    // A 10 s interval: without the wake-up, polling would see it seconds later.
    await page.evaluate(([no, strategy]) => window.watchOrder(no, { strategy, intervalMs: 10_000 }), [no, strategy]);
    await watching(no, strategy);
    await setVisibility(page, "hidden");
    await cdp.send("Page.setWebLifecycleState", { state: "frozen" });
    await server.pay(no);
    await sleep(1500);
    await cdp.send("Page.setWebLifecycleState", { state: "active" });
    const back = Date.now();
    await setVisibility(page, "visible");
    await waitFor("onStatus", async () => (await log(page)).status.length === 1, 5000);
    const l = await log(page);
    const latency = l.status[0].at - back;
    assert(latency < 1000, `seen ${latency} ms after the page came back`);
    assert(l.kbn.length === 1, `analytics once: ${JSON.stringify(l.kbn)}`);
    await sleep(200);
    assert((await log(page)).status.length === 1, "onStatus once");
    await page.close();
  });
}

for (const strategy of ["poll", "sse", "websocket"]) {
  await test(`${strategy}: the page enters the back/forward cache and the watch resumes`, async () => {
    const page = await openPage();
    const cdp = await context.newCDPSession(page);
    const notUsed = [];
    await cdp.send("Page.enable");
    cdp.on("Page.backForwardCacheNotUsed", (e) => notUsed.push(e.notRestoredExplanations));
    const no = await server.create("bfcache");
    await page.evaluate(([no, strategy]) => window.watchOrder(no, { strategy }), [no, strategy]);
    await watching(no, strategy);
    await page.goto(`${server.url}/other.html`);
    // pagehide closed the connection and aborted any request.
    const away = await waitFor("the page to let go", async () => {
      const s = await server.stats(no);
      return s.sse_open === 0 && s.ws_open === 0 && s.in_flight === 0 && s;
    });
    await sleep(500);
    const quiet = await server.stats(no);
    assert(quiet.checks === away.checks, `no check while in the cache: ${away.checks} -> ${quiet.checks}`);
    await page.goBack({ waitUntil: "commit" });
    await waitFor("pageshow", async () => (await log(page)).shows.length >= 2, 5000);
    const shows = (await log(page)).shows;
    assert(shows[shows.length - 1].persisted === true, `restored from the back/forward cache: ${JSON.stringify(shows)} ${JSON.stringify(notUsed)}`);
    // It resumed with an immediate check, and watches on.
    await waitFor("a check after coming back", async () => (await server.stats(no)).checks > quiet.checks, 3000);
    await server.pay(no);
    await waitFor("paid", async () => (await log(page)).outcome?.status === "paid", 5000);
    const l = await log(page);
    assert(l.status.length === 1 && l.kbn.length === 1, `once: ${JSON.stringify(l)}`);
    assert(l.events.some((e) => e.kind === "pause" && e.detail === "pagehide"), "paused on pagehide");
    assert(l.events.some((e) => e.kind === "resume" && e.detail === "pageshow"), "resumed on pageshow");
    await page.close();
  });
}

await test("poll: offline pauses checks instead of burning retries; online checks at once", async () => {
  const page = await openPage();
  const no = await server.create("offline");
  await page.evaluate((no) => window.watchOrder(no, { strategy: "poll", intervalMs: 300 }), no);
  await watching(no, "poll");
  await context.setOffline(true);
  await sleep(200);
  const before = (await log(page)).events.filter((e) => e.kind === "check").length;
  await sleep(1500);
  const during = (await log(page)).events.filter((e) => e.kind === "check").length;
  assert(during === before, `no check while offline: ${before} -> ${during}`);
  await server.pay(no);
  const back = Date.now();
  await context.setOffline(false);
  await waitFor("onStatus", async () => (await log(page)).status.length === 1, 5000);
  const l = await log(page);
  const latency = l.status[0].at - back;
  assert(latency < 1000, `seen ${latency} ms after coming back online`);
  assert(l.events.some((e) => e.kind === "pause" && e.detail === "offline"), "paused while offline");
  await page.close();
});

await test("stop leaves no lifecycle listener behind", async () => {
  const page = await openPage();
  const no = await server.create("listeners");
  const cdp = await context.newCDPSession(page);
  const count = async () => {
    const { result } = await cdp.send("Runtime.evaluate", { expression: "window" });
    const w = await cdp.send("DOMDebugger.getEventListeners", { objectId: result.objectId });
    const { result: d } = await cdp.send("Runtime.evaluate", { expression: "document" });
    const doc = await cdp.send("DOMDebugger.getEventListeners", { objectId: d.objectId });
    return w.listeners.length + doc.listeners.length;
  };
  const idle = await count();
  await page.evaluate((no) => window.watchOrder(no, { strategy: "poll" }), no);
  await watching(no, "poll");
  assert((await count()) > idle, "listening while a watch runs");
  await server.pay(no);
  await waitFor("paid", async () => (await log(page)).outcome?.status === "paid", 5000);
  assert((await count()) === idle, "every listener removed when the last watch ended");
  await page.close();
});

await browser.close();
await server.stop();
finish();
