#!/usr/bin/env node
// Several paywatch-server instances behind a load balancer, fanning out
// through Redis (issue 13), all real and all on loopback: Debian's
// redis-server and haproxy (scripts/setup.sh installs both), started here on
// free ports with temp dirs and stopped after; two `paywatch-server --redis`
// instances behind haproxy (round-robin, config written here); headless
// Chromium loads the npm package through the balancer and watches orders
// with every strategy.
//
//   1. paid through the other instance (the one not holding the watch);
//   2. Redis restarted mid-watch;
//   3. an instance killed mid-watch: its clients reconnect through the
//      balancer to the other one.
//
// Every order: paid seen, hooks once, nothing missed.
//
// Exits non-zero on any failure; the last line is `cluster: N passed, M failed`.
// Env: PAYWATCH_SERVER_BIN (default target/debug/paywatch-server),
//      PAYWATCH_TEST_SERVER_FLAGS (default: tests/e2e/server-flags.mjs),
//      PAYWATCH_PKG (default pkg).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { launchChromium } from "./chromium.mjs";
import { assert, suite } from "./harness.mjs";
import { sleep, waitFor } from "./lifecycle-server.mjs";
import { testServerFlags } from "./server-flags.mjs";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
// Debian's packages (scripts/setup.sh); /usr/sbin is not on every PATH.
const tool = (name, ...dirs) => dirs.map((d) => join(d, name)).find((p) => existsSync(p)) || name;
const REDIS_SERVER = tool("redis-server", "/usr/bin", "/usr/sbin");
const HAPROXY = tool("haproxy", "/usr/sbin", "/usr/bin");
const STRATEGIES = ["interval", "poll", "long-poll", "sse", "websocket", "auto"];
const PUSH = ["long-poll", "sse", "websocket", "auto"];
// What each strategy is told on top of its defaults: quick polls; long
// holds, so that a long-poll sees a payment by being woken, not by asking
// again (which would hide a broken fan-out).
const OPTIONS = { intervalMs: 300, longPollWaitSec: 20 };

const { test, finish } = suite("cluster");
const children = new Set();
const dir = mkdtempSync(join(tmpdir(), "paywatch-cluster-"));


function freePort() {
  return new Promise((res) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function run(cmd, args, opts = {}) {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], ...opts });
  children.add(child);
  child.on("exit", () => children.delete(child));
  let out = "";
  child.stdout.on("data", (d) => { out += d; });
  child.stderr.on("data", (d) => { out += d; });
  child.output = () => out;
  return child;
}

function stop(child, signal = "SIGTERM") {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    child.once("exit", res);
    child.kill(signal);
  });
}

/// Resolves once something accepts TCP connections on the port.
function listening(port, what) {
  return waitFor(what, () => new Promise((res) => {
    const c = connect(port, "127.0.0.1");
    c.on("connect", () => { c.destroy(); res(true); });
    c.on("error", () => res(false));
  }), 10_000);
}

// --- Redis ------------------------------------------------------------------
const redisPort = await freePort();
let redis;
async function startRedis() {
  redis = run(REDIS_SERVER, [
    "--bind", "127.0.0.1", "--port", String(redisPort), "--dir", dir,
    "--save", "", "--appendonly", "yes", "--appendfsync", "always",
  ]);
  await listening(redisPort, "redis-server");
}
await startRedis();

