// paywatch is configured once for the whole mini-program: a mini-program
// has no page address, so every URL is absolute.
const paywatch = require("paywatch/miniprogram");
const { SERVER } = require("./config.js");

paywatch.configure({
  endpoint: `${SERVER}/pay`,
  sseUrl: `${SERVER}/payment-status`,
  wsUrl: `${SERVER.replace(/^http/, "ws")}/ws`,
});

// The seed page's analytics hooks. A real app calls its analytics SDK here;
// this one keeps what it was told, so the page (and the tests) can show it.
paywatch.globals.kbnClickAna = (label) => {
  getApp().globalData.conversions.push({ hook: "kbnClickAna", value: label });
};
paywatch.globals.PinganAna = {
  fire: (eventId) => getApp().globalData.conversions.push({ hook: "PinganAna.fire", value: eventId }),
};

App({
  globalData: { conversions: [] },
  onLaunch() {
    paywatch.init().catch((e) => console.error(e)); // load the wasm before the first page needs it
  },
});
