// A WeChat mini-program host without WeChat, built from the host's API
// typings (wechat-miniprogram/api-typings) and its documented limits. This
// is the one fake piece of the mini-program tests: nothing can run the real
// WeChat client here. Everything behind it is real: wx.request is HTTP and
// wx.connectSocket a WebSocket to the reference server.
//
// What it reproduces:
//  - a fresh JS realm (node:vm) with no window, document, fetch, XMLHttpRequest,
//    EventSource, WebSocket, TextEncoder, TextDecoder, URL or queueMicrotask,
//    no eval / new Function, and WebAssembly only as WXWebAssembly, whose
//    instantiate(path, imports) reads a .wasm or .wasm.br from the code package
//    and resolves a bare Instance;
//  - every file run inside a module wrapper whose parameters shadow browser
//    names (as the host does), and `require` resolving miniprogram_npm/;
//  - "build npm": the package's `miniprogram` directory copied to
//    miniprogram_npm/paywatch/;
//  - wx.request: at most 10 at once (more wait in a queue), a 60 s cap,
//    dataType "json" parsing by default, enableChunked with onHeadersReceived /
//    onChunkReceived only when the simulated base library has it;
//  - wx.connectSocket: at most 5 sockets, send only once open;
//  - the background: a request or socket still open `backgroundCutMs` (5 s)
//    after the app went to the background fails with "interrupted", and the
//    network stays off until the app is back;
//  - App(), Page(), getApp(), getCurrentPages() and the page lifecycle.
import vm from "node:vm";
import http from "node:http";
import { readFileSync, existsSync, mkdtempSync, cpSync, writeFileSync, rmSync, statSync } from "node:fs";
import { join, dirname, resolve, relative, sep } from "node:path";
import { tmpdir } from "node:os";
import { brotliDecompressSync } from "node:zlib";
import WebSocketClient from "ws";

const root = new URL("../..", import.meta.url).pathname;
export const EXAMPLE = join(root, "examples", "miniprogram");
export const PKG = join(root, "pkg");

/** Names the host's module wrapper shadows with `undefined`. */
const SHADOWED = [
  "window", "document", "frames", "self", "location", "navigator", "localStorage", "history",
  "XMLHttpRequest", "WebSocket", "fetch", "EventSource", "TextEncoder", "TextDecoder", "URL",
];

/**
 * Copies the example mini-program to a temporary project, "builds npm" into
 * it from pkg/, and points its config.js at `server`.
 */
export function buildProject(server) {
  const dir = mkdtempSync(join(tmpdir(), "paywatch-mp-"));
  cpSync(EXAMPLE, dir, { recursive: true, filter: (p) => !p.includes(`${sep}node_modules`) && !p.includes("miniprogram_npm") });
  const pkgJson = JSON.parse(readFileSync(join(PKG, "package.json"), "utf8"));
  if (!pkgJson.miniprogram) throw new Error("pkg/package.json has no `miniprogram` field: build npm would pack `main` instead");
  cpSync(join(PKG, pkgJson.miniprogram), join(dir, "miniprogram_npm", pkgJson.name), { recursive: true });
  writeFileSync(join(dir, "config.js"), `module.exports = { SERVER: ${JSON.stringify(server)} };\n`);
  return dir;
}

export class Host {
  /**
   * @param {string} project a directory made by buildProject
   * @param {{ chunked?: boolean, backgroundCutMs?: number, requestCapMs?: number,
   *           maxRequests?: number, maxSockets?: number, devtoolsGlobals?: boolean }} limits
   */
  constructor(project, limits = {}) {
    this.project = project;
    this.limits = {
      chunked: true,
      backgroundCutMs: 5000,
      requestCapMs: 60000,
      maxRequests: 10,
      maxSockets: 5,
      ...limits,
    };
    this.requests = { made: 0, running: new Set(), queued: [], maxRunning: 0, interrupted: 0, log: [] };
    this.sockets = { made: 0, live: new Set(), maxLive: 0, refused: 0, sendsBeforeOpen: 0, sent: [] };
    this.timers = new Map();
    this.nextTimer = 1;
    this.modules = new Map();
    this.pageDefs = new Map();
    this.pages = [];
    this.appListeners = { show: new Set(), hide: new Set() };
    this.inBackground = false;
    this.networkOff = false;
    this.cutTimer = null;
    this.errors = [];
    this.context = this.#realm();
  }

