import { useEffect, useState } from "react";
import { usePayStatus } from "paywatch/react";

const params = new URLSearchParams(location.search);
const scenario = params.get("scenario") ?? "pay";
const orderNo = params.get("order") ?? "";
const orderType = Number(params.get("type") ?? "1");
const intervalMs = 100;

declare global {
  interface Window {
    /** For the test: every `onStatus` the page's own handler got. */
    pageStatusCalls: unknown[];
    /** For the test: how often PayPanel's mount effect ran (2 under StrictMode in development). */
    mountEffects: number;
  }
}
window.pageStatusCalls = [];
window.mountEffects = 0;

export function App() {
  if (scenario === "unmount") return <Toggle />;
  return <PayPanel />;
}

/**
 * The seed page, migrated: the page keeps its own `payStatus` state, and the
 * hook replaces the timer state and the `checkPayStatus` function.
 */
function PayPanel() {
  const [pagePayStatus, setPayStatus] = useState<number | null>(null);
  const { payStatus, outcome, checkPayStatus, stop } = usePayStatus({
    intervalMs,
    onStatus: setPayStatus,
  });

  useEffect(() => {
    window.pageStatusCalls.push(pagePayStatus);
  }, [pagePayStatus]);

  // Starts watching on mount: under StrictMode (development) React mounts,
  // unmounts and mounts again; the first watch must not survive.
  useEffect(() => {
    window.mountEffects++;
    checkPayStatus(orderNo, orderType).catch((e: unknown) => console.error("checkPayStatus rejected", e));
  }, [checkPayStatus]);

  return (
    <section>
      <p>
        hook payStatus: <span id="pay-status">{payStatus ?? "waiting"}</span>
      </p>
      <p>
        page payStatus: <span id="page-status">{pagePayStatus ?? "waiting"}</span>
      </p>
      <p>
        outcome: <span id="outcome">{outcome ? `${outcome.status} via ${outcome.strategy}` : "watching"}</span>
      </p>
      <button id="stop" onClick={stop}>
        Stop
      </button>
    </section>
  );
}

/** A button mounts and unmounts a component that watches an order. */
function Toggle() {
  const [on, setOn] = useState(true);
  return (
    <section>
      <button id="toggle" onClick={() => setOn((v) => !v)}>
        {on ? "Close the payment dialog" : "Open the payment dialog"}
      </button>
      {on ? <PayDialog /> : <p id="closed">closed</p>}
    </section>
  );
}

function PayDialog() {
  const { payStatus, outcome, checkPayStatus } = usePayStatus({
    intervalMs,
    onStatus: (s) => window.pageStatusCalls.push(s),
    // The test pays the order after this component is gone: this must not run.
    onPaid: (o) => console.error("onPaid ran after unmount", o.orderNo),
  });
  return (
    <div>
      <button id="start" onClick={() => void checkPayStatus(orderNo, orderType)}>
        Scan to pay
      </button>
      <span id="dialog-status">{payStatus ?? "waiting"}</span>
      <span id="dialog-outcome">{outcome?.status ?? "-"}</span>
    </div>
  );
}
