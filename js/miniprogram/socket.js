// `WebSocket` on top of `wx.connectSocket`, shaped like the browser's:
// readyState, send (throws while CONNECTING, as the standard says; the core
// queues its frames until `open`), close(code, reason), and open / message /
// error / close events. A SocketTask cannot remove its listeners, so the
// adapter ignores whatever the task reports after it has closed.
"use strict";

const { Event, CloseEvent, EventTarget, domError } = require("./events.js");

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

function makeWebSocket(wx) {
  class WebSocket extends EventTarget {
    constructor(url, protocols) {
      super();
      const s = String(url);
      if (!/^wss?:\/\/[^/?#]+/i.test(s)) {
        throw domError(
          "SyntaxError",
          `WebSocket URL ${JSON.stringify(s)} is not absolute: a mini-program needs wss://host/path (ws:// only in the devtools)`,
        );
      }
      this.url = s;
      this.readyState = CONNECTING;
      this.protocol = "";
      this.extensions = "";
      this.binaryType = "arraybuffer";
      this.bufferedAmount = 0;
      this.onopen = this.onmessage = this.onerror = this.onclose = null;
      const list = protocols === undefined ? undefined : [].concat(protocols).map(String);
      this._task = wx.connectSocket({
        url: s,
        protocols: list,
        fail: (err) => this._closed(1006, (err && err.errMsg) || "connectSocket failed", true),
      });
      if (!this._task) return; // an old base library without SocketTask: `fail` reported it
      this._task.onOpen(() => {
        if (this.readyState !== CONNECTING) return;
        this.readyState = OPEN;
        this.dispatchEvent(new Event("open"));
      });
      this._task.onMessage((res) => {
        if (this.readyState !== OPEN) return;
        this.dispatchEvent(new Event("message", { data: res.data, origin: originOf(s), lastEventId: "" }));
      });
      this._task.onError((err) => this._closed(1006, (err && err.errMsg) || "socket error", true));
      this._task.onClose((res) => this._closed(res && res.code ? res.code : 1005, (res && res.reason) || "", false));
    }

    send(data) {
      if (this.readyState === CONNECTING) {
        throw domError("InvalidStateError", "Failed to execute 'send' on 'WebSocket': Still in CONNECTING state.");
      }
      if (this.readyState !== OPEN) return; // the standard drops frames after close()
      this._task.send({ data: typeof data === "string" || data instanceof ArrayBuffer ? data : String(data) });
    }

    close(code, reason) {
      if (code !== undefined && code !== 1000 && !(code >= 3000 && code <= 4999)) {
        throw domError("InvalidAccessError", `close code must be 1000 or 3000-4999, got ${code}`);
      }
      if (this.readyState >= CLOSING) return;
      this.readyState = CLOSING;
      if (this._task) this._task.close({ code: code === undefined ? 1000 : code, reason: reason || "" });
      else this._closed(code || 1000, reason || "", false);
    }

    /** Ends the socket once: `error` first when it failed, then `close`. */
    _closed(code, reason, failed) {
      if (this.readyState === CLOSED) return;
      const wasOpen = this.readyState === OPEN;
      this.readyState = CLOSED;
      if (failed) {
        this.dispatchEvent(new Event("error", { message: reason }));
        if (this._task && wasOpen) this._task.close({ code: 1000, reason: "error" });
      }
      this.dispatchEvent(new CloseEvent("close", { code, reason, wasClean: !failed }));
    }
  }
  Object.assign(WebSocket, { CONNECTING, OPEN, CLOSING, CLOSED });
  Object.assign(WebSocket.prototype, { CONNECTING, OPEN, CLOSING, CLOSED });
  return WebSocket;
}

function originOf(url) {
  const m = /^(wss?:\/\/[^/?#]+)/i.exec(url);
  return m ? m[1] : "";
}

module.exports = { makeWebSocket };