  // ---- the realm -------------------------------------------------------

  #realm() {
    const ctx = vm.createContext({}, { codeGeneration: { strings: false, wasm: true }, name: "mini-program" });
    const g = vm.runInContext("globalThis", ctx);
    // WebAssembly is an engine built-in in every realm; the host renames it.
    vm.runInContext("delete globalThis.WebAssembly", ctx);
    for (const name of SHADOWED) {
      if (vm.runInContext(`typeof ${name}`, ctx) !== "undefined") throw new Error(`the realm still has ${name}`);
    }
    if (this.limits.devtoolsGlobals) {
      // The devtools run the app service in a webview: its global object has
      // browser names, which only the module wrapper hides from the code.
      vm.runInContext(
        `globalThis.window = globalThis; globalThis.document = {};
         globalThis.EventSource = globalThis.WebSocket = function () { throw new Error("the webview's own, not for mini-program code"); };`,
        ctx,
      );
    }
    const host = this;
    Object.assign(g, {
      console,
      wx: this.#wx(),
      WXWebAssembly: this.#wxWebAssembly(),
      setTimeout: (fn, ms, ...args) => this.#timer("timeout", fn, ms, args),
      setInterval: (fn, ms, ...args) => this.#timer("interval", fn, ms, args),
      clearTimeout: (id) => this.#clearTimer(id),
      clearInterval: (id) => this.#clearTimer(id),
      App(def) {
        host.app = Object.assign(Object.create(null), def);
      },
      getApp: () => this.app,
      Page: (def) => {
        if (!this.loadingRoute) throw new Error("Page() called outside a page module");
        this.pageDefs.set(this.loadingRoute, def);
      },
      getCurrentPages: () => this.pages.slice(),
    });
    return ctx;
  }

  #timer(kind, fn, ms, args) {
    const id = this.nextTimer++;
    if (this.disposed) return id; // the mini-program is gone: nothing runs any more
    const run = () => {
      if (kind === "timeout") this.timers.delete(id);
      fn(...args);
    };
    const handle = kind === "timeout" ? setTimeout(run, ms) : setInterval(run, ms);
    this.timers.set(id, { kind, handle });
    return id;
  }

  #clearTimer(id) {
    const t = this.timers.get(id);
    if (!t) return;
    this.timers.delete(id);
    if (t.kind === "timeout") clearTimeout(t.handle);
    else clearInterval(t.handle);
  }

  /** Runs a code-package file as the host does: wrapped, with `require`. */
  require(file) {
    const path = resolve(file);
    if (this.modules.has(path)) return this.modules.get(path).exports;
    const module = { exports: {} };
    this.modules.set(path, module);
    const fn = vm.compileFunction(readFileSync(path, "utf8"), ["require", "module", "exports", ...SHADOWED], {
      parsingContext: this.context,
      filename: path,
    });
    fn.call(undefined, (spec) => this.require(this.#resolve(dirname(path), spec)), module, module.exports);
    return module.exports;
  }

  #resolve(from, spec) {
    let base;
    if (spec.startsWith("./") || spec.startsWith("../")) base = join(from, spec);
    else if (spec.startsWith("/")) base = join(this.project, spec);
    else {
      const [name, ...rest] = spec.split("/");
      base = join(this.project, "miniprogram_npm", name, rest.length ? rest.join("/") : "index");
    }
    for (const candidate of [base, `${base}.js`, join(base, "index.js")]) {
      if (existsSync(candidate) && statSync(candidate).isFile()) {
        if (relative(this.project, candidate).startsWith("..")) break;
        return candidate;
      }
    }
    throw new Error(`module "${spec}" is not defined (from ${relative(this.project, from) || "."})`);
  }

  // ---- WXWebAssembly ---------------------------------------------------

  #wxWebAssembly() {
    const W = WebAssembly;
    return {
      Memory: W.Memory,
      Table: W.Table,
      Global: W.Global,
      instantiate: (path, imports) => {
        if (typeof path !== "string") return Promise.reject(new TypeError("WXWebAssembly.instantiate: path must be a string"));
        if (/^[a-z]+:/i.test(path)) return Promise.reject(new Error(`WXWebAssembly.instantiate: ${path} is not a code-package path`));
        if (!/\.wasm(\.br)?$/.test(path)) return Promise.reject(new Error(`WXWebAssembly.instantiate: ${path} is not a .wasm or .wasm.br`));
        const file = join(this.project, path);
        if (relative(this.project, file).startsWith("..") || !existsSync(file)) {
          return Promise.reject(new Error(`WXWebAssembly.instantiate: no file ${path} in the code package`));
        }
        let bytes = readFileSync(file);
        if (path.endsWith(".br")) bytes = brotliDecompressSync(bytes);
        return W.instantiate(bytes, imports).then((r) => r.instance);
      },
    };
  }

  // ---- wx ---------------------------------------------------------------

  #wx() {
    const host = this;
    return {
      request: (opts) => this.#request(opts),
      connectSocket: (opts) => this.#connectSocket(opts),
      canIUse(schema) {
        if (schema === "request.object.enableChunked" || schema === "RequestTask.onChunkReceived") return host.limits.chunked;
        return ["request", "connectSocket", "onAppShow", "onAppHide"].includes(schema);
      },
      getAppBaseInfo: () => ({ SDKVersion: this.limits.chunked ? "3.4.0" : "2.19.0" }),
      onAppShow: (fn) => this.appListeners.show.add(fn),
      onAppHide: (fn) => this.appListeners.hide.add(fn),
      offAppShow: (fn) => this.appListeners.show.delete(fn),
      offAppHide: (fn) => this.appListeners.hide.delete(fn),
    };
  }

  #request(opts) {
    if (this.disposed) return { abort() {}, onHeadersReceived() {}, offHeadersReceived() {} };
    const reqs = this.requests;
    reqs.made += 1;
    const listeners = { headers: [], chunk: [] };
    const entry = { opts, req: null, done: false, timer: null };
    const finish = (ok, res) => {
      if (entry.done) return;
      entry.done = true;
      clearTimeout(entry.timer);
      if (entry.req) entry.req.destroy();
      reqs.running.delete(entry);
      const i = reqs.queued.indexOf(entry);
      if (i >= 0) reqs.queued.splice(i, 1);
      this.#startQueued();
      setImmediate(() => {
        if (ok) opts.success && opts.success(res);
        else opts.fail && opts.fail(res);
        opts.complete && opts.complete(res);
      });
    };
    entry.finish = finish;
    entry.listeners = listeners;
    const task = {
      abort: () => finish(false, { errMsg: "request:fail abort" }),
      onHeadersReceived: (fn) => listeners.headers.push(fn),
      offHeadersReceived: (fn) => remove(listeners.headers, fn),
    };
    if (this.limits.chunked) {
      task.onChunkReceived = (fn) => listeners.chunk.push(fn);
      task.offChunkReceived = (fn) => remove(listeners.chunk, fn);
    }
    if (typeof opts.url !== "string" || !/^https?:\/\/[^/]+/i.test(opts.url)) {
      finish(false, { errMsg: `request:fail invalid url "${opts.url}"` });
    } else if (this.networkOff) {
      reqs.interrupted += 1;
      finish(false, { errMsg: "request:fail interrupted" });
    } else {
      reqs.queued.push(entry);
      this.#startQueued();
    }
    return task;
  }

  #startQueued() {
    const reqs = this.requests;
    while (reqs.running.size < this.limits.maxRequests && reqs.queued.length) {
      const entry = reqs.queued.shift();
      reqs.running.add(entry);
      reqs.maxRunning = Math.max(reqs.maxRunning, reqs.running.size);
      this.#send(entry);
    }
  }

  #send(entry) {
    const { opts, finish, listeners } = entry;
    const method = (opts.method || "GET").toUpperCase();
    let url = opts.url;
    const header = { ...(opts.header || {}) };
    let body;
    if (opts.data !== undefined && opts.data !== null) {
      if (method === "GET" && typeof opts.data === "object" && !isArrayBuffer(opts.data)) {
        const q = new URLSearchParams(opts.data).toString();
        if (q) url += (url.includes("?") ? "&" : "?") + q;
      } else if (typeof opts.data === "string" || isArrayBuffer(opts.data)) {
        body = typeof opts.data === "string" ? opts.data : Buffer.from(opts.data);
      } else {
        body = JSON.stringify(opts.data);
        if (!Object.keys(header).some((k) => k.toLowerCase() === "content-type")) header["content-type"] = "application/json";
      }
    }
    const chunked = Boolean(opts.enableChunked && this.limits.chunked);
    this.requests.log.push({ method, url, chunked, at: Date.now() });
    const cap = Math.min(typeof opts.timeout === "number" ? opts.timeout : this.limits.requestCapMs, this.limits.requestCapMs);
    entry.timer = setTimeout(() => finish(false, { errMsg: "request:fail timeout" }), cap);
    const req = http.request(url, { method, headers: header, agent: false });
    entry.req = req;
    req.on("error", (e) => finish(false, { errMsg: `request:fail ${e.code || e.message}` }));
    req.on("response", (res) => {
      const headerOut = { ...res.headers };
      for (const fn of listeners.headers.slice()) fn({ header: headerOut, statusCode: res.statusCode, cookies: [] });
      const parts = [];
      res.on("data", (c) => {
        if (entry.done) return;
        parts.push(c);
        if (chunked) for (const fn of listeners.chunk.slice()) fn({ data: toArrayBuffer(c) });
      });
      res.on("error", (e) => finish(false, { errMsg: `request:fail ${e.code || e.message}` }));
      res.on("aborted", () => finish(false, { errMsg: "request:fail connection aborted" }));
      res.on("end", () => {
        const buf = Buffer.concat(parts);
        let data;
        if (opts.responseType === "arraybuffer") data = toArrayBuffer(buf);
        else {
          data = buf.toString("utf8");
          if ((opts.dataType || "json") === "json") {
            try {
              data = JSON.parse(data);
            } catch {
              // the host leaves a body that is not JSON as text
            }
          }
        }
        finish(true, { data, statusCode: res.statusCode, header: headerOut, cookies: [], errMsg: "request:ok" });
      });
    });
    req.end(body);
  }

  #connectSocket(opts) {
    if (this.disposed) return { onOpen() {}, onMessage() {}, onClose() {}, onError() {}, send() {}, close() {} };
    const socks = this.sockets;
    const listeners = { open: [], message: [], close: [], error: [] };
    const emit = (kind, arg) => setImmediate(() => listeners[kind].slice().forEach((fn) => fn(arg)));
    const entry = { state: "connecting", ws: null };
    const task = {
      onOpen: (fn) => listeners.open.push(fn),
      onMessage: (fn) => listeners.message.push(fn),
      onClose: (fn) => listeners.close.push(fn),
      onError: (fn) => listeners.error.push(fn),
      send: ({ data, success, fail, complete } = {}) => {
        if (entry.state !== "open") {
          if (entry.state === "connecting") socks.sendsBeforeOpen += 1;
          const res = { errMsg: "sendSocketMessage:fail WebSocket is not connected" };
          setImmediate(() => (fail && fail(res), complete && complete(res)));
          return;
        }
        socks.sent.push(typeof data === "string" ? data : "[binary]");
        entry.ws.send(typeof data === "string" ? data : Buffer.from(data));
        setImmediate(() => (success && success({ errMsg: "sendSocketMessage:ok" }), complete && complete({})));
      },
      close: ({ code = 1000, reason = "" } = {}) => {
        if (entry.state === "closed") return;
        if (entry.state === "connecting") entry.ws.terminate();
        else entry.ws.close(code, reason);
        end(code, reason);
      },
    };
    const end = (code, reason) => {
      if (entry.state === "closed") return;
      entry.state = "closed";
      socks.live.delete(entry);
      emit("close", { code, reason });
    };
    entry.cut = (why) => {
      if (entry.state === "closed") return;
      entry.ws.terminate();
      emit("error", { errMsg: why });
      end(1006, why);
    };
    const refuse = (errMsg) => {
      socks.refused += 1;
      setImmediate(() => (opts.fail && opts.fail({ errMsg }), opts.complete && opts.complete({ errMsg })));
      return task;
    };
    if (typeof opts.url !== "string" || !/^wss?:\/\/[^/]+/i.test(opts.url)) return refuse(`connectSocket:fail invalid url "${opts.url}"`);
    if (this.networkOff) return refuse("connectSocket:fail interrupted");
    if (socks.live.size >= this.limits.maxSockets) return refuse("connectSocket:fail exceed max task count");
    socks.made += 1;
    socks.live.add(entry);
    socks.maxLive = Math.max(socks.maxLive, socks.live.size);
    const ws = new WebSocketClient(opts.url, opts.protocols || [], { headers: opts.header || {} });
    entry.ws = ws;
    ws.on("open", () => {
      if (entry.state !== "connecting") return;
      entry.state = "open";
      emit("open", { header: {} });
    });
    ws.on("message", (data, isBinary) => {
      if (entry.state !== "open") return;
      emit("message", { data: isBinary ? toArrayBuffer(data) : data.toString("utf8") });
    });
    ws.on("error", (e) => {
      if (entry.state === "closed") return;
      emit("error", { errMsg: e.message });
      end(1006, e.message);
    });
    ws.on("close", (code, reason) => end(code, reason.toString()));
    setImmediate(() => opts.success && opts.success({ errMsg: "connectSocket:ok" }));
    return task;
  }

  // ---- app and page lifecycle --------------------------------------------

  /** Runs app.js, then App's onLaunch and onShow. */
  launch() {
    this.require(join(this.project, "app.js"));
    if (!this.app) throw new Error("app.js did not call App()");
    this.app.onLaunch && this.app.onLaunch({ path: "", query: {} });
    this.app.onShow && this.app.onShow({});
    return this.app;
  }

  /** wx.navigateTo: a new instance of the page, onLoad(query) then onShow. */
  openPage(route, query = {}) {
    const file = join(this.project, `${route}.js`);
    if (!this.pageDefs.has(route)) {
      this.loadingRoute = route;
      try {
        this.require(file);
      } finally {
        this.loadingRoute = null;
      }
    }
    const def = this.pageDefs.get(route);
    if (!def) throw new Error(`${route}.js did not call Page()`);
    const page = { route, options: query, data: JSON.parse(JSON.stringify(def.data || {})), renders: 0 };
    for (const [k, v] of Object.entries(def)) if (k !== "data") page[k] = v;
    page.setData = (patch, cb) => {
      for (const [k, v] of Object.entries(patch)) page.data[k] = v;
      page.renders += 1;
      if (cb) setImmediate(cb);
    };
    const previous = this.pages[this.pages.length - 1];
    if (previous && previous.onHide) previous.onHide();
    this.pages.push(page);
    page.onLoad && page.onLoad(query);
    page.onShow && page.onShow();
    return page;
  }

  /** wx.navigateBack from the top page: onUnload, then the page below shows. */
  closePage() {
    const page = this.pages.pop();
    page.onUnload && page.onUnload();
    const below = this.pages[this.pages.length - 1];
    if (below && below.onShow) below.onShow();
  }

  /** The user leaves WeChat: onHide; `backgroundCutMs` later the network is cut. */
  background() {
    this.inBackground = true;
    const top = this.pages[this.pages.length - 1];
    if (top && top.onHide) top.onHide();
    this.app.onHide && this.app.onHide();
    for (const fn of this.appListeners.hide) fn();
    this.cutTimer = setTimeout(() => {
      this.networkOff = true;
      for (const entry of [...this.requests.running, ...this.requests.queued]) {
        this.requests.interrupted += 1;
        entry.finish(false, { errMsg: "request:fail interrupted" });
      }
      for (const entry of [...this.sockets.live]) entry.cut("interrupted");
    }, this.limits.backgroundCutMs);
  }

  /** Back to WeChat: the network is on again, then onShow. */
  foreground() {
    clearTimeout(this.cutTimer);
    this.inBackground = false;
    this.networkOff = false;
    this.app.onShow && this.app.onShow({});
    for (const fn of this.appListeners.show) fn({});
    const top = this.pages[this.pages.length - 1];
    if (top && top.onShow) top.onShow();
  }

  /** What is still running in the host. */
  live() {
    return {
      requests: this.requests.running.size + this.requests.queued.length,
      sockets: this.sockets.live.size,
      timers: this.timers.size,
    };
  }

  /** Closes every page, then ends whatever is still running, for good. */
  dispose() {
    while (this.pages.length) this.closePage();
    this.disposed = true;
    for (const entry of [...this.requests.running, ...this.requests.queued]) entry.finish(false, { errMsg: "request:fail abort" });
    for (const entry of [...this.sockets.live]) entry.cut("host disposed");
    for (const id of [...this.timers.keys()]) this.#clearTimer(id);
    clearTimeout(this.cutTimer);
  }
}

export function removeProject(dir) {
  rmSync(dir, { recursive: true, force: true });
}

function remove(list, fn) {
  const i = list.indexOf(fn);
  if (i >= 0) list.splice(i, 1);
}

function isArrayBuffer(v) {
  return Object.prototype.toString.call(v) === "[object ArrayBuffer]";
}

function toArrayBuffer(buf) {
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}
