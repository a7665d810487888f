// The browser engines a payer uses, behind one small page API, for the
// page-level tests and the benchmark:
//
//   chromium  Debian's /usr/bin/chromium (or $CHROMIUM), driven by
//             playwright-core, which never downloads a browser;
//   webkit    WebKitGTK's MiniBrowser, driven by /usr/bin/WebKitWebDriver
//             through selenium-webdriver (Playwright's own WebKit build
//             cannot be downloaded here). It needs a display: run under
//             `xvfb-run -a`, or with $DISPLAY set;
//   firefox   Debian's firefox-esr, driven by geckodriver (cargo install)
//             through selenium-webdriver, headless.
//
// `launch(name)` returns { name, open(url), close() }; `open` returns a page:
//   { text(selector), eval(fn, arg), click(selector), problems(), close() }
// where `eval` runs `fn(arg)` in the page and awaits its promise (fn is sent
// as source text, so it must not close over test variables), and
// `problems()` lists console errors/warnings and uncaught errors. Chromium
// reports them through Playwright; WebDriver has no console access in WebKit,
// so there a page records them itself, in `window.__problems`, from its
// first script (the fixtures' index.html do).
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { CHROMIUM_ARGS } from "./chromium.mjs";

export const ENGINES = ["chromium", "webkit", "firefox"];

/** The engines of a comma-separated list (`$E2E_ENGINES`), all by default. */
export function enginesFrom(list) {
  const names = (list || ENGINES.join(",")).split(",").map((s) => s.trim()).filter(Boolean);
  for (const n of names) if (!ENGINES.includes(n)) throw new Error(`unknown engine ${n} (known: ${ENGINES.join(", ")})`);
  return names;
}

export async function launch(name, { scriptTimeoutMs = 60_000 } = {}) {
  if (name === "chromium") return launchPlaywrightChromium();
  if (name === "webkit" || name === "firefox") return launchWebDriver(name, scriptTimeoutMs);
  throw new Error(`unknown engine ${name}`);
}

// ---------------------------------------------------------------- Chromium

async function launchPlaywrightChromium() {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: CHROMIUM_ARGS });
  return {
    name: "chromium",
    async open(url) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const seen = [];
      page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning") seen.push(`console.${m.type()}: ${m.text()}`);
      });
      page.on("pageerror", (e) => seen.push(`page error: ${e.message}`));
      await page.goto(url);
      return {
        text: (sel) => page.textContent(sel),
        eval: (fn, arg) => page.evaluate(fn, arg),
        click: (sel) => page.click(sel),
        // Playwright sees every console message from outside; the page's own
        // record would list them twice.
        problems: async () => seen,
        close: () => context.close(),
      };
    },
    close: () => browser.close(),
  };
}

// ---------------------------------------------------------------- WebDriver

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function which(cmd) {
  for (const dir of (process.env.PATH || "").split(":")) {
    if (dir && existsSync(`${dir}/${cmd}`)) return `${dir}/${cmd}`;
  }
  return null;
}

// Starts a WebDriver server on a free loopback port; resolves with its URL
// once /status answers.
async function startDriver(name) {
  const port = await freePort();
  let exe;
  let args;
  if (name === "webkit") {
    exe = process.env.WEBKITWEBDRIVER || "/usr/bin/WebKitWebDriver";
    args = [`--port=${port}`, "--host=127.0.0.1"];
  } else {
    exe = process.env.GECKODRIVER || which("geckodriver") || `${process.env.HOME}/.cargo/bin/geckodriver`;
    args = ["--port", String(port), "--host", "127.0.0.1"];
  }
  if (!existsSync(exe)) throw new Error(`${name}: no WebDriver server at ${exe} (run scripts/setup.sh)`);
  if (name === "webkit" && !process.env.DISPLAY) throw new Error("webkit: MiniBrowser needs a display; run under xvfb-run -a");
  const child = spawn(exe, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${exe} exited (${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(`${url}/status`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) {
      child.kill("SIGKILL");
      throw new Error(`${exe} did not answer on ${url}:\n${output}`);
    }
    await sleep(50);
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const t = setTimeout(() => child.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(t);
  };
  return { url, stop, output: () => output };
}

function capabilities(name) {
  if (name === "webkit") {
    // WebKitWebDriver starts MiniBrowser in automation mode by default.
    return { browserName: "MiniBrowser", pageLoadStrategy: "normal" };
  }
  return {
    browserName: "firefox",
    "moz:firefoxOptions": {
      binary: process.env.FIREFOX || "/usr/bin/firefox-esr",
      args: ["-headless"],
      // Off: updates, telemetry and other calls home (no outside network).
      prefs: {
        "app.update.enabled": false,
        "datareporting.policy.dataSubmissionEnabled": false,
        "toolkit.telemetry.enabled": false,
        "network.captive-portal-service.enabled": false,
        "browser.safebrowsing.malware.enabled": false,
        "browser.safebrowsing.phishing.enabled": false,
      },
    },
  };
}

async function launchWebDriver(name, scriptTimeoutMs) {
  const { WebDriver, By, until } = await import("selenium-webdriver");
  const { Executor, HttpClient } = await import("selenium-webdriver/http/index.js");
  const server = await startDriver(name);
  let driver;
  try {
    driver = await WebDriver.createSession(new Executor(new HttpClient(server.url)), capabilities(name));
    await driver.manage().setTimeouts({ script: scriptTimeoutMs, pageLoad: 30_000 });
  } catch (e) {
    await server.stop();
    throw new Error(`${name}: no WebDriver session: ${e.message}\n${server.output()}`);
  }
  // In-page wrapper for eval: runs fn(arg), awaits it, hands back a value or
  // the error's text (an error object does not cross WebDriver intact).
  const asyncWrapper = (src) => `
    var arg = arguments[0], done = arguments[arguments.length - 1];
    Promise.resolve().then(function () { return (${src})(arg); })
      .then(function (v) { done({ ok: v === undefined ? null : v }); },
            function (e) { done({ error: String(e && e.stack ? e.message + "\\n" + e.stack : e) }); });`;
  const evaluate = async (fn, arg) => {
    const r = await driver.executeAsyncScript(asyncWrapper(fn.toString()), arg === undefined ? null : arg);
    if (r && "error" in r) throw new Error(`in ${name}: ${r.error}`);
    return r ? r.ok : r;
  };
  let open = false;
  return {
    name,
    async open(url) {
      if (open) throw new Error(`${name}: one page at a time`);
      open = true;
      await driver.get(url);
      const page = {
        async text(sel) {
          const end = Date.now() + 10_000;
          for (;;) {
            const t = await evaluate((s) => {
              const el = document.querySelector(s);
              return el ? el.textContent : undefined;
            }, sel);
            if (t !== null && t !== undefined) return t;
            if (Date.now() > end) throw new Error(`${name}: no element ${sel}`);
            await sleep(25);
          }
        },
        eval: evaluate,
        // Waits for the element, as Playwright's click does: a page under
        // load may render it after driver.get has returned.
        click: async (sel) => (await driver.wait(until.elementLocated(By.css(sel)), 10_000)).click(),
        problems: () => evaluate(() => window.__problems || ["the page records no problems (window.__problems)"]),
        // Leaving the page ends its watches, timers and connections.
        async close() {
          open = false;
          await driver.get("about:blank");
        },
      };
      return page;
    },
    async close() {
      try {
        await driver.quit();
      } finally {
        await server.stop();
      }
    },
  };
}
