// The pay page: create an order, show its QR code, and flip to "paid" the
// moment paywatch sees the payment. watchPage binds the watch to this page:
// it stops on onUnload, and checks at once when the payer comes back (onShow).
const { watchPage } = require("paywatch/miniprogram");
const { SERVER } = require("../../config.js");

const STRATEGIES = ["auto", "websocket", "sse", "long-poll", "poll", "interval"];

Page(
  watchPage({
    data: {
      strategies: STRATEGIES,
      strategyIndex: 0,
      strategy: "auto",
      orderNo: "",
      qrUrl: "",
      payUrl: "",
      status: "creating",
      paid: false,
      payStatus: null,
      via: "",
      message: "",
    },

    onLoad(query) {
      const i = Math.max(0, STRATEGIES.indexOf(query.strategy));
      this.setData({ strategyIndex: i, strategy: STRATEGIES[i] });
      this.newOrder();
    },

    newOrder() {
      this.setData({ status: "creating", paid: false, payStatus: null, via: "", message: "", orderNo: "", qrUrl: "" });
      wx.request({
        url: `${SERVER}/orders`,
        method: "POST",
        data: {},
        success: (res) => {
          if (res.statusCode !== 201 || !res.data || !res.data.order_no) {
            this.setData({ status: "error", message: `could not create an order (HTTP ${res.statusCode})` });
            return;
          }
          const no = res.data.order_no;
          this.setData({
            orderNo: no,
            qrUrl: `${SERVER}/orders/${encodeURIComponent(no)}/qr.svg`,
            payUrl: res.data.pay_url,
            status: "waiting",
          });
          this.watch(no);
        },
        fail: (err) => this.setData({ status: "error", message: err.errMsg }),
      });
    },

    watch(orderNo) {
      this.checkPayStatus(orderNo, 1, {
        strategy: this.data.strategy,
        onStatus: (payStatus) => this.setData({ paid: true, status: "paid", payStatus }),
        onError: (e) => this.setData({ message: e.message }),
      }).then((outcome) => {
        if (outcome.orderNo !== this.data.orderNo) return; // an older order, replaced
        this.setData({ status: outcome.status, via: outcome.strategy, message: "" });
      }, (e) => this.setData({ status: "error", message: e.message }));
    },

    pickStrategy(e) {
      const i = Number(e.detail.value);
      this.setData({ strategyIndex: i, strategy: STRATEGIES[i] });
      this.newOrder();
    },

    // For trying it in the devtools: what scanning the QR code and paying does.
    payNow() {
      wx.request({ url: `${SERVER}/orders/${encodeURIComponent(this.data.orderNo)}/pay`, method: "POST" });
    },
  }),
);
