/** How a watch learns the status. */
export type Strategy = "interval" | "poll" | "long-poll" | "sse" | "websocket" | "auto";

/** What a paid order of one `type` reports. */
export interface TypeEntry {
  /** Passed to `window.kbnClickAna(label)`; omitted: not called. */
  label?: string | null;
  /** Passed to `window.PinganAna.fire(eventId)`; omitted: not called. */
  eventId?: number | string | null;
  /** Passed to `onStatus` and set as `outcome.payStatus`. */
  payStatus?: unknown;
}

/** A step of a watch, for logs and timelines (`onEvent`). */
export interface PayWatchEvent {
  /**
   * `check`, `answer`, `skip`, `connect`, `open`, `push`, `ignored`, `lost`, `reconnect`, `fallback`, `end`;
   * `wake` (the page came back: visible, focus, resume, or `resumeWatches()`), `pause` / `resume`
   * (back/forward cache, offline), `retry` (a failed catch-up check is tried again), `hold`
   * (waiting out a server's `Retry-After`), `replace` (a held long-poll replaced on return);
   * across tabs: `lead` (this tab now watches the order for every tab), `follow` (another tab does).
   */
  kind: string;
  strategy: Strategy;
  orderNo: string;
  /** `Date.now()` when it happened. */
  at: number;
  /** The verdict (`pending`, `paid`, …) or other detail, when there is one. */
  detail?: string;
}

/**
 * An error passed to `onError` (watching goes on), or the rejection of
 * `init()` / `checkPayStatus` when this browser lacks what paywatch needs
 * (`kind: "unsupported"`, `feature` names what is missing).
 */
export interface PayWatchError extends Error {
  name: "PayWatchError";
  /** `check` (request failed), `body` (not a status body), `connection` (push channel), `hook` (a callback threw), `unsupported` (the browser lacks `feature`). */
  kind: "check" | "body" | "connection" | "hook" | "unsupported";
  /** For `unsupported`: what the browser lacks, e.g. `"AbortController"`, `"WebAssembly reference types"`, `"EventSource"`. */
  feature?: string;
  /** The order being watched; `""` when `init()` was rejected. */
  orderNo: string;
  strategy?: Strategy;
  /** For `hook`: what the callback threw. */
  cause?: unknown;
}

export interface PayWatchOptions {
  /** How to watch. Default `"poll"`. */
  strategy?: Strategy;
  /** Status URL for interval, poll, long-poll and catch-up checks. Default `"/pay"`. */
  endpoint?: string;
  /** Sent as the `action` query parameter. Default `"check_pay_status_by_order"`. */
  action?: string;
  /** Gap between checks for interval and poll (ms, > 0). Default `2000`. */
  intervalMs?: number;
  /** How long the server may hold a long-poll request (s, >= 0). Default `25`. */
  longPollWaitSec?: number;
  /** EventSource URL. Default `"/payment-status"`. */
  sseUrl?: string;
  /** WebSocket URL, relative to the page allowed. Default `ws(s)://<page host>/ws`. */
  wsUrl?: string;
  /** Give up after this long: outcome `timeout` (ms, > 0, `Infinity` for never). Default `900000` (15 min). */
  timeoutMs?: number;
  /** Abort one HTTP check after this long (ms, > 0); long-poll adds the wait. Also how long a push connection may take to open. Default `10000`. */
  requestTimeoutMs?: number;
  /** Polling (interval, poll, safety-net checks) slows to `slowIntervalMs` after this long (ms, >= 0, `Infinity` for never). Default `60000`. */
  slowAfterMs?: number;
  /** Gap between polling checks after `slowAfterMs` (ms, > 0). Default `10000`. */
  slowIntervalMs?: number;
  /** Silence after which a push connection that has sent heartbeats is taken for dead (ms, > 0, `Infinity` for never). Default: 2.5 × the server's heartbeat interval. */
  livenessMs?: number;
  /** Per-`type` analytics label, event id and `payStatus`; entries replace the seed table's (`1`, `default`). */
  types?: { [type: number]: TypeEntry; default?: TypeEntry };
  /** Call `window.kbnClickAna` and `window.PinganAna.fire` when paid, if they exist. Default `true`. */
  analytics?: boolean;
  /** A new exclusive watch cancels every running watch (one watch per page). Default `true`. */
  exclusive?: boolean;
  /**
   * Tabs of this browser profile watching the same order cooperate: one tab watches for all,
   * the outcome reaches every tab at once, and the analytics fire once per profile. `false`:
   * this page watches on its own and fires its own analytics. Default `true`.
   */
  crossTab?: boolean;
  /**
   * How long the paid marker in `localStorage` keeps reloads and other tabs from firing an
   * order's analytics again (ms, >= 0; `0`: no marker, only tabs paid at the same moment are
   * deduplicated). Default `86400000` (24 h).
   */
  paidMarkerMs?: number;
  /**
   * With `crossTab`, only one tab (the leader, elected with Web Locks) runs the transport;
   * `false`: this tab runs its own, still telling and hearing the others. Default `true`.
   */
  shareWatch?: boolean;
  /** Called once with the type's `payStatus` when paid (the seed's `setPayStatus`), in every tab watching the order. */
  onStatus?: (payStatus: any) => void;
  /** Called once with the outcome when paid, in every tab watching the order. */
  onPaid?: (outcome: PayOutcome) => void;
  /** A check failed or a hook threw; watching goes on. Default: `console.warn`. */
  onError?: (error: PayWatchError) => void;
  /** Every step of the watch, for logs and timelines. */
  onEvent?: (event: PayWatchEvent) => void;
}

export type PayOutcomeStatus = "paid" | "closed" | "expired" | "timeout" | "cancelled";

export type PayOutcomeSource = "server" | "tab" | "page";

export interface PayOutcome {
  status: PayOutcomeStatus;
  orderNo: string;
  /** The `type` passed to `checkPayStatus`, or `null`. */
  type: number | null;
  /** The type's `payStatus` when paid, else `null`. */
  payStatus: any;
  /** The transport that saw the final status (`poll` for a push transport's catch-up check), in this tab or the one that told it. */
  strategy: Strategy;
  /**
   * How this page learned the outcome: `server` (its own requests or connection), `tab`
   * (another tab watching the order told it), `page` (`timeout` and `cancelled`).
   */
  source: PayOutcomeSource;
  /** HTTP checks made plus push connections opened. */
  attempts: number;
  elapsedMs: number;
}

/** Sets page-wide default options, merged over earlier calls. Throws on an invalid option once loaded. */
export function configure(options: PayWatchOptions): void;

/**
 * Watches an order until it is paid, closed or expired, times out, or is
 * stopped. Rejects at once, before any request, on bad input. A call for the
 * order already being watched returns that watch's promise.
 */
export function checkPayStatus(order_no: string, type?: number | null, options?: PayWatchOptions): Promise<PayOutcome>;

/** Stops one order's watch, or every watch; their promises resolve `cancelled`. */
export function stopPayStatus(order_no?: string): void;

/**
 * Loads the wasm module ahead of time (optional). Rejects with a
 * `PayWatchError` of kind `unsupported` when the browser lacks a feature
 * paywatch needs.
 */
export function init(wasmSource?: string | URL | Response | BufferSource | WebAssembly.Module): Promise<void>;

/** How many watches are running on this page. */
export function activeWatches(): number;
/**
 * Every running watch checks now (unless a check is in flight or just started) and a dead push
 * connection reopens without waiting out its backoff. Browsers need not call it: paywatch listens to
 * `visibilitychange`, `focus`, `pageshow` and `online` itself. For hosts without those events.
 */
export function resumeWatches(): void;
