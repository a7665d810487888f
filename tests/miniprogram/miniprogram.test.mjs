// paywatch/miniprogram in a simulated WeChat host (host.mjs), running the
// example mini-program's own app.js and pay page against the real reference
// server at $PAYWATCH_SERVER. Run: node --test tests/miniprogram/miniprogram.test.mjs
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import vm from "node:vm";
import { join } from "node:path";
import { openPayPage, server, waitFor, sleep, watching, quiet, requestsSeen } from "./support.mjs";
import { Host, buildProject, removeProject } from "./host.mjs";

const STRATEGIES = ["interval", "poll", "long-poll", "sse", "websocket", "auto"];
const PUSH = ["sse", "websocket", "auto"];
const LABEL = "pc评价页牌匾扫码支付成功"; // type 1 in the seed table
const CONVERSION = [
  { hook: "kbnClickAna", value: LABEL },
  { hook: "PinganAna.fire", value: 5357 },
];

/** A test that hangs (a promise that never settles) fails instead. */
const LIMIT = { timeout: 30000 };

/** Polling so slow that any check soon after onShow is onShow's. */
const SLOW = { intervalMs: 60000, slowIntervalMs: 60000 };

const idle = (live) => live.requests === 0 && live.sockets === 0 && live.timers === 0;

// The adapters log a listener that throws with console.error, as a browser
// does. A listener of a watch that has ended must never be called at all:
// wasm-bindgen throws "closure invoked recursively or after being dropped".
// The last test asserts that no such call happened in any test.
const droppedCalls = [];
const consoleError = console.error;
console.error = (...args) => {
  if (args.some((a) => /after being dropped/.test(String((a && a.message) || a)))) droppedCalls.push(args);
  consoleError(...args);
};

async function underWay(t, strategy) {
  await waitFor(`the ${strategy} watch to be under way`, async () => watching(strategy, await server.stats(t.no)));
}

/** The page shows paid, the analytics fired once, and stay so. */
async function paidOnce(t) {
  await waitFor("the page to show paid", () => t.page.data.paid && t.page.data.status === "paid" && t.page.data.via);
  await sleep(300);
  assert.equal(t.page.data.payStatus, 3);
  assert.deepEqual(plain(t.app.globalData.conversions), CONVERSION);
}

const plain = (v) => JSON.parse(JSON.stringify(v)); // values from the host realm

test("the simulated host is a mini-program, not a browser", () => {
  const dir = buildProject("http://127.0.0.1:1");
  const host = new Host(dir);
  try {
    const missing = ["window", "document", "fetch", "XMLHttpRequest", "EventSource", "WebSocket", "TextEncoder", "TextDecoder", "URL", "WebAssembly", "queueMicrotask"];
    for (const name of missing) assert.equal(vm.runInContext(`typeof ${name}`, host.context), "undefined", name);
    assert.equal(vm.runInContext("typeof WXWebAssembly.instantiate", host.context), "function");
    assert.throws(() => vm.runInContext("eval('1')", host.context), /Code generation from strings disallowed/);
    assert.throws(() => vm.runInContext("new Function('return 1')", host.context), /Code generation from strings disallowed/);
  } finally {
    host.dispose();
    removeProject(dir);
  }
});

