// paywatch demo: one order per strategy, side by side.
//
// Safety: everything that comes from the server or from paywatch (order
// numbers, event details, error messages) reaches the DOM only through
// `textContent` / `createElement` / attribute setters — never `innerHTML`.
import { checkPayStatus, stopPayStatus, activeWatches } from "/pkg/index.js";

const STRATEGIES = [
  { name: "interval", blurb: "A check on a fixed 2 s timer (a tick is skipped while one is in flight)." },
  { name: "poll", blurb: "A check, a 2 s pause, the next check — never two at once." },
  { name: "long-poll", blurb: "The server holds each check until the status changes (or 25 s pass)." },
  { name: "sse", blurb: "Server-Sent Events: one open stream, the server pushes each change." },
  { name: "websocket", blurb: "One socket, subscribed to the order; the server pushes each change." },
];
const INTERVAL_MS = 2000;
const MAX_ROWS = 50;
const FINAL = new Set(["paid", "closed", "expired", "timeout", "cancelled"]);

const $ = (id) => document.getElementById(id);
const cardsEl = $("cards");
const chartEl = $("chart");
const banner = $("banner");
const btnNew = $("new-orders");
const btnPayAll = $("pay-all");
const btnStop = $("stop-all");
const activeEl = $("active");

/** Creates an element with a class and optional text (always via textContent). */
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

const pad = (n, w = 2) => String(n).padStart(w, "0");
function clock(ms) {
  const d = new Date(ms);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}
