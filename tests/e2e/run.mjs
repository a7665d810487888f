#!/usr/bin/env node
// Page-level tests of the npm package, the way front-end teams use it:
//
//  1. `npm pack` the built pkg/ into .out/ and install that tarball into two
//     fixtures: plain/ (a static page importing /node_modules/paywatch/index.js,
//     no bundler, no init call) and vite-app/ (Vite + React + TypeScript using
//     `paywatch/react`).
//  2. `tsc --noEmit` (strict) on vite-app/src, types-check.ts included.
//  3. `vite build` twice: production (dist/) and NODE_ENV=development
//     (dist-dev/, where StrictMode double-mounts effects).
//  4. Reference servers (--test-hooks) on free 127.0.0.1 ports serve each
//     fixture; each browser engine (engines.mjs: Chromium through
//     playwright-core, WebKit and Firefox through their WebDriver servers)
//     opens the pages; the test creates orders, pays them and reads the
//     server's /_test/ stats.
//
// Exits non-zero on any failure; prints `e2e engines: chromium 12/12, …` and
// last `e2e: N passed, M failed`.
// Env: PAYWATCH_SERVER_BIN (default target/debug/paywatch-server),
//      PAYWATCH_PKG (the package directory to pack, default pkg),
//      E2E_ENGINES (default chromium,webkit,firefox; WebKit needs a display:
//      run under xvfb-run -a), CHROMIUM (default /usr/bin/chromium).
import { assert, suite } from "./harness.mjs";
import { serverBinary, spawnServer } from "./server.mjs";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const outDir = join(here, ".out");
const plainDir = join(here, "plain");
const appDir = join(here, "vite-app");
const started = performance.now();

const serverBin = serverBinary();

const cleanups = [];
// Per engine: [passed, run].
const perEngine = {};
let currentEngine = null;

function log(msg) {
  console.log(`[e2e] ${msg}`);
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", ...opts });
  if (r.status !== 0) {
    const detail = `${r.stdout || ""}${r.stderr || ""}`.trim();
    throw new Error(`${cmd} ${args.join(" ")} (in ${opts.cwd || process.cwd()}) failed (${r.status ?? r.signal}):\n${detail}`);
  }
  return r.stdout;
}

