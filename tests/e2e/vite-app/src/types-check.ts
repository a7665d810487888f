// Compiled by `tsc --noEmit` (strict), never run: proves the published
// types are complete and precise. Every option, the outcome, PayWatchError
// and the hook's return type are used; the @ts-expect-error lines must fail.
import { activeWatches, checkPayStatus, configure, init, stopPayStatus } from "paywatch";
import type {
  PayOutcome,
  PayOutcomeSource,
  PayOutcomeStatus,
  PayWatchError,
  PayWatchEvent,
  PayWatchOptions,
  Strategy,
  TypeEntry,
} from "paywatch";
import { usePayStatus } from "paywatch/react";
import type { UsePayStatus, UsePayStatusOptions } from "paywatch/react";

const plaque: TypeEntry = { label: "pc评价页牌匾扫码支付成功", eventId: 5357, payStatus: 3 };

const everyOption: Required<PayWatchOptions> = {
  strategy: "auto",
  endpoint: "/pay",
  action: "check_pay_status_by_order",
  intervalMs: 2000,
  longPollWaitSec: 25,
  sseUrl: "/payment-status",
  wsUrl: "wss://example.invalid/ws",
  timeoutMs: Infinity,
  requestTimeoutMs: 10_000,
  slowAfterMs: 60_000,
  slowIntervalMs: 10_000,
  livenessMs: 45_000,
  types: { 1: plaque, 2: { label: null, eventId: "5358", payStatus: 4 }, default: { payStatus: 4 } },
  analytics: true,
  exclusive: true,
  crossTab: true,
  paidMarkerMs: 86_400_000,
  shareWatch: true,
  onStatus: (payStatus) => console.log(payStatus),
  onPaid: (outcome: PayOutcome) => console.log(outcome.elapsedMs),
  onError: (error: PayWatchError) => {
    const kind: "check" | "body" | "connection" | "hook" | "unsupported" = error.kind;
    const feature: string | undefined = error.feature;
    console.warn(feature);
    const name: "PayWatchError" = error.name;
    const message: string = error.message;
    const strategy: Strategy | undefined = error.strategy;
    console.warn(kind, name, message, error.orderNo, strategy, error.cause);
  },
  onEvent: (event: PayWatchEvent) => console.debug(event.kind, event.strategy, event.orderNo, event.at, event.detail),
};

configure({ strategy: "sse", sseUrl: "/payment-status" });
configure({});
const strategies: Strategy[] = ["interval", "poll", "long-poll", "sse", "websocket", "auto"];

async function outcomes(): Promise<PayOutcomeStatus> {
  await init();
  await init(new URL("/paywatch_bg.wasm", location.href));
  const outcome: PayOutcome = await checkPayStatus("PW1", 1, everyOption);
  await checkPayStatus("PW2");
  await checkPayStatus("PW3", null, { strategy: strategies[0] });
  const n: number = activeWatches();
  stopPayStatus("PW1");
  stopPayStatus();
  const type: number | null = outcome.type;
  const attempts: number = outcome.attempts + n + (type ?? 0);
  const source: PayOutcomeSource = outcome.source;
  console.log(attempts, outcome.orderNo, outcome.payStatus, source);
  switch (outcome.status) {
    case "paid":
    case "closed":
    case "expired":
    case "timeout":
    case "cancelled":
      return outcome.status;
    default: {
      const never: never = outcome.status;
      return never;
    }
  }
}

// The hook: its return type, spelled out.
export function useCheckout(order_no: string): UsePayStatus<number> {
  const hookOptions: UsePayStatusOptions = { ...everyOption, onStatus: (s: number) => console.log(s + 1) };
  const result = usePayStatus(hookOptions);
  const { payStatus, outcome, checkPayStatus: check, stop } = result;
  const ps: number | null = payStatus;
  const status: PayOutcomeStatus | undefined = outcome?.status;
  const started: Promise<PayOutcome> = check(order_no, 1, { intervalMs: 500 });
  void started;
  void check(order_no);
  const stopped: void = stop();
  console.log(ps, status, stopped);
  return result;
}

// A page whose `types` table uses strings says so once.
export function useStringStatus() {
  const { payStatus } = usePayStatus<"plaque" | "report">({
    types: { 1: { payStatus: "plaque" }, default: { payStatus: "report" } },
    onStatus: (s) => {
      const narrowed: "plaque" | "report" = s;
      console.log(narrowed);
    },
  });
  const p: "plaque" | "report" | null = payStatus;
  return p;
}

// No options at all is fine too.
export function useBare() {
  return usePayStatus().checkPayStatus;
}

// --- Precision: each of these must be a type error. ---

// @ts-expect-error: not a strategy
configure({ strategy: "carrier-pigeon" });
// @ts-expect-error: intervalMs is a number of ms, not a string
checkPayStatus("PW4", 1, { intervalMs: "2000" });
// @ts-expect-error: an order number is a string
checkPayStatus(12345);
// @ts-expect-error: misspelt option
configure({ intervalMS: 100 });
export function usePrecise() {
  const r = usePayStatus();
  // @ts-expect-error: the hook's payStatus defaults to number | null
  const s: string = r.payStatus;
  // @ts-expect-error: not an outcome status
  const bad: boolean = r.outcome?.status === "refunded";
  // @ts-expect-error: the hook has no `start`
  r.start("PW5");
  // @ts-expect-error: onStatus gets the page's payStatus type (number), not a string
  usePayStatus({ onStatus: (x: string) => console.log(x) });
  return [s, bad];
}

void outcomes;
