// Types of `paywatch/miniprogram`: the same API as `paywatch`, for a WeChat
// mini-program, plus the page binding and the analytics globals object.
import type { PayWatchOptions, PayOutcome } from "./index";
export type { PayWatchOptions, PayOutcome, PayOutcomeStatus, PayWatchError, PayWatchEvent, Strategy, TypeEntry } from "./index";

/** Page-wide defaults, merged. `endpoint`, `sseUrl` and `wsUrl` must be absolute URLs here. */
export function configure(options: PayWatchOptions): void;

/**
 * Watches an order until paid, closed, expired, timed out or stopped. Rejects
 * at once on bad input, and when a URL the strategy needs is unset or relative.
 */
export function checkPayStatus(order_no: string, type?: number | null, options?: PayWatchOptions): Promise<PayOutcome>;

/** Stops one order's watch, or every watch; their promises resolve `cancelled`. */
export function stopPayStatus(order_no?: string): void;

/** How many watches are running. */
export function activeWatches(): number;

/** Every running watch checks now; dropped push connections reopen now. */
export function resumeWatches(): void;

/**
 * Loads the wasm ahead of time (optional). `wasmPath`: the code-package path
 * of the `.wasm.br`; default `/miniprogram_npm/paywatch/paywatch_bg.wasm.br`.
 */
export function init(wasmPath?: string): Promise<void>;

/** What `watchPage` adds to a page. */
export interface PayWatchPageMethods {
  /** `checkPayStatus`, stopped when this page unloads. */
  checkPayStatus(order_no: string, type?: number | null, options?: PayWatchOptions): Promise<PayOutcome>;
  /** Stops one of this page's watches, or all of them. */
  stopPayStatus(order_no?: string): void;
}

/**
 * `Page(watchPage({ ... }))`: `this.checkPayStatus` starts watches the page
 * owns; `onShow` checks them at once when the page comes back; `onUnload`
 * stops them. Your own lifecycle functions still run.
 */
export function watchPage<T extends object>(definition: T & ThisType<T & PayWatchPageMethods & { setData(data: object): void; data: any }>): T & PayWatchPageMethods;

/** The core's global object (not the host's): put `kbnClickAna` and `PinganAna` here. */
export const globals: {
  kbnClickAna?: (label: string) => void;
  PinganAna?: { fire(eventId: number | string): void };
  [name: string]: unknown;
};