// npm warns about user config it does not know on some machines; keep the
// output to what matters.
function npm(args, cwd) {
  return run("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], { cwd });
}

// The shared runner (harness.mjs), counting per engine as well.
const e2e = suite("e2e", { only: "" });
async function test(name, fn, timeoutMs = 30_000) {
  const ok = await e2e.test(name, fn, timeoutMs);
  if (currentEngine) {
    perEngine[currentEngine][1]++;
    if (ok) perEngine[currentEngine][0]++;
  }
}

// Objects compare with their keys in any order: WebDriver hands page
// values back with keys sorted (Firefox) or in its own order (WebKit).
function canonical(v) {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  return v;
}

function assertEqual(actual, expected, what) {
  const a = JSON.stringify(canonical(actual));
  const e = JSON.stringify(canonical(expected));
  if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}

async function waitFor(what, fn, timeoutMs = 10_000, everyMs = 25) {
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

// ---------------------------------------------------------------- setup

// Two runs at once (say `make test` and a run by hand) would share .out/ and
// the fixtures' node_modules/paywatch: the second waits for the first.
async function lock() {
  const file = join(here, ".lock");
  const end = Date.now() + 180_000;
  let waiting = false;
  for (;;) {
    try {
      writeFileSync(file, String(process.pid), { flag: "wx" });
      cleanups.unshift(() => rmSync(file, { force: true }));
      return;
    } catch (e) {
      if (e.code !== "EEXIST") throw e;
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(file, "utf8")) || 0;
    } catch {
      continue; // released meanwhile
    }
    if (!holder) {
      await sleep(100); // being written
      continue;
    }
    let alive = false;
    try {
      process.kill(holder, 0);
      alive = true;
    } catch (e) {
      alive = e.code === "EPERM"; // else not running: a stale lock
    }
    if (!alive) {
      rmSync(file, { force: true });
      continue;
    }
    if (Date.now() > end) throw new Error(`another run (pid ${holder}) holds ${file}`);
    if (!waiting) log(`waiting for another run (pid ${holder}) to finish`);
    waiting = true;
    await sleep(500);
  }
}

// A fixture's dependencies from its lockfile, only when missing or stale.
function ensureDeps(dir) {
  if (!existsSync(join(dir, "package-lock.json"))) return;
  const hidden = join(dir, "node_modules", ".package-lock.json");
  if (existsSync(hidden) && statSync(hidden).mtimeMs >= statSync(join(dir, "package-lock.json")).mtimeMs) return;
  log(`npm ci in ${dir.slice(root.length + 1)}`);
  npm(["ci"], dir);
}

function packPkg() {
  const pkgDir = process.env.PAYWATCH_PKG ? resolve(process.env.PAYWATCH_PKG) : join(root, "pkg");
  for (const f of ["package.json", "index.js", "react.js", "paywatch_bg.wasm"]) {
    if (!existsSync(join(pkgDir, f))) throw new Error(`pkg/${f} is missing: build the package first (make pkg)`);
  }
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const info = JSON.parse(npm(["pack", pkgDir, "--pack-destination", outDir, "--json"], outDir));
  return { tarball: join(outDir, info[0].filename), files: info[0].files.map((f) => f.path) };
}

function installTarball(dir, tarball) {
  rmSync(join(dir, "node_modules", "paywatch"), { recursive: true, force: true });
  // --no-save leaves package.json and package-lock.json as committed; a
  // fixture without a lockfile gets none.
  const noLock = existsSync(join(dir, "package-lock.json")) ? [] : ["--no-package-lock"];
  npm(["install", "--no-save", ...noLock, tarball], dir);
}

function sizes(tarball) {
  const installed = join(appDir, "node_modules", "paywatch");
  const raw = (f) => readFileSync(join(installed, f));
  const gz = (buf) => gzipSync(buf, { level: 9 }).length;
  const wasm = raw("paywatch_bg.wasm");
  const js = ["index.js", "react.js"].map(raw);
  const jsRaw = js.reduce((n, b) => n + b.length, 0);
  const jsGz = js.reduce((n, b) => n + gz(b), 0);
  return {
    tarball: statSync(tarball).size,
    wasmRaw: wasm.length,
    wasmGz: gz(wasm),
    jsRaw,
    jsGz,
    jsEach: ["index.js", "react.js"].map((f, i) => `${f} ${js[i].length}/${gz(js[i])}`).join(", "),
  };
}

// ---------------------------------------------------------------- servers

// Pages here pay same-origin through the demo endpoints; every request comes
// from 127.0.0.1, so the per-address limits are set out of reach.

async function startServer(www) {
  const server = await spawnServer({ www });
  cleanups.push(server.stop);
  return server;
}

async function api(server, method, path, body) {
  const res = await fetch(server.url + path, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const createOrder = async (server) => (await api(server, "POST", "/orders", {})).order_no;
const payOrder = (server, no) => api(server, "POST", `/orders/${encodeURIComponent(no)}/pay`);
const stats = (server, no) => api(server, "GET", `/_test/orders/${encodeURIComponent(no)}/stats`);

// Checks of the order stop: read the count, wait, read again.
async function assertChecksStopped(server, no, settleMs = 250, watchMs = 1000) {
  await sleep(settleMs);
  const before = await stats(server, no);
  await sleep(watchMs);
  const after = await stats(server, no);
  assertEqual(after.checks, before.checks, `checks of ${no} over ${watchMs} ms after the watch ended`);
  assertEqual([after.in_flight, after.sse_open, after.ws_open], [0, 0, 0], "requests / push connections still open");
}

// ---------------------------------------------------------------- browser

// A page in one engine (engines.mjs): text, eval, click, close, and
// assertClean: no console error/warning and no page error.
async function openPage(browser, url) {
  const page = await browser.open(url);
  return {
    ...page,
    async assertClean() {
      assertEqual(await page.problems(), [], `console errors/warnings and page errors (${browser.name})`);
    },
  };
}

const LABEL = { 1: "pc评价页牌匾扫码支付成功", 2: "pc评价页报告扫码支付成功" };
const EVENT = { 1: 5357, 2: 5358 };
const PAY_STATUS = { 1: 3, 2: 4 };

// The order is being watched, one request at a time.
async function watching(server, no, minChecks = 2) {
  const s = await waitFor(`${minChecks} checks of ${no}`, async () => {
    const s = await stats(server, no);
    return s.checks >= minChecks || s.sse_open > 0 ? s : null;
  });
  assert(s.max_in_flight <= 1, `at most one check in flight (max_in_flight ${s.max_in_flight})`);
  return s;
}

async function plainPaid(browser, server, { type, strategy }) {
  const no = await createOrder(server);
  const p = await openPage(browser, `${server.url}/?order=${encodeURIComponent(no)}&type=${type}&strategy=${strategy}`);
  try {
    await watching(server, no, strategy === "poll" ? 2 : 1);
    assertEqual(await p.eval(() => window.activeWatches()), 1, "activeWatches() while watching");
    assertEqual(await p.text("#pay-status"), "waiting", "payStatus before paying");
    await payOrder(server, no);
    await waitFor("outcome rendered", async () => (await p.text("#outcome")) === "paid");
    assertEqual(await p.text("#pay-status"), String(PAY_STATUS[type]), "rendered payStatus");
    await assertChecksStopped(server, no, 200, 700);
    const seen = await p.eval(() => ({ calls: window.anaCalls, status: window.statusCalls, outcome: window.outcome, active: window.activeWatches() }));
    assertEqual(seen.calls.kbn, [LABEL[type]], "window.kbnClickAna calls");
    assertEqual(seen.calls.fire, [EVENT[type]], "window.PinganAna.fire calls");
    assertEqual(seen.status, [PAY_STATUS[type]], "onStatus calls");
    assertEqual(
      [seen.outcome.status, seen.outcome.orderNo, seen.outcome.type, seen.outcome.payStatus],
      ["paid", no, type, PAY_STATUS[type]],
      "outcome",
    );
    assertEqual(seen.active, 0, "activeWatches() after paid");
    await p.assertClean();
  } finally {
    await p.close();
  }
}

// A browser that lacks what paywatch needs: init() and checkPayStatus reject
// with a PayWatchError naming the missing feature, and nothing is requested.
async function unsupportedBrowser(browser, server) {
  const cases = [
    // [what the page takes away, strategy, feature named, init rejects]
    ["WebAssembly", "poll", "WebAssembly", true],
    ["wasm-features", "poll", "WebAssembly reference types", true],
    ["AbortController", "poll", "AbortController", true],
    ["fetch", "poll", "fetch", true],
    ["EventSource", "sse", "EventSource", false],
    ["WebSocket", "websocket", "WebSocket", false],
  ];
  for (const [remove, strategy, feature, initRejects] of cases) {
    const no = await createOrder(server);
    const p = await openPage(browser, `${server.url}/unsupported.html?remove=${remove}&strategy=${strategy}&order=${encodeURIComponent(no)}`);
    try {
      const r = await waitFor(`the page's result (${remove})`, () => p.eval(() => window.result));
      assertEqual(r.import, undefined, `importing the package without ${remove}`);
      const rejection = (orderNo) => ({
        error: true,
        name: "PayWatchError",
        kind: "unsupported",
        feature,
        orderNo,
        message: `paywatch: this browser lacks ${feature}, which paywatch needs; supported: Chrome/Edge 96, Firefox 79, Safari 15 (iOS 15) or newer`,
      });
      assertEqual(r.init, initRejects ? rejection("") : "resolved", `init() without ${remove}`);
      assertEqual(r.check, rejection(no), `checkPayStatus without ${remove}`);
      assertEqual(r.active, 0, `activeWatches() without ${remove}`);
      const s = await stats(server, no);
      assertEqual([s.checks, s.sse_connects, s.ws_connects], [0, 0, 0], `requests for ${no} without ${remove}`);
    } finally {
      await p.close();
    }
  }
}

// Vite app, scenario "pay": the seed page migrated to usePayStatus.
async function vitePaid(browser, server, build) {
  const type = 2;
  const no = await createOrder(server);
  const p = await openPage(browser, `${server.url}/?scenario=pay&order=${encodeURIComponent(no)}&type=${type}`);
  try {
    await watching(server, no, 3);
    // StrictMode (development build) mounted, unmounted and mounted again:
    // exactly one watch runs.
    assertEqual(await p.eval(() => window.activeWatches()), 1, `activeWatches() while watching (${build})`);
    assertEqual(await p.text("#pay-status"), "waiting", "payStatus before paying");
    assertEqual(await p.text("#outcome"), "watching", "outcome before paying");
    await payOrder(server, no);
    await waitFor("outcome rendered", async () => (await p.text("#outcome")) === "paid via poll");
    assertEqual(await p.text("#pay-status"), String(PAY_STATUS[type]), "hook payStatus rendered");
    assertEqual(await p.text("#page-status"), String(PAY_STATUS[type]), "page payStatus (onStatus: setPayStatus) rendered");
    await assertChecksStopped(server, no, 200, 700);
    const seen = await p.eval(() => ({
      calls: window.anaCalls,
      pageStatus: window.pageStatusCalls,
      active: window.activeWatches(),
      mounts: window.mountEffects,
    }));
    // Proves StrictMode did (development) or did not (production) run the
    // mount effect twice.
    assertEqual(seen.mounts, build === "production" ? 1 : 2, "mount effects run");
    assertEqual(seen.calls.kbn, [LABEL[type]], "window.kbnClickAna calls");
    assertEqual(seen.calls.fire, [EVENT[type]], "window.PinganAna.fire calls");
    assertEqual(seen.pageStatus.filter((s) => s !== null), [PAY_STATUS[type]], "page payStatus changes");
    assertEqual(seen.active, 0, "activeWatches() after paid");
    await p.assertClean();
  } finally {
    await p.close();
  }
}

// Vite app, scenario "pay" + the hook's stop(): outcome cancelled, checks stop.
async function viteStop(browser, server) {
  const no = await createOrder(server);
  const p = await openPage(browser, `${server.url}/?scenario=pay&order=${encodeURIComponent(no)}&type=1`);
  try {
    await watching(server, no, 2);
    await p.click("#stop");
    await waitFor("cancelled outcome rendered", async () => (await p.text("#outcome")) === "cancelled via poll");
    await assertChecksStopped(server, no);
    assertEqual(await p.eval(() => window.activeWatches()), 0, "activeWatches() after stop()");
    await p.assertClean();
  } finally {
    await p.close();
  }
}

// Vite app, scenario "unmount": the watching component is removed mid-watch.
async function viteUnmount(browser, server) {
  const no = await createOrder(server);
  const p = await openPage(browser, `${server.url}/?scenario=unmount&order=${encodeURIComponent(no)}&type=1`);
  try {
    await p.click("#start");
    await watching(server, no, 3);
    assertEqual(await p.eval(() => window.activeWatches()), 1, "activeWatches() while watching");
    await p.click("#toggle");
    await waitFor("dialog unmounted", async () => (await p.text("#closed")) === "closed");
    await assertChecksStopped(server, no, 250, 1000);
    assertEqual(await p.eval(() => window.activeWatches()), 0, "activeWatches() after unmount");
    // Paying now reaches nobody: no hook, no analytics, no state.
    await payOrder(server, no);
    await sleep(400);
    const seen = await p.eval(() => ({ calls: window.anaCalls, pageStatus: window.pageStatusCalls }));
    assertEqual(seen, { calls: { kbn: [], fire: [] }, pageStatus: [] }, "callbacks after unmount");
    const after = await stats(server, no);
    await sleep(300);
    assertEqual((await stats(server, no)).checks, after.checks, "checks after paying the unwatched order");
    await p.assertClean();
  } finally {
    await p.close();
  }
}

// `vite dev` (no optimizeDeps config): the dependency pre-bundler must keep
// the glue's `new URL("paywatch_bg.wasm", import.meta.url)` pointing at the
// real file. `/pay` is proxied to a reference server.
async function viteDev(browser, backend) {
  const viteEntry = JSON.parse(readFileSync(join(appDir, "node_modules", "vite", "package.json"), "utf8")).exports["."];
  const { createServer } = await import(pathToFileURL(join(appDir, "node_modules", "vite", viteEntry)).href);
  const dev = await createServer({
    root: appDir,
    configFile: join(appDir, "vite.config.js"),
    server: { host: "127.0.0.1", port: 0, strictPort: false, hmr: false, proxy: { "/pay": backend.url } },
    optimizeDeps: { force: true },
    logLevel: "error",
  });
  cleanups.push(() => dev.close());
  await dev.listen();
  const url = dev.resolvedUrls.local[0].replace(/\/$/, "");
  const no = await createOrder(backend);
  const p = await openPage(browser, `${url}/?scenario=pay&order=${encodeURIComponent(no)}&type=1`);
  try {
    await watching(backend, no, 2);
    await payOrder(backend, no);
    await waitFor("outcome rendered", async () => (await p.text("#outcome")) === "paid via poll");
    assertEqual(await p.text("#pay-status"), String(PAY_STATUS[1]), "hook payStatus rendered");
    const seen = await p.eval(() => ({ calls: window.anaCalls, mounts: window.mountEffects }));
    assertEqual(seen, { calls: { kbn: [LABEL[1]], fire: [EVENT[1]] }, mounts: 2 }, "analytics calls and StrictMode mounts");
    await p.assertClean();
  } finally {
    await p.close();
    await dev.close();
  }
}

// ---------------------------------------------------------------- main

async function main() {
  if (!existsSync(serverBin)) throw new Error(`no server binary at ${serverBin} (cargo build -p paywatch-server, or set PAYWATCH_SERVER_BIN)`);

  await lock();
  ensureDeps(here);
  ensureDeps(appDir);
  const { launch, enginesFrom } = await import("./engines.mjs");
  const engines = enginesFrom(process.env.E2E_ENGINES);

  const { tarball, files } = packPkg();
  log(`packed ${tarball.slice(root.length + 1)}: ${files.join(", ")}`);
  installTarball(plainDir, tarball);
  installTarball(appDir, tarball);

  await test("package: the tarball holds exactly the entries, their types, the wasm, the mini-program build, README, changelog and licenses", async () => {
    const intended = [
      "CHANGELOG.md", "LICENSE-APACHE", "LICENSE-MIT", "README.md", "index.d.ts", "index.js",
      "miniprogram.d.ts", ...["event-source.js", "events.js", "host.js", "index.js", "miniprogram.js", "package.json",
        "page.js", "paywatch.js", "paywatch_bg.wasm.br", "request.js", "socket.js", "text.js"].map((f) => `miniprogram_dist/${f}`),
      "package.json", "paywatch_bg.wasm", "paywatch_bg.wasm.d.ts", "react.d.ts", "react.js",
    ];
    assertEqual([...files].sort(), intended, "files in the tarball");
    const pkg = JSON.parse(readFileSync(join(appDir, "node_modules", "paywatch", "package.json"), "utf8"));
    assertEqual(pkg.exports["./react"], { types: "./react.d.ts", default: "./react.js" }, "exports['./react']");
    assertEqual(pkg.peerDependenciesMeta?.react?.optional, true, "react is an optional peer");
    const main = readFileSync(join(appDir, "node_modules", "paywatch", "index.js"), "utf8");
    // (The entry is minified: `from"react"` has no space.)
    assert(!/from\s*["']react["']/.test(main), "the main entry imports react");
    assertEqual(pkg.license, "MIT OR Apache-2.0", "license");
    assert(!("repository" in pkg), `no placeholder repository: ${JSON.stringify(pkg.repository)}`);
    // The README reads on its own: no image, no link into the repository.
    const readme = readFileSync(join(appDir, "node_modules", "paywatch", "README.md"), "utf8");
    const local = [...readme.matchAll(/!?\[[^\]]*\]\(([^)]*)\)/g)].filter(([all, to]) => all.startsWith("!") || !/^(https?:\/\/|#)/.test(to));
    assertEqual(local.map(([all]) => all), [], "images and repository links in the package README");
    assert(readme.includes("## Supported browsers"), "the package README states the supported browsers");
    // The entry probes for exactly the WebAssembly features the .wasm uses.
    const { usedFeatures } = await import("../../scripts/wasm-features.mjs");
    const used = Object.keys(usedFeatures(join(appDir, "node_modules", "paywatch", "paywatch_bg.wasm"))).sort();
    const probed = [...main.matchAll(/\["([^"]+)",\s*\[/g)].map((m) => m[1]).sort();
    assertEqual(probed, used, "WebAssembly features index.js probes for (expected: those paywatch_bg.wasm uses)");
  });

  await test("types: tsc --noEmit (strict) on the Vite app and types-check.ts", async () => {
    run(join(appDir, "node_modules", ".bin", "tsc"), ["--noEmit", "-p", "."], { cwd: appDir });
  });

  const vite = join(appDir, "node_modules", "vite", "bin", "vite.js");
  for (const [build, env] of [
    ["dist", "production"],
    ["dist-dev", "development"],
  ]) {
    await test(`vite build (NODE_ENV=${env}) emits the wasm as an asset`, async () => {
      run(process.execPath, [vite, "build"], { cwd: appDir, env: { ...process.env, NODE_ENV: env } });
      const assets = readdirSync(join(appDir, build, "assets"));
      assert(assets.some((f) => f.endsWith(".wasm")), `no .wasm in ${build}/assets: ${assets.join(", ")}`);
    });
  }

  const plain = await startServer(plainDir);
  const app = await startServer(join(appDir, "dist"));
  const appDev = await startServer(join(appDir, "dist-dev"));
  log(`servers: plain ${plain.url}, vite ${app.url}, vite (development) ${appDev.url}`);

  for (const engine of engines) {
    log(`engine ${engine}`);
    perEngine[engine] = [0, 0];
    currentEngine = engine;
    let browser = null;
    await test(`[${engine}] launch`, async () => {
      browser = await launch(engine);
    });
    if (!browser) continue;
    const closeBrowser = () => browser.close();
    cleanups.push(closeBrowser);
    const t = (name, fn) => test(`[${engine}] ${name}`, () => fn(browser));
    await t("plain page (poll, type 1): paid, rendered, analytics once", (b) => plainPaid(b, plain, { type: 1, strategy: "poll" }));
    await t("plain page (sse, type 2): paid, rendered, analytics once", (b) => plainPaid(b, plain, { type: 2, strategy: "sse" }));
    await t("a browser without WebAssembly, a wasm feature, fetch, AbortController, EventSource or WebSocket: PayWatchError names it", (b) =>
      unsupportedBrowser(b, plain),
    );
    for (const [server, build] of [
      [app, "production"],
      [appDev, "development, StrictMode double mount"],
    ]) {
      await t(`vite app (${build}): usePayStatus paid, rendered, analytics once`, (b) => vitePaid(b, server, build));
      await t(`vite app (${build}): stop() cancels, checks stop`, (b) => viteStop(b, server));
      await t(`vite app (${build}): unmount mid-watch stops checks, no callbacks or errors`, (b) => viteUnmount(b, server));
    }
    await t("vite dev (no optimizeDeps config): the wasm loads, paid, rendered", (b) => viteDev(b, app));
    cleanups.splice(cleanups.indexOf(closeBrowser), 1);
    await closeBrowser();
    currentEngine = null;
  }

  const s = sizes(tarball);
  log(`size: tarball ${s.tarball} B; .wasm ${s.wasmRaw} B raw, ${s.wasmGz} B gzip -9; JS ${s.jsRaw} B raw, ${s.jsGz} B gzip -9 (${s.jsEach})`);
}

async function cleanup() {
  while (cleanups.length) {
    try {
      await cleanups.pop()();
    } catch {
      // best effort
    }
  }
}

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    await cleanup();
    process.exit(130);
  });
}

try {
  await main();
} catch (e) {
  e2e.fail("setup", e);
} finally {
  await cleanup();
}
log(`wall time ${((performance.now() - started) / 1000).toFixed(1)} s`);
const counts = Object.entries(perEngine).map(([e, [ok, all]]) => `${e} ${ok}/${all}`);
if (counts.length) console.log(`e2e engines: ${counts.join(", ")}`);
e2e.finish();