describe("every strategy, in a host with a streaming wx.request", { concurrency: true }, () => {
  for (const strategy of STRATEGIES) {
    test(`${strategy}: paid seen, analytics once, nothing left, within the host's limits`, LIMIT, async () => {
      const t = await openPayPage({ strategy });
      try {
        await underWay(t, strategy);
        await server.pay(t.no);
        await paidOnce(t);
        await waitFor("the host to be idle", () => idle(t.host.live()));
        assert.ok(quiet(await server.stats(t.no)), "the server still holds a connection");
        assert.equal(t.paywatch().activeWatches(), 0);
        assert.ok(t.host.requests.maxRunning <= 2, `${t.host.requests.maxRunning} requests at once`);
        assert.ok(t.host.sockets.maxLive <= 1, `${t.host.sockets.maxLive} sockets at once`);
        assert.equal(t.host.sockets.sendsBeforeOpen, 0, "a frame was sent before the socket opened");
        if (strategy === "websocket" || strategy === "auto") {
          // One subscribe frame, sent once the socket was open.
          assert.deepEqual(t.host.sockets.sent.map((f) => JSON.parse(f).order_no), [t.no]);
        }
      } finally {
        t.dispose();
      }
    });

    test(`${strategy}: onUnload leaves no request, socket or timer`, LIMIT, async () => {
      const t = await openPayPage({ strategy });
      try {
        await underWay(t, strategy);
        t.host.closePage();
        await waitFor("the host to be idle", () => idle(t.host.live()), 2000);
        await waitFor("the server to see nothing open", async () => quiet(await server.stats(t.no)), 2000);
        const before = await requestsSeen(t.no);
        await sleep(2500); // longer than the 2 s interval of the polling strategies
        assert.deepEqual((await requestsSeen(t.no)).total, before.total, "requests after onUnload");
        assert.equal(t.paywatch().activeWatches(), 0);
        assert.deepEqual(plain(t.app.globalData.conversions), []);
      } finally {
        t.dispose();
      }
    });

    test(`${strategy}: onShow checks at once`, LIMIT, async () => {
      // With a 60 s polling interval nothing but onShow makes a check in the
      // next few seconds: the push transports checked once when they opened,
      // and a long-poll is held for 25 s.
      const t = await openPayPage({ strategy }, undefined, { configure: SLOW });
      try {
        await underWay(t, strategy);
        // The core ignores a wake-up within 1 s of a check's start.
        const last = Math.max(...(await server.stats(t.no)).check_times_ms);
        await sleep(Math.max(0, last + 1100 - Date.now()));
        const before = (await server.stats(t.no)).checks;
        t.host.background(); // onHide; the host cuts the network 5 s later, not yet
        await sleep(50);
        t.host.foreground(); // onShow
        await waitFor("a check after onShow", async () => (await server.stats(t.no)).checks > before, 4000);
      } finally {
        t.dispose();
      }
    });

    test(`${strategy}: paid while in the background, seen once the page shows again`, LIMIT, async () => {
      const t = await openPayPage({ strategy }, { backgroundCutMs: 300 }, { configure: SLOW });
      try {
        await underWay(t, strategy);
        t.host.background();
        await waitFor("the host to cut the network", () => t.host.networkOff);
        assert.equal(t.host.live().requests + t.host.live().sockets, 0, "requests or sockets survived the cut");
        await server.pay(t.no);
        await sleep(600);
        assert.equal(t.page.data.paid, false, "paid seen with the network off");
        t.host.foreground();
        await paidOnce(t);
      } finally {
        t.dispose();
      }
    });
  }

  for (const strategy of ["long-poll", ...PUSH]) {
    test(`${strategy}: a dropped connection is recovered and the payment made meanwhile seen once`, LIMIT, async () => {
      const t = await openPayPage({ strategy });
      try {
        await underWay(t, strategy);
        const before = await requestsSeen(t.no);
        const { dropped } = await server.drop(t.no);
        assert.ok(dropped >= 1, "nothing to drop");
        await server.pay(t.no);
        await paidOnce(t);
        const after = await requestsSeen(t.no);
        if (strategy === "long-poll") assert.ok(after.checks > before.checks, "no check after the drop");
        else assert.ok(after.connects > before.connects || after.checks > before.checks, "no reconnect or check after the drop");
        await waitFor("the host to be idle", () => idle(t.host.live()));
      } finally {
        t.dispose();
      }
    });
  }
});

