// `paywatch/react`: the React hook. Only this entry imports React; the main
// entry (`paywatch`) works without it.
import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import { checkPayStatus as startWatch, stopPayStatus } from "./index.js";

// useLayoutEffect keeps the options ref current before any effect or event
// handler of the same commit runs; on the server (no `window`) fall back to
// useEffect, which React 18 does not warn about there.
const useIsomorphicLayoutEffect = typeof window !== "undefined" ? useLayoutEffect : useEffect;

// Callback options the hook forwards to the latest render's options, so the
// page may pass fresh closures on every render without restarting a watch.
const FORWARDED = ["onPaid", "onError", "onEvent"];

/**
 * Watches an order's payment from a React component.
 *
 * ```jsx
 * const { payStatus, checkPayStatus } = usePayStatus({ onStatus: setPayStatus });
 * // later, e.g. when the QR code is shown:
 * checkPayStatus(order_no, type);
 * ```
 *
 * `checkPayStatus(order_no, type?, options?)` starts a watch with the
 * options of the latest render (merged with `options`, when given) and
 * returns its promise. `payStatus` is what `onStatus` got (null until paid),
 * `outcome` the watch's outcome (null while watching). `stop()` stops the
 * watches this component started (not other watches on the page);
 * unmounting does the same. State is never set after unmount, and `outcome`
 * only comes from the latest call (StrictMode's first-mount watch, stopped
 * by its simulated unmount, does not report `cancelled`).
 */
export function usePayStatus(options) {
  const [payStatus, setPayStatus] = useState(null);
  const [outcome, setOutcome] = useState(null);

  const optionsRef = useRef(options);
  useIsomorphicLayoutEffect(() => {
    optionsRef.current = options;
  });

  // Whether the component is mounted (StrictMode runs mount → unmount →
  // mount on one instance; the ref follows each step).
  const mountedRef = useRef(false);
  // Token of the latest checkPayStatus call: only its watch sets `outcome`.
  const currentRef = useRef(null);
  // Orders this instance started whose watch has not ended: order → the
  // tokens of its calls still pending (a call for the order already being
  // watched shares that watch's promise).
  const ordersRef = useRef(null);
  if (ordersRef.current === null) ordersRef.current = new Map();

  // Stops the watches this instance started, and only those.
  const stop = useCallback(() => {
    const orders = ordersRef.current;
    const nos = [...orders.keys()];
    orders.clear();
    for (const no of nos) stopPayStatus(no);
  }, []);

  useEffect(() => {
    mountedRef.current = true;
    return () => {
      mountedRef.current = false;
      currentRef.current = null;
      stop();
    };
  }, [stop]);

  const checkPayStatus = useCallback((order_no, type, callOptions) => {
    const token = {};
    currentRef.current = token;
    const latest = (name) => {
      const own = callOptions ? callOptions[name] : undefined;
      return own !== undefined ? own : optionsRef.current ? optionsRef.current[name] : undefined;
    };

    const base = { ...(optionsRef.current || {}), ...(callOptions || {}) };
    const opts = { ...base };
    opts.onStatus = (value) => {
      if (!mountedRef.current) return;
      setPayStatus(value);
      const hook = latest("onStatus");
      if (typeof hook === "function") hook(value);
    };
    for (const name of FORWARDED) {
      // Only forward what was set at call time: leaving a callback out
      // keeps paywatch's default (e.g. onError → console.warn).
      if (typeof base[name] !== "function") continue;
      opts[name] = (arg) => {
        if (!mountedRef.current) return;
        const hook = latest(name);
        (typeof hook === "function" ? hook : base[name])(arg);
      };
    }

    if (mountedRef.current) {
      setOutcome(null);
      setPayStatus(null);
    }
    const orders = ordersRef.current;
    if (typeof order_no === "string" && order_no !== "") {
      if (!orders.has(order_no)) orders.set(order_no, new Set());
      orders.get(order_no).add(token);
    }
    const settle = () => {
      const tokens = orders.get(order_no);
      if (!tokens) return;
      tokens.delete(token);
      if (tokens.size === 0) orders.delete(order_no);
    };

    const promise = startWatch(order_no, type, opts);
    promise.then(
      (result) => {
        settle();
        if (mountedRef.current && currentRef.current === token) setOutcome(result);
      },
      settle,
    );
    return promise;
  }, []);

  return { payStatus, outcome, checkPayStatus, stop };
}
