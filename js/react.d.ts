import type { PayOutcome, PayWatchOptions } from "./index.js";

export type { PayOutcome, PayOutcomeStatus, PayWatchError, PayWatchEvent, PayWatchOptions, Strategy, TypeEntry } from "./index.js";

/** `S` as written, not inferred from where it is used (works before TypeScript 5.4's `NoInfer`). */
type NoInferStatus<S> = [S][S extends any ? 0 : never];

/**
 * The hook's options: every `PayWatchOptions` option. `S` is the type of the
 * `payStatus` values of your `types` table (the default table's are `3` and
 * `4`, hence `number`); pass it explicitly when yours differ:
 * `usePayStatus<"plaque" | "report">({ types: … })`.
 */
export interface UsePayStatusOptions<S = number> extends Omit<PayWatchOptions, "onStatus"> {
  /** Called once with the type's `payStatus` when paid; `setPayStatus` from `useState` fits. */
  onStatus?: (payStatus: NoInferStatus<S>) => void;
}

export interface UsePayStatus<S = number> {
  /** What `onStatus` got when the order was paid; `null` until then (and again when a new watch starts). */
  payStatus: S | null;
  /** The latest watch's outcome; `null` while it runs (and before any). */
  outcome: PayOutcome | null;
  /**
   * Starts a watch with the hook's options (those of the latest render,
   * merged with `options`). Stable across renders. Rejects at once on bad
   * input, like `checkPayStatus` from `paywatch`.
   */
  checkPayStatus: (order_no: string, type?: number | null, options?: UsePayStatusOptions<S>) => Promise<PayOutcome>;
  /** Stops the watches this component started (others on the page go on); their outcome is `cancelled`. Stable across renders. */
  stop: () => void;
}

/**
 * Watches an order's payment from a React component; stops its watch when
 * the component unmounts and never sets state after that.
 *
 * ```tsx
 * const { payStatus, checkPayStatus } = usePayStatus({ onStatus: setPayStatus });
 * checkPayStatus(order_no, type);
 * ```
 */
export function usePayStatus<S = number>(options?: UsePayStatusOptions<S>): UsePayStatus<S>;