describe("host limits and older base libraries", { concurrency: true }, () => {
  test("sse: a stream the host ends at its request cap (60 s, here 1 s) reopens, nothing missed", LIMIT, async () => {
    const t = await openPayPage({ strategy: "sse" }, { requestCapMs: 1000 });
    try {
      await underWay(t, "sse");
      await waitFor("the stream to be reopened after the cap", async () => (await server.stats(t.no)).sse_connects >= 2, 6000);
      await underWay(t, "sse");
      await server.pay(t.no);
      await paidOnce(t);
    } finally {
      t.dispose();
    }
  });

  test("auto without a socket (the host refuses it): SSE next", LIMIT, async () => {
    const t = await openPayPage({ strategy: "auto" }, { maxSockets: 0 });
    try {
      await waitFor("auto to reach SSE", async () => (await server.stats(t.no)).sse_open >= 1);
      await server.pay(t.no);
      await paidOnce(t);
      assert.equal(t.page.data.via === "sse" || t.page.data.via === "poll", true, t.page.data.via);
    } finally {
      t.dispose();
    }
  });

  test("auto without a socket on a base library without enableChunked: skips SSE, long-polls", LIMIT, async () => {
    // With the devtools' webview globals on the host's global object, which
    // the core must not take for a browser's window and EventSource.
    const steps = [];
    const onEvent = (e) => e.kind === "fallback" && steps.push(`${e.strategy} -> ${e.detail}`);
    const t = await openPayPage({ strategy: "auto" }, { maxSockets: 0, chunked: false, devtoolsGlobals: true }, { configure: { onEvent } });
    try {
      await waitFor("auto to reach long-poll", async () => (await server.stats(t.no)).long_poll_waiting >= 1);
      // SSE was never tried (the core's own "websocket -> sse" step names
      // the next rung of the ladder, whether or not this host has it).
      assert.ok(!steps.some((step) => step.startsWith("sse")), steps.join(", "));
      assert.equal((await server.stats(t.no)).sse_connects, 0);
      await server.pay(t.no);
      await paidOnce(t);
      assert.equal(t.page.data.via, "long-poll");
    } finally {
      t.dispose();
    }
  });

  test('"sse" on a base library without enableChunked fails early and says why', LIMIT, async () => {
    const t = await openPayPage({ strategy: "sse" }, { chunked: false });
    try {
      await waitFor("the page to show the error", () => t.page.data.status === "error");
      assert.match(t.page.data.message, /"sse" needs a streaming wx\.request \(enableChunked/);
      assert.equal(t.host.requests.made, 1, "only the order was created");
      assert.equal((await server.stats(t.no)).checks, 0);
    } finally {
      t.dispose();
    }
  });

  test("URLs must be absolute: a clear error, no request", LIMIT, async () => {
    const t = await openPayPage({ strategy: "poll" });
    try {
      const pw = t.paywatch();
      const made = t.host.requests.made;
      await assert.rejects(pw.checkPayStatus("X1", 1, { strategy: "websocket", wsUrl: "/ws" }), {
        name: "PayWatchError",
        message: /wsUrl "\/ws" must be an absolute URL such as wss:\/\/.*no page address/,
      });
      await assert.rejects(pw.checkPayStatus("X1", 1, { endpoint: "api.example.com/pay" }), /endpoint "api\.example\.com\/pay" must be an absolute URL/);
      assert.throws(() => pw.configure({ sseUrl: "/payment-status" }), /sseUrl "\/payment-status" must be an absolute URL/);
      // The core still judges everything else, with its own messages.
      await assert.rejects(pw.checkPayStatus("", 1), { name: "PayWatchError" });
      assert.equal(t.host.requests.made, made);
    } finally {
      t.dispose();
    }
  });

  test("a page unloaded before its order exists starts no watch", LIMIT, async () => {
    const t = await openPayPage({ strategy: "websocket" }, undefined, { waitForOrder: false });
    try {
      t.host.closePage(); // the POST /orders is still on its way
      const no = await waitFor("the order to be created anyway", () => t.page.data.orderNo);
      await sleep(500);
      assert.equal(t.paywatch().activeWatches(), 0);
      assert.ok(idle(t.host.live()));
      const s = await server.stats(no);
      assert.equal(s.checks + s.ws_connects, 0);
    } finally {
      t.dispose();
    }
  });

  test("the WebSocket adapter is standard: send while CONNECTING throws, the host sees no frame", LIMIT, async () => {
    const t = await openPayPage({ strategy: "poll" });
    try {
      const pkg = join(t.host.project, "miniprogram_npm", "paywatch");
      const { makeWebSocket } = t.host.require(join(pkg, "socket.js"));
      const WS = makeWebSocket(vm.runInContext("wx", t.host.context));
      const ws = new WS(`${process.env.PAYWATCH_SERVER.replace(/^http/, "ws")}/ws`);
      assert.throws(() => ws.send("early"), { name: "InvalidStateError" });
      await new Promise((resolve) => (ws.onopen = resolve));
      ws.send(JSON.stringify({ order_no: t.no }));
      const frame = await new Promise((resolve) => (ws.onmessage = (e) => resolve(e.data)));
      assert.equal(JSON.parse(frame).order_no, t.no);
      const closed = new Promise((resolve) => (ws.onclose = resolve));
      ws.close(1000, "done");
      assert.equal((await closed).code, 1000);
      assert.equal(t.host.sockets.sendsBeforeOpen, 0);
      assert.throws(() => new WS("/ws"), /not absolute/);
    } finally {
      t.dispose();
    }
  });
});

test("no listener of a dropped socket, source or request was called", () => {
  assert.equal(droppedCalls.length, 0, `${droppedCalls.length} calls of dropped wasm callbacks (logged above)`);
});
