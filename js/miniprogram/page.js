// Binds watches to a page's lifecycle: `Page(watchPage({ ... }))`.
//   - `this.checkPayStatus(no, type, options)` starts a watch the page owns;
//   - onShow (coming back, e.g. from the payment sheet) checks every running
//     watch at once; the first onShow, right after onLoad, does not;
//   - onHide keeps watching: the host cuts requests and sockets after 5 s in
//     the background, the core retries, and the next onShow checks at once;
//   - onUnload stops every watch the page started (the seed's clearInterval),
//     and a watch the page asks for after unloading never starts.
"use strict";

const KEY = "__paywatchPage";

function makeWatchPage(api) {
  return function watchPage(definition) {
    if (!definition || typeof definition !== "object") {
      throw new TypeError("watchPage takes the object you would pass to Page()");
    }
    const own = (name) => (typeof definition[name] === "function" ? definition[name] : null);
    const onLoad = own("onLoad");
    const onShow = own("onShow");
    const onUnload = own("onUnload");
    return Object.assign({}, definition, {
      onLoad(query) {
        pageState(this);
        if (onLoad) return onLoad.call(this, query);
      },
      onShow() {
        const s = pageState(this);
        if (s.shown && s.orders.size > 0) api.resumeWatches();
        s.shown = true;
        if (onShow) return onShow.call(this);
      },
      onUnload() {
        const s = pageState(this);
        s.unloaded = true;
        for (const no of s.orders) api.stopPayStatus(no);
        s.orders.clear();
        if (onUnload) return onUnload.call(this);
      },
      /** `checkPayStatus` for this page: stopped when the page unloads. */
      checkPayStatus(orderNo, type, options) {
        const s = pageState(this);
        if (s.unloaded) {
          return Promise.resolve(cancelled(orderNo, type, options));
        }
        const watch = api.checkPayStatus(orderNo, type, options);
        if (typeof orderNo === "string") {
          s.orders.add(orderNo);
          const forget = () => s.orders.delete(orderNo);
          watch.then(forget, forget);
        }
        return watch;
      },
      /** Stops one of this page's watches, or all of them. */
      stopPayStatus(orderNo) {
        const s = pageState(this);
        for (const no of orderNo === undefined ? [...s.orders] : [orderNo]) {
          if (s.orders.delete(no)) api.stopPayStatus(no);
        }
      },
    });
  };
}

function pageState(page) {
  if (!page[KEY]) page[KEY] = { orders: new Set(), shown: false, unloaded: false };
  return page[KEY];
}

/** The outcome of a watch that never started: the page was already gone. */
function cancelled(orderNo, type, options) {
  return {
    status: "cancelled",
    orderNo: String(orderNo),
    type: typeof type === "number" ? type : null,
    payStatus: null,
    strategy: (options && options.strategy) || "poll",
    attempts: 0,
    elapsedMs: 0,
  };
}

module.exports = { makeWatchPage };
