// Shared by the mini-program tests and benchmark: the reference server's
// endpoints, and a host running the example mini-program against it.
import { join } from "node:path";
import { Host, buildProject, removeProject } from "./host.mjs";

export const SERVER = process.env.PAYWATCH_SERVER;
if (!SERVER) {
  throw new Error(
    "PAYWATCH_SERVER is not set: run `make test`, or start a server with scripts/server.sh's start_server --test-hooks and export it",
  );
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every 10 ms until it returns something truthy. */
export async function waitFor(what, probe, ms = 5000) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

async function call(method, path, body) {
  const res = await fetch(`${SERVER}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return JSON.parse(text);
}

const order = (no) => encodeURIComponent(no);
export const server = {
  pay: (no) => call("POST", `/orders/${order(no)}/pay`),
  stats: (no) => call("GET", `/_test/orders/${order(no)}/stats`),
  drop: (no) => call("POST", `/_test/orders/${order(no)}/drop`),
  behavior: (no, b) => call("POST", `/_test/orders/${order(no)}/behavior`, b),
};

/** What the server has seen of an order: HTTP checks plus push connections. */
export async function requestsSeen(no) {
  const s = await server.stats(no);
  return { checks: s.checks, connects: s.sse_connects + s.ws_connects, total: s.checks + s.sse_connects + s.ws_connects, stats: s };
}

/** When a watch of `strategy` is fully under way on the server. */
export function watching(strategy, s) {
  switch (strategy) {
    case "interval":
    case "poll":
      return s.checks >= 1 && s.in_flight === 0;
    case "long-poll":
      return s.long_poll_waiting >= 1;
    case "sse":
      return s.sse_open >= 1 && s.checks >= 1 && s.in_flight === 0;
    default: // websocket, auto
      return (s.ws_open >= 1 || s.sse_open >= 1) && s.checks >= 1 && s.in_flight === 0;
  }
}

/** Nothing of the order left open on the server. */
export function quiet(s) {
  return s.in_flight === 0 && s.long_poll_waiting === 0 && s.sse_open === 0 && s.ws_open === 0;
}

/**
 * A host with the example mini-program launched and its pay page open.
 * `limits` go to the Host, `query` to the page, `configure` to paywatch
 * before the page opens.
 */
export async function openPayPage(query, limits, { waitForOrder = true, configure } = {}) {
  const dir = buildProject(SERVER);
  const host = new Host(dir, limits);
  const app = host.launch();
  /** The paywatch module as the mini-program's code sees it. */
  const paywatch = () => host.require(join(dir, "miniprogram_npm", "paywatch", "index.js"));
  if (configure) paywatch().configure(configure); // after app.js's own configure
  const page = host.openPage("pages/pay/pay", query);
  const no = waitForOrder ? await waitFor("the example page to create its order", () => page.data.orderNo) : null;
  const dispose = () => {
    host.dispose();
    removeProject(dir);
  };
  return { host, app, page, no, dispose, paywatch };
}
