#!/usr/bin/env node
// Drives the demo page end to end and saves screenshots.
//
//   node scripts/demo-shots.mjs <server-url> <out-dir>
//
// For a desktop (1280×800) and a phone (390×844) viewport: opens the demo,
// clicks "New orders", waits until every card is watching for real (a poll
// answered, a push channel open, a long-poll check held by the server),
// clicks "Pay all", waits until all five cards are paid (fails after 10 s),
// checks the console had no errors, and saves <out-dir>/demo-desktop.png and
// <out-dir>/demo-phone.png (full page). Prints each strategy's detection latency.
//
// Uses tests/e2e/chromium.mjs (playwright-core and the system Chromium).
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { launchChromium } from "../tests/e2e/chromium.mjs";


const STRATEGIES = ["interval", "poll", "long-poll", "sse", "websocket"];
const PAID_TIMEOUT_MS = 10_000;
const READY_TIMEOUT_MS = 15_000;

const [base, outArg] = process.argv.slice(2);
if (!base || !outArg) {
  console.error("usage: node scripts/demo-shots.mjs <server-url> <out-dir>");
  process.exit(2);
}
const outDir = resolve(outArg);
mkdirSync(outDir, { recursive: true });

const VIEWPORTS = [
  { name: "desktop", viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 },
  { name: "phone", viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true },
];

async function run(browser, { name, ...ctxOptions }) {
  const context = await browser.newContext(ctxOptions);
  const page = await context.newPage();
  const problems = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") problems.push(`console.error: ${msg.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));

  await page.goto(new URL("/", base).href, { waitUntil: "load" });
  await page.waitForSelector(".card[data-strategy]");
  const count = await page.locator(".card[data-strategy]").count();
  if (count !== STRATEGIES.length) throw new Error(`[${name}] expected ${STRATEGIES.length} cards, found ${count}`);

  await page.click("#new-orders");
  console.log(`[${name}] orders created; waiting until every card is watching…`);
  try {
    await page.waitForFunction(
      (n) => document.querySelectorAll('.card[data-seen="1"][data-status="pending"]').length === n,
      STRATEGIES.length,
      { timeout: READY_TIMEOUT_MS },
    );
  } catch {
    const state = await cardStates(page);
    throw new Error(`[${name}] not every card was watching within ${READY_TIMEOUT_MS} ms: ${JSON.stringify(state)}`);
  }

  await page.waitForTimeout(300); // the held long-poll check reaches the server
  await page.click("#pay-all");
  try {
    await page.waitForFunction(
      (n) => document.querySelectorAll('.card[data-status="paid"]').length === n,
      STRATEGIES.length,
      { timeout: PAID_TIMEOUT_MS },
    );
  } catch {
    const state = await cardStates(page);
    const notPaid = state.filter((c) => c.status !== "paid").map((c) => `${c.strategy}=${c.status}`);
    throw new Error(`[${name}] not paid within ${PAID_TIMEOUT_MS / 1000} s: ${notPaid.join(", ")}`);
  }
  // Let the final events (end, attempts) and the chart settle.
  await page.waitForFunction(
    () => [...document.querySelectorAll(".card .stats dd")].every((dd) => dd.textContent !== "—"),
    null,
    { timeout: 5_000 },
  ).catch(() => {});
  await page.waitForTimeout(600);

  // DEMO_DOOR=wechatpay: every card was marked by a signed notification.
  if (process.env.DEMO_DOOR === "wechatpay") {
    const doors = await page.evaluate(
      () => document.body.textContent.split("door: a signed WeChat Pay notification").length - 1,
    );
    if (doors < STRATEGIES.length) {
      throw new Error(`[${name}] ${doors} of ${STRATEGIES.length} cards say a WeChat Pay notification marked them`);
    }
  }

  const state = await cardStates(page);
  if (problems.length) throw new Error(`[${name}] the page logged errors:\n  ${problems.join("\n  ")}`);

  const file = join(outDir, `demo-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  await context.close();
  return { state, file };
}

function cardStates(page) {
  return page.$$eval(".card[data-strategy]", (cards) =>
    cards.map((c) => ({
      strategy: c.dataset.strategy,
      status: c.dataset.status,
      latency: c.dataset.latency ? Number(c.dataset.latency) : null,
      requests: c.querySelector(".stats div:nth-child(2) dd")?.textContent,
      attempts: c.querySelector(".stats div:nth-child(3) dd")?.textContent,
    })),
  );
}

const browser = await launchChromium();

let failed = false;
try {
  for (const vp of VIEWPORTS) {
    const { state, file } = await run(browser, vp);
    console.log(`${vp.name} (${vp.viewport.width}×${vp.viewport.height}) → ${file}`);
    for (const s of STRATEGIES) {
      const c = state.find((x) => x.strategy === s);
      console.log(
        `  ${s.padEnd(10)} ${c.status.padEnd(5)} latency ${String(c.latency).padStart(5)} ms` +
          `  requests ${c.requests}  attempts ${c.attempts}`,
      );
    }
  }
} catch (e) {
  failed = true;
  console.error(`demo-shots: ${e.message}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