// --- paywatch-server instances ------------------------------------------------
const bin = process.env.PAYWATCH_SERVER_BIN || "target/debug/paywatch-server";
const pkg = process.env.PAYWATCH_PKG || "pkg";
async function startInstance(name) {
  const child = run(isAbsolute(bin) ? bin : join(root, bin), [
    "--host", "127.0.0.1", "--port", "0",
    "--www", join(root, "tests/e2e/lifecycle-page"),
    "--pkg", isAbsolute(pkg) ? pkg : join(root, pkg),
    "--redis", `redis://127.0.0.1:${redisPort}`,
    ...testServerFlags(),
  ]);
  const url = await waitFor(`${name} listening`, () => child.output().match(/listening on (http:\/\/\S+)/)?.[1]);
  const api = async (method, path, body) => {
    const res = await fetch(url + path, {
      method,
      headers: body ? { "content-type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  };
  return {
    name, child, url, port: Number(new URL(url).port), api,
    /// Open waiters on this instance for the order (long-poll, SSE, WS).
    holds: async (no) => {
      const { body: s } = await api("GET", `/_test/orders/${encodeURIComponent(no)}/stats`);
      return s.long_poll_waiting + s.sse_open + s.ws_open;
    },
    /// Pays, retrying while the store answers 503 (Redis coming back).
    pay: async (no) => {
      for (const end = Date.now() + 10_000; ;) {
        const r = await api("POST", `/orders/${encodeURIComponent(no)}/pay`);
        if (r.status === 200) return r.body;
        if (r.status !== 503 || Date.now() > end) throw new Error(`pay ${no} on ${name}: ${r.status} ${JSON.stringify(r.body)}`);
        await sleep(100);
      }
    },
  };
}
const a = await startInstance("A");
const b = await startInstance("B");
const instances = [a, b];

// --- haproxy ------------------------------------------------------------------
// Round-robin per request; `timeout tunnel` for WebSocket; health checks
// every 200 ms, so a dead instance leaves the rotation within ~0.5 s, and a
// request whose connection is refused meanwhile is sent to the other one.
const lbPort = await freePort();
const cfg = join(dir, "haproxy.cfg");
writeFileSync(cfg, `global
  maxconn 2000
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  timeout tunnel 1h
  timeout http-request 10s
  option redispatch
  retries 2
frontend paywatch
  bind 127.0.0.1:${lbPort}
  default_backend instances
backend instances
  balance roundrobin
  default-server check inter 200ms fall 1 rise 2
${instances.map((i) => `  server ${i.name} 127.0.0.1:${i.port}`).join("\n")}
`);
const haproxy = run(HAPROXY, ["-f", cfg, "-db"]);
await listening(lbPort, "haproxy");
const lb = `http://127.0.0.1:${lbPort}`;
// Orders are created through the balancer, like a checkout would.
let n = 0;
async function create(prefix) {
  const res = await fetch(`${lb}/orders`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ order_no: `${prefix}-${Date.now()}-${++n}` }),
  });
  assert(res.status === 201, `create: ${res.status}`);
  return (await res.json()).order_no;
}

// --- the browser ----------------------------------------------------------------
const browser = await launchChromium();
const context = await browser.newContext();

async function watch(no, strategy) {
  const page = await context.newPage();
  await page.goto(`${lb}/index.html`);
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate(([no, options]) => window.watchOrder(no, options), [no, { strategy, ...OPTIONS }]);
  return page;
}

const log = (page) => page.evaluate(() => window.paywatchLog);

/// Which instances hold an open waiter for the order now.
async function holders(no) {
  const live = instances.filter((i) => i.child.exitCode === null && i.child.signalCode === null);
  const counts = await Promise.all(live.map((i) => i.holds(no)));
  return live.filter((_, k) => counts[k] > 0);
}

/// Waits for the watch to settle in: a push strategy holds a waiter on
/// some instance (returned); a polling one has made its first checks.
async function settled(page, no, strategy) {
  if (PUSH.includes(strategy)) {
    const [holder] = await waitFor(`${strategy} waiter for ${no}`, async () => {
      const h = await holders(no);
      return h.length > 0 && h;
    });
    // Let the catch-up check of the (re)open be answered first: from here
    // on only the push itself can tell the page.
    await sleep(500);
    return holder;
  }
  await sleep(2 * OPTIONS.intervalMs);
  return null;
}

/// Paid seen, onStatus and the analytics hook once, nothing else.
async function paidOnce(page, what) {
  await waitFor(`${what}: paid`, async () => (await log(page)).outcome?.status === "paid", 10_000);
  await sleep(300);
  const l = await log(page);
  assert(l.outcome.status === "paid", `${what}: outcome ${JSON.stringify(l.outcome)}`);
  assert(l.status.length === 1 && l.status[0].s === 3, `${what}: onStatus once: ${JSON.stringify(l.status)}`);
  assert(l.kbn.length === 1, `${what}: analytics once: ${JSON.stringify(l.kbn)}`);
}

try {
  for (const [turn, strategy] of STRATEGIES.entries()) {
    await test(`${strategy}: watched through the balancer, paid through the other instance`, async () => {
      const no = await create(`other-${strategy}`);
      const page = await watch(no, strategy);
      const holder = await settled(page, no, strategy);
      // Pay where the watch is not (for polling: on each instance in turn).
      const payer = holder ? instances.find((i) => i !== holder) : instances[turn % 2];
      await payer.pay(no);
      await paidOnce(page, strategy);
      await page.close();
    });
  }

  await test("Redis restarted mid-watch: every strategy sees the payment made after, once", async () => {
    const watches = [];
    for (const strategy of STRATEGIES) {
      const no = await create(`redis-${strategy}`);
      const page = await watch(no, strategy);
      await settled(page, no, strategy);
      watches.push({ no, strategy, page });
    }
    await stop(redis);
    // While Redis is down, a status check answers 503 with Retry-After.
    const down = await fetch(`${lb}/pay?action=check_pay_status_by_order&order_no=${encodeURIComponent(watches[0].no)}`);
    assert(down.status === 503 && down.headers.get("retry-after") === "1", `while Redis is down: ${down.status} ${down.headers.get("retry-after")}`);
    await sleep(1000);
    await startRedis();
    for (const [k, w] of watches.entries()) await instances[k % 2].pay(w.no);
    for (const w of watches) await paidOnce(w.page, w.strategy);
    await Promise.all(watches.map((w) => w.page.close()));
  });

  await test("an instance killed mid-watch: its clients reconnect through the balancer, every order paid once", async () => {
    const watches = [];
    // Two of each push strategy: the balancer spreads them over A and B.
    for (const strategy of [...PUSH, ...PUSH, "poll"]) {
      const no = await create(`kill-${strategy}`);
      const page = await watch(no, strategy);
      await settled(page, no, strategy);
      watches.push({ no, strategy, page });
    }
    const onA = (await Promise.all(watches.map((w) => a.holds(w.no)))).filter((c) => c > 0).length;
    const onB = (await Promise.all(watches.map((w) => b.holds(w.no)))).filter((c) => c > 0).length;
    const [victim, survivor] = onA >= onB ? [a, b] : [b, a];
    const cut = Math.max(onA, onB);
    assert(cut > 0, "some watch is held by the instance to kill");
    const t = Date.now();
    await stop(victim.child, "SIGKILL");
    // Every watch held by the victim moves to the survivor.
    await waitFor("the watches to reconnect to the survivor", async () => {
      const counts = await Promise.all(watches.filter((w) => w.strategy !== "poll").map((w) => survivor.holds(w.no)));
      return counts.every((c) => c > 0);
    }, 15_000);
    console.log(`     ${cut} watch(es) moved from ${victim.name} to ${survivor.name} in ${Date.now() - t} ms`);
    for (const w of watches) await survivor.pay(w.no);
    for (const w of watches) await paidOnce(w.page, `${w.strategy} after the kill`);
    await Promise.all(watches.map((w) => w.page.close()));
  });
} finally {
  await browser.close().catch(() => {});
  for (const child of [...children]) await stop(child);
  void haproxy;
  rmSync(dir, { recursive: true, force: true });
}

finish();
