// `EventSource` on top of `wx.request({ enableChunked: true })` and
// `RequestTask.onChunkReceived` (base library >= 2.20.2), shaped like the
// browser's: readyState, open / message / error events (and named events for
// addEventListener), lastEventId, `retry:`, and the standard's own reconnect
// with Last-Event-ID after a network error unless the page closes it first.
//
// Host limits it lives with: the stream is one of the 10 requests the host
// allows at once, and the host ends every request after 60 s and after 5 s in
// the background; both look like a dropped connection (an `error` event).
"use strict";

const { Event, EventTarget, domError } = require("./events.js");
const { Headers, absoluteHttpUrl, headerObject } = require("./request.js");
const text = require("./text.js");

const CONNECTING = 0;
const OPEN = 1;
const CLOSED = 2;
const HOST_TIMEOUT_MS = 60000;

function makeEventSource(wx) {
  class EventSource extends EventTarget {
    constructor(url, init) {
      super();
      try {
        this.url = absoluteHttpUrl(url);
      } catch (e) {
        throw domError("SyntaxError", e.message.replace(/^Failed to fetch/, "EventSource URL"));
      }
      this.withCredentials = Boolean(init && init.withCredentials);
      this.readyState = CONNECTING;
      this.onopen = this.onmessage = this.onerror = null;
      this._retryMs = 3000;
      this._lastId = "";
      this._timer = null;
      this._task = null;
      this._connect();
    }

    close() {
      this.readyState = CLOSED;
      if (this._timer !== null) clearTimeout(this._timer);
      this._timer = null;
      const task = this._task;
      this._task = null;
      if (task) task.abort();
    }

    _connect() {
      const parser = new Parser((type, data, id) => {
        this._lastId = id;
        if (this.readyState !== OPEN) return;
        this.dispatchEvent(new Event(type, { data, lastEventId: id, origin: originOf(this.url) }));
      });
      parser.lastId = this._lastId;
      parser.onRetry = (ms) => (this._retryMs = ms);
      const header = { Accept: "text/event-stream", "Cache-Control": "no-cache" };
      if (this._lastId) header["Last-Event-ID"] = this._lastId;
      const task = wx.request({
        url: this.url,
        method: "GET",
        header,
        enableChunked: true,
        dataType: "text",
        responseType: "arraybuffer",
        timeout: HOST_TIMEOUT_MS,
        success: (res) => {
          if (task !== this._task) return;
          if (!checkResponse(res.statusCode, res.header)) return this._fail(describe(res.statusCode, res.header));
          this._lost(); // the server ended the stream
        },
        fail: () => {
          if (task === this._task) this._lost();
        },
      });
      this._task = task;
      task.onHeadersReceived((res) => {
        if (task !== this._task) return;
        if (!checkResponse(res.statusCode, res.header)) return this._fail(describe(res.statusCode, res.header));
        this._open();
      });
      task.onChunkReceived((res) => {
        if (task !== this._task) return;
        this._open(); // the devtools do not always report headers first
        parser.feed(res.data);
      });
    }

    _open() {
      if (this.readyState !== CONNECTING) return;
      this.readyState = OPEN;
      this.dispatchEvent(new Event("open"));
    }

    /** A network error: reconnect after `retry` unless a listener closes us. */
    _lost() {
      this._task = null;
      if (this.readyState === CLOSED) return;
      this.readyState = CONNECTING;
      this.dispatchEvent(new Event("error"));
      if (this.readyState === CONNECTING) {
        this._timer = setTimeout(() => {
          this._timer = null;
          this._connect();
        }, this._retryMs);
      }
    }

    /** A wrong status or content type: no reconnect, as the standard says. */
    _fail(why) {
      const task = this._task;
      this._task = null;
      if (task) task.abort();
      if (this.readyState === CLOSED) return;
      this.readyState = CLOSED;
      this.dispatchEvent(new Event("error", { message: why }));
    }
  }
  Object.assign(EventSource, { CONNECTING, OPEN, CLOSED });
  Object.assign(EventSource.prototype, { CONNECTING, OPEN, CLOSED });
  return EventSource;
}

/** 200 with text/event-stream; an unknown status (the devtools omit it) passes. */
function checkResponse(status, header) {
  if (status !== undefined && status !== 200) return false;
  const type = new Headers(headerObject(header)).get("content-type");
  return type === null || /^text\/event-stream/i.test(type);
}

function describe(status, header) {
  const type = new Headers(headerObject(header)).get("content-type");
  return `EventSource answer was HTTP ${status} ${type || ""}`.trim();
}

/** The text/event-stream format: lines to events (WHATWG HTML §9.2.6). */
class Parser {
  constructor(dispatch) {
    this.dispatch = dispatch;
    this.decoder = new text.TextDecoder();
    this.line = "";
    this.afterCR = false;
    this.data = [];
    this.type = "";
    this.lastId = "";
    this.onRetry = () => {};
  }

  feed(chunk) {
    const text = this.decoder.decode(chunk, { stream: true });
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === "\n" && this.afterCR) {
        this.afterCR = false;
        continue;
      }
      this.afterCR = c === "\r";
      if (c === "\r" || c === "\n") {
        this.take(this.line);
        this.line = "";
      } else {
        this.line += c;
      }
    }
  }

  take(line) {
    if (line === "") {
      const data = this.data;
      const type = this.type || "message";
      this.data = [];
      this.type = "";
      if (data.length) this.dispatch(type, data.join("\n"), this.lastId);
      return;
    }
    if (line[0] === ":") return; // a comment, e.g. a heartbeat
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value[0] === " ") value = value.slice(1);
    if (field === "data") this.data.push(value);
    else if (field === "event") this.type = value;
    else if (field === "id" && value.indexOf("\0") < 0) this.lastId = value;
    else if (field === "retry" && /^\d+$/.test(value)) this.onRetry(Number(value));
  }
}

function originOf(url) {
  const m = /^(https?:\/\/[^/?#]+)/i.exec(url);
  return m ? m[1] : "";
}

/** Whether this base library can stream a response (`enableChunked`, 2.20.2). */
function canStream(wx) {
  return typeof wx.canIUse === "function" && wx.canIUse("request.object.enableChunked");
}

module.exports = { makeEventSource, canStream };