function mmss(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${pad(s % 60)}`;
}
const orderPath = (no) => `/orders/${encodeURIComponent(no)}`;

function showBanner(text) {
  banner.textContent = text;
  banner.hidden = !text;
}

// ---------------------------------------------------------------- cards

/** @type {Map<string, ReturnType<typeof makeCard>>} */
const cards = new Map();

function makeCard({ name, blurb }) {
  const root = el("article", "card");
  root.dataset.strategy = name;
  root.dataset.status = "idle";

  const head = el("header", "card-head");
  head.append(el("h3", "strategy", name));
  const pill = el("span", "pill", "no order");
  head.append(pill);
  root.append(head, el("p", "blurb", blurb));

  const orderNo = el("div", "order-no mono", "no order yet");
  orderNo.title = "Order number";
  root.append(orderNo);

  const orderRow = el("div", "order-row");
  const qrBtn = el("button", "qr");
  qrBtn.type = "button";
  qrBtn.disabled = true;
  qrBtn.title = "Enlarge the QR code";
  const qrImg = el("img");
  qrImg.width = 96;
  qrImg.height = 96;
  qrImg.alt = "";
  qrImg.hidden = true;
  const qrEmpty = el("span", "qr-empty", "QR");
  qrBtn.append(qrImg, qrEmpty);

  const side = el("div", "order-side");
  const cdLabel = el("div", "label", "Expires in");
  const countdown = el("div", "countdown", "—");
  const ttl = el("div", "ttl");
  const ttlBar = el("span");
  ttl.append(ttlBar);
  const payBtn = el("button", "btn pay small", "Pay");
  payBtn.type = "button";
  payBtn.disabled = true;
  side.append(cdLabel, countdown, ttl, payBtn);
  orderRow.append(qrBtn, side);
  root.append(orderRow);

  const stats = el("dl", "stats");
  const stat = (label, title) => {
    const box = el("div");
    box.title = title;
    const dd = el("dd", null, "—");
    box.append(el("dt", null, label), dd);
    stats.append(box);
    return dd;
  };
  const latEl = stat("Detected in", "Pay click → onStatus");
  latEl.parentElement.className = "lat";
  const reqEl = stat("Requests", "Live count of check + connect events");
  const attEl = stat("Attempts", "outcome.attempts (HTTP checks + push connections)");
  root.append(stats);

  const tlHead = el("div", "tl-head");
  tlHead.append(el("span", null, "Timeline"));
  const tlCount = el("span", "tl-count", "");
  tlHead.append(tlCount);
  const timeline = el("ol", "timeline");
  timeline.setAttribute("aria-live", "off");
  const tlEmpty = el("li", "tl-empty", "Click New orders to start. Every onEvent step appears here, newest first.");
  timeline.append(tlEmpty);
  root.append(tlHead, timeline);

  const card = {
    name, root, pill, orderNo, qrBtn, qrImg, qrEmpty, cdLabel, countdown, ttlBar, payBtn,
    latEl, reqEl, attEl, timeline, tlCount,
    gen: 0,
    order: null,
    createdAt: 0,
    status: "idle",
    elapsedMs: null,
    events: 0,
    live: 0,
    seen: false,
    payClickedAt: null,
    latency: null,
  };

  qrBtn.addEventListener("click", () => card.order && openQr(card.order));
  payBtn.addEventListener("click", () => {
    if (!card.order) return;
    pay(card, performance.now());
  });
  return card;
}

function setStatus(card, status) {
  card.status = status;
  card.root.dataset.status = status;
  card.pill.textContent = status;
  const final = FINAL.has(status);
  card.payBtn.disabled = !card.order || final;
  refreshButtons();
}

function resetCard(card) {
  card.gen += 1;
  card.order = null;
  card.events = 0;
  card.live = 0;
  card.seen = false;
  card.payClickedAt = null;
  card.latency = null;
  card.elapsedMs = null;
  card.root.dataset.seen = "0";
  delete card.root.dataset.latency;
  card.orderNo.textContent = "creating…";
  card.qrImg.hidden = true;
  card.qrImg.removeAttribute("src");
  card.qrEmpty.hidden = false;
  card.qrBtn.disabled = true;
  card.countdown.textContent = "—";
  card.ttlBar.style.width = "0%";
  card.latEl.textContent = "—";
  card.latEl.className = "";
  card.reqEl.textContent = "0";
  card.attEl.textContent = "—";
  card.tlCount.textContent = "";
  card.timeline.replaceChildren();
  setStatus(card, "creating");
  card.pill.textContent = "creating";
}

/** Adds one row at the top of the card's timeline, keeping at most MAX_ROWS. */
function addRow(card, kind, detail, at = Date.now()) {
  const li = el("li", `ev k-${kind}`);
  if (detail && /^(paid|closed|expired|timeout|cancelled)$/.test(detail)) li.classList.add(`d-${detail}`);
  const time = el("time", "t", clock(at));
  time.dateTime = new Date(at).toISOString();
  const what = el("span", "what");
  what.append(el("span", "kind", kind));
  if (detail !== undefined && detail !== null && detail !== "") what.append(" ", el("span", "detail", detail));
  li.append(time, what);
  card.timeline.prepend(li);
  while (card.timeline.children.length > MAX_ROWS) card.timeline.lastElementChild.remove();
  card.events += 1;
  card.tlCount.textContent =
    card.events > MAX_ROWS ? `${card.events} events · last ${MAX_ROWS}` : `${card.events} event${card.events === 1 ? "" : "s"}`;
}

// ---------------------------------------------------------------- watching

async function createOrder() {
  const res = await fetch("/orders", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  const body = await res.json().catch(() => null);
  if (!res.ok || !body || typeof body.order_no !== "string") {
    const why = body && typeof body.error === "string" ? body.error : `HTTP ${res.status}`;
    throw new Error(`POST /orders failed: ${why}`);
  }
  return body;
}

function startWatch(card, order) {
  const gen = card.gen;
  const mine = () => card.gen === gen;
  card.order = order;
  card.createdAt = Date.now();
  card.orderNo.textContent = order.order_no;
  card.qrImg.src = `${orderPath(order.order_no)}/qr.svg`;
  card.qrImg.alt = `QR code to pay order ${order.order_no}`;
  card.qrImg.hidden = false;
  card.qrEmpty.hidden = true;
  card.qrBtn.disabled = false;
  setStatus(card, "pending");
  tickCard(card);

  const promise = checkPayStatus(order.order_no, 1, {
    strategy: card.name,
    exclusive: false,
    intervalMs: INTERVAL_MS,
    onEvent(ev) {
      if (!mine()) return;
      addRow(card, ev.kind, ev.detail, ev.at);
      if (ev.kind === "check" || ev.kind === "connect") {
        card.live += 1;
        card.reqEl.textContent = String(card.live);
      }
      // Watching for real: a poll answered, a push channel opened, or a
      // long-poll check is being held by the server.
      const held = ev.kind === "check" && card.root.dataset.strategy === "long-poll";
      if ((ev.kind === "answer" || ev.kind === "open" || held) && !card.seen) {
        card.seen = true;
        card.root.dataset.seen = "1";
      }
    },
    onStatus(payStatus) {
      if (!mine()) return;
      const now = performance.now();
      if (card.payClickedAt !== null && card.latency === null) {
        card.latency = Math.round(now - card.payClickedAt);
        card.root.dataset.latency = String(card.latency);
        card.latEl.textContent = `${card.latency} ms`;
        card.latEl.className = "good";
      } else if (card.latency === null) {
        card.latEl.textContent = "paid elsewhere";
        card.latEl.className = "muted";
      }
      addRow(card, "hook", `onStatus(${JSON.stringify(payStatus)})`);
      setStatus(card, "paid");
      renderChart();
    },
    onPaid(outcome) {
      if (!mine()) return;
      addRow(card, "hook", `onPaid · seen by ${outcome.strategy}`);
    },
    onError(err) {
      if (!mine()) return;
      const kind = err && typeof err.kind === "string" ? `${err.kind}: ` : "";
      const msg = err && err.message ? err.message : String(err);
      addRow(card, "error", kind + msg);
    },
  });

  promise.then(
    (outcome) => {
      if (!mine()) return;
      card.attEl.textContent = String(outcome.attempts);
      card.elapsedMs = outcome.elapsedMs;
      setStatus(card, outcome.status);
      tickCard(card);
    },
    (err) => {
      if (!mine()) return;
      addRow(card, "error", err && err.message ? err.message : String(err));
      setStatus(card, "error");
    },
  );
}

async function newOrders() {
  showBanner("");
  btnNew.disabled = true;
  stopPayStatus(); // every watch of this page; their promises resolve "cancelled"
  for (const card of cards.values()) resetCard(card);
  renderChart();
  try {
    const list = [...cards.values()];
    const gens = list.map((c) => c.gen);
    const orders = await Promise.allSettled(list.map(() => createOrder()));
    orders.forEach((r, i) => {
      const card = list[i];
      if (card.gen !== gens[i]) return; // superseded meanwhile
      if (r.status === "fulfilled") {
        startWatch(card, r.value);
      } else {
        card.orderNo.textContent = "—";
        addRow(card, "error", r.reason && r.reason.message ? r.reason.message : String(r.reason));
        setStatus(card, "error");
      }
    });
    const failed = orders.filter((r) => r.status === "rejected");
    if (failed.length) showBanner(`Could not create ${failed.length} order(s): ${failed[0].reason.message}`);
  } finally {
    btnNew.disabled = false;
    refreshButtons();
  }
}

// Which door marked an order, as the server's demo pay answer names it.
const DOORS = {
  wechatpay: "a signed WeChat Pay notification (POST /notify/wechatpay)",
  demo: "the demo door (no --demo-payer)",
};

async function pay(card, t0) {
  const order = card.order;
  const gen = card.gen;
  if (!order || FINAL.has(card.status)) return;
  if (card.latency === null) card.payClickedAt = t0;
  addRow(card, "pay", "POST /orders/…/pay");
  try {
    const res = await fetch(`${orderPath(order.order_no)}/pay`, { method: "POST" });
    if (res.ok) {
      const body = await res.json().catch(() => null);
      if (card.gen === gen && body && body.source) addRow(card, "pay", `door: ${DOORS[body.source] || body.source}`);
    } else {
      const body = await res.json().catch(() => null);
      const why = body && typeof body.error === "string" ? body.error : res.statusText;
      if (card.gen === gen) addRow(card, "error", `pay: HTTP ${res.status} ${why}`);
    }
  } catch (e) {
    if (card.gen === gen) addRow(card, "error", `pay: ${e.message}`);
  }
}

function payAll() {
  const t0 = performance.now();
  for (const card of cards.values()) pay(card, t0);
}

// ---------------------------------------------------------------- chart

function renderChart() {
  const list = [...cards.values()];
  // Scale to at least one poll interval, the natural worst case of polling.
  const max = Math.max(INTERVAL_MS, ...list.map((c) => c.latency ?? 0));
  const known = list.filter((c) => c.latency !== null).sort((a, b) => a.latency - b.latency);
  const rest = list.filter((c) => c.latency === null);
  const best = known.length ? known[0].latency : null;
  chartEl.replaceChildren(
    ...[...known, ...rest].map((c) => {
      const li = el("li", "bar-row");
      li.dataset.strategy = c.name;
      const track = el("span", "track");
      const bar = el("span", "bar");
      if (c.latency !== null) {
        bar.style.width = `${Math.max(1.5, (c.latency / max) * 100)}%`;
        if (c.latency === best) li.classList.add("best");
      } else {
        li.classList.add("none");
      }
      track.append(bar);
      const value =
        c.latency !== null ? `${c.latency} ms` : c.status === "paid" ? "paid elsewhere" : c.order ? "not paid yet" : "—";
      li.append(el("span", "name", c.name), track, el("span", "value", value));
      return li;
    }),
  );
}

// ---------------------------------------------------------------- countdown, buttons

function tickCard(card) {
  if (!card.order) return;
  const left = card.order.expires_at - Date.now();
  if (card.status === "pending") {
    card.cdLabel.textContent = "Expires in";
    card.countdown.textContent = mmss(left);
    card.countdown.classList.toggle("soon", left < 60_000);
    const total = Math.max(1, card.order.expires_at - card.createdAt);
    card.ttlBar.style.width = `${Math.max(0, Math.min(100, (left / total) * 100))}%`;
  } else {
    card.countdown.classList.remove("soon");
    card.ttlBar.style.width = "0%";
    if (card.elapsedMs !== null) {
      card.cdLabel.textContent = "Watched";
      card.countdown.textContent = `${(card.elapsedMs / 1000).toFixed(1)} s`;
    } else {
      card.cdLabel.textContent = "Watch";
      card.countdown.textContent = card.status;
    }
  }
}

function refreshButtons() {
  const list = [...cards.values()];
  btnPayAll.disabled = !list.some((c) => c.order && c.status === "pending");
  btnStop.disabled = !list.some((c) => c.order && !FINAL.has(c.status) && c.status !== "error");
}

function tick() {
  for (const card of cards.values()) tickCard(card);
  const n = activeWatches();
  activeEl.textContent = `${n} watch${n === 1 ? "" : "es"} running`;
  activeEl.classList.toggle("on", n > 0);
}

// ---------------------------------------------------------------- QR dialog

const dialog = $("qr-dialog");
function openQr(order) {
  $("qr-big").src = `${orderPath(order.order_no)}/qr.svg`;
  $("qr-order").textContent = order.order_no;
  $("qr-url").textContent = typeof order.pay_url === "string" ? order.pay_url : "";
  if (typeof dialog.showModal === "function") dialog.showModal();
}
dialog.addEventListener("click", (e) => {
  if (e.target === dialog) dialog.close();
});

// ---------------------------------------------------------------- start

for (const s of STRATEGIES) {
  const card = makeCard(s);
  cards.set(s.name, card);
  cardsEl.append(card.root);
}
renderChart();
btnNew.addEventListener("click", newOrders);
btnPayAll.addEventListener("click", payAll);
btnStop.addEventListener("click", () => stopPayStatus());
setInterval(tick, 250);
tick();
