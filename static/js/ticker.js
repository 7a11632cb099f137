// Tickerwatch: keeps the watchlist table current over one WebSocket.
//
// The server-rendered table is already correct on first paint, so this module
// only ever touches a cell once the socket has delivered data for it. Protocol:
// watchlists/consumers.py (messages, close codes) and watchlists/live.py
// (snapshot, status heartbeat). Pure helpers live in quote-format.js.

import {
  DASH,
  SORT_KEYS,
  SPARK_HEIGHT,
  SPARK_WIDTH,
  backoffDelay,
  clampDecimals,
  decimalValue,
  direction,
  formatNumber,
  formatPercent,
  formatRange,
  formatSigned,
  marketLabel,
  marketModifier,
  parseIsoMs,
  rowIsStale,
  sortNext,
  sortedSymbols,
  sourceMessage,
  sourceName,
  sparklineShape,
} from "./quote-format.js";

const PING_INTERVAL_MS = 25_000; // presence heartbeat; the server allows 10 pings per 10 s
const PING_MIN_GAP_MS = 5_000; // extra probe pings (tab shown, back online) never faster than this
const PONG_TIMEOUT_MS = 15_000; // a ping unanswered this long means a dead (half-open) socket
const STABLE_CONNECTION_MS = 10_000; // a connection open this long resets the backoff
const TOO_MANY_RETRY_MS = 60_000; // 4429: other tabs hold the slots; ask again slowly
const BAD_CLIENT_RETRY_MS = 60_000; // 4400: something is wrong with us; do not hammer
const SKEW_SAMPLES = 8;
const DEFAULT_STALE_SECONDS = 30;
const DEFAULT_SPARKLINE_POINTS = 60; // settings.SPARKLINE_POINTS, when the config lacks it
// Rows stay put this long after the pointer or keyboard was last busy in the
// table body, so a live re-sort never moves the row someone is about to click.
const SORT_HOLD_MS = 3_000;
const SORT_DIRECTIONS = new Set(["ascending", "descending"]);
const SVG_NS = "http://www.w3.org/2000/svg";

const CLOSE_BAD_CLIENT = 4400;
const CLOSE_NOT_LOGGED_IN = 4401;
const CLOSE_FORBIDDEN = 4403;
const CLOSE_NOT_FOUND = 4404;
const CLOSE_TOO_MANY = 4429;
const CLOSE_CLIENT_DROP = 4000; // our own code when we give up on a socket

const SOURCE_STATES = new Set(["ok", "degraded", "down", "unknown"]);

// --- Page state -------------------------------------------------------------

let page = null; // set by start(): config and elements
// symbol -> {row, cells, hasQuote, unknown, marketState, fetchedAtMs, price,
//            changePercent, spark (decimal strings, or null until the snapshot brings them)}
const rows = new Map();
let listOrder = []; // the list's own order of symbols, whatever the display order
const sorting = {
  sort: null, // {key, dir} or null for the list's own order
  holdUntil: 0, // client ms; re-sorting waits while the table body is in use
  pending: false,
};
const live = {
  socket: null,
  everConnected: false,
  openedAt: 0, // client ms the current socket opened
  lastReceiveAt: 0, // any message, pong included: liveness of the socket itself
  lastPingAt: 0,
  lastUpdateAt: 0, // snapshot/quotes/status: liveness of the quote pipeline
  disconnectedSince: Date.now(), // client ms; null while open. Page load counts as disconnected.
  lastOkServerMs: null, // server clock: last ok status or snapshot
  skewSamples: [],
  skewMs: null, // server clock minus client clock; null until the first server_time
  source: { name: "", simulated: false, state: "unknown", retryAtServerMs: 0 },
  attempts: 0,
  reconnectTimer: null,
  reconnectAt: 0,
  waitReason: "", // "backoff" | "too_many" | "bad_client"
  pingTimer: null,
  suspended: false, // page in the back/forward cache
  terminal: null, // {text, login} once no reconnect should happen
  announced: { connection: "", source: "ok", silent: false },
};

// --- Small DOM helpers --------------------------------------------------------

function setText(element, text) {
  if (element && element.textContent !== text) element.textContent = text;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function setDirection(cell, dir) {
  cell.classList.toggle("up", dir === "up");
  cell.classList.toggle("down", dir === "down");
  cell.classList.toggle("flat", dir === "flat");
}

function clearDirection(cell) {
  cell.classList.remove("up", "down", "flat");
}

let announceTimer = null;

/** Status changes only: the region is polite, and ticks would drown it. */
function announce(text) {
  const region = page.announcer;
  if (!region) return;
  clearTimeout(announceTimer);
  if (region.textContent === text) {
    // Screen readers skip an unchanged region: clear it, then set it again.
    region.textContent = "";
    announceTimer = setTimeout(() => { region.textContent = text; }, 100);
  } else {
    region.textContent = text;
  }
}

function prefersReducedMotion() {
  return typeof matchMedia === "function" && matchMedia("(prefers-reduced-motion: reduce)").matches;
}

// --- Rows -------------------------------------------------------------------------

function rowCells(row) {
  const cells = {};
  for (const cell of row.querySelectorAll("[data-field]")) cells[cell.dataset.field] = cell;
  return cells;
}

/** The numeric price of the first paint (Django's "1,234.56"), for the first flash. */
function firstPaintPrice(cell) {
  const first = cell?.firstChild;
  if (!first || first.nodeType !== Node.TEXT_NODE) return null;
  const n = Number(first.textContent.trim().replace(/,/g, ""));
  return Number.isFinite(n) ? n : null;
}

/** The first paint's change % (Django's "+1,234.56%"), so a remembered sort applies before the snapshot. */
function firstPaintPercent(cell) {
  const text = cell?.textContent.trim().replace(/[,%+]/g, "") ?? "";
  const n = text ? Number(text) : NaN;
  return Number.isFinite(n) ? n : null;
}

function rowStateFromDom(row) {
  const cells = rowCells(row);
  const hasQuote = row.dataset.fetchedAt !== undefined;
  const unknown = row.classList.contains("is-unknown");
  const priced = hasQuote && !unknown;
  return {
    row,
    cells,
    hasQuote,
    unknown,
    marketState: row.dataset.marketState || "UNKNOWN",
    fetchedAtMs: parseIsoMs(row.dataset.fetchedAt),
    price: priced ? firstPaintPrice(cells.price) : null,
    changePercent: priced ? firstPaintPercent(cells.change_percent) : null,
    // The server drew the first trend line; its prices come with the snapshot.
    spark: null,
  };
}

function rowsReadFromDom() {
  rows.clear();
  for (const row of page.tbody.querySelectorAll("tr[data-symbol]")) {
    rows.set(row.dataset.symbol, rowStateFromDom(row));
  }
  listOrder = [...rows.keys()];
}

/** A row like _row.html's, for a symbol added elsewhere. Text only: symbols are untrusted. */
function rowCreate(symbol) {
  const row = el("tr", "quote-row");
  row.dataset.symbol = symbol;
  const th = el("th", "sym");
  th.scope = "row";
  th.append(el("span", "sym__code", symbol), " ");
  const name = el("span", "sym__name");
  name.dataset.field = "name";
  th.append(name);
  row.append(th);
  const specs = [
    ["price", "num price muted"],
    ["change", "num hide-narrow"],
    ["change_percent", "num"],
    ["trend", "trend hide-narrow"],
    ["range", "num hide-narrow"],
    ["market_state", "hide-narrow"],
  ];
  for (const [field, className] of specs) {
    const td = el("td", className);
    td.dataset.field = field;
    row.append(td);
  }
  // Move/remove need the item id and a CSRF token, which only the page has.
  const actions = el("td", "row-actions");
  actions.title = "Reload the page to move or remove this symbol";
  row.append(actions);
  const state = {
    row, cells: rowCells(row), hasQuote: false, unknown: false,
    marketState: "UNKNOWN", fetchedAtMs: null, price: null, changePercent: null, spark: [],
  };
  rowRenderNoQuote(state);
  return state;
}

function emptyRowCreate() {
  const row = el("tr", "empty-row");
  const td = el("td", "", "No symbols yet. Add one below.");
  td.colSpan = page.tbody.closest("table")?.tHead?.rows[0]?.cells.length || 8;
  row.append(td);
  return row;
}

/** Add, remove and reorder rows to match the list (and the chosen sort); returns the symbols added. */
function rowsReconcile(symbols) {
  const wanted = [...new Set(symbols.filter((s) => typeof s === "string" && s !== ""))];
  const keep = new Set(wanted);
  for (const [symbol, state] of rows) {
    if (!keep.has(symbol)) {
      state.row.remove();
      rows.delete(symbol);
    }
  }
  const emptyRow = page.tbody.querySelector("tr.empty-row");
  if (wanted.length && emptyRow) emptyRow.remove();

  const added = [];
  for (const symbol of wanted) {
    if (!rows.has(symbol)) {
      rows.set(symbol, rowCreate(symbol));
      added.push(symbol);
    }
  }
  listOrder = wanted;
  // New rows must reach the table now, so this ordering does not wait for an idle pointer.
  rowsOrder({ now: true });
  if (!wanted.length && !emptyRow) page.tbody.append(emptyRowCreate());
  return added;
}

/** The rows in the list's order, or the chosen sort's; moves nothing when the order is already right. */
function rowsOrder({ now = false } = {}) {
  if (!now && Date.now() < sorting.holdUntil) {
    sorting.pending = true;
    return;
  }
  sorting.pending = false;
  const entries = listOrder.filter((symbol) => rows.has(symbol)).map((symbol) => {
    const { price, changePercent } = rows.get(symbol);
    return { symbol, price, changePercent };
  });
  const wanted = sortedSymbols(entries, sorting.sort).map((symbol) => rows.get(symbol).row);
  const children = page.tbody.children;
  if (wanted.length === children.length && wanted.every((row, index) => children[index] === row)) return;
  const focused = document.activeElement;
  wanted.forEach((row, index) => {
    // Move only rows out of place, so focus inside unmoved rows survives.
    const current = children[index] ?? null;
    if (current !== row) page.tbody.insertBefore(row, current);
  });
  // A moved row loses focus in some browsers: give it back to whoever had it.
  if (focused && focused !== document.activeElement && page.tbody.contains(focused)) {
    focused.focus({ preventScroll: true });
  }
}

function rowRenderPlaceholder(state, nameText, priceText) {
  const { cells } = state;
  state.price = null;
  state.changePercent = null;
  setText(cells.name, nameText);
  if (cells.price) {
    setText(cells.price, priceText);
    cells.price.classList.add("muted");
  }
  for (const field of ["change", "change_percent", "range", "market_state"]) {
    if (!cells[field]) continue;
    setText(cells[field], DASH);
    clearDirection(cells[field]);
  }
}

function rowRenderNoQuote(state, name = "") {
  state.row.classList.remove("is-unknown");
  rowRenderPlaceholder(state, name, "No quote yet");
}

function rowRenderUnknown(state) {
  state.row.classList.add("is-unknown");
  rowRenderPlaceholder(state, "Unknown symbol", "Not found");
}

function priceCellRender(cell, priceText, currency) {
  cell.classList.remove("muted");
  const wanted = currency ? `${priceText} ${currency}` : priceText;
  if (cell.textContent === wanted && (!currency || cell.querySelector(".ccy"))) return;
  // Sub-unit codes (GBp, ILA, ZAc) are shown as Yahoo sends them.
  cell.replaceChildren(currency ? `${priceText} ` : priceText);
  if (currency) cell.append(el("span", "ccy", currency));
}

function marketCellRender(cell, marketState) {
  const label = marketLabel(marketState);
  const className = `mkt mkt--${marketModifier(marketState)}`;
  const span = cell.firstElementChild;
  if (span && span.className === className && span.textContent === label && cell.childNodes.length === 1) return;
  cell.replaceChildren(el("span", className, label));
}

function rowRenderQuote(state, q) {
  const { cells } = state;
  const hint = clampDecimals(q.price_hint);
  state.row.classList.remove("is-unknown");
  setText(cells.name, typeof q.name === "string" ? q.name : "");
  if (cells.price) priceCellRender(cells.price, formatNumber(q.price, hint), typeof q.currency === "string" ? q.currency : "");
  if (cells.change) {
    setText(cells.change, formatSigned(q.change, hint));
    setDirection(cells.change, direction(q.change, hint));
  }
  if (cells.change_percent) {
    setText(cells.change_percent, formatPercent(q.change_percent));
    setDirection(cells.change_percent, direction(q.change_percent, 2));
  }
  setText(cells.range, formatRange(q.day_low, q.day_high, hint));
  if (cells.market_state) marketCellRender(cells.market_state, state.marketState);
}

function setAttr(node, name, value) {
  if (node.getAttribute(name) !== value) node.setAttribute(name, value);
}

/** Redraw a row's trend line from state.spark, in the server's SVG shape; leave the first paint until the snapshot. */
function sparklineRender(state) {
  const cell = state.cells.trend;
  if (!cell || state.spark === null) return;
  const shape = state.unknown ? null : sparklineShape(state.spark);
  if (!shape) {
    if (cell.firstChild) cell.replaceChildren();
    return;
  }
  let svg = cell.firstElementChild;
  let line = svg?.firstElementChild;
  if (!svg || svg.localName !== "svg" || !line || line.localName !== "polyline" || cell.childNodes.length !== 1) {
    svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", `0 0 ${SPARK_WIDTH} ${SPARK_HEIGHT}`);
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("role", "img");
    line = document.createElementNS(SVG_NS, "polyline");
    line.setAttribute("fill", "none");
    line.setAttribute("vector-effect", "non-scaling-stroke");
    svg.append(line);
    cell.replaceChildren(svg);
  }
  setAttr(svg, "class", `spark spark--${shape.trend}`);
  setAttr(svg, "aria-label", shape.label);
  setAttr(line, "points", shape.points);
}

/** A snapshot's trend line: decimal strings only, the newest page.sparkPoints of them. */
function sparklineSeries(series) {
  if (!Array.isArray(series)) return [];
  return series.filter((price) => decimalValue(price) !== null).slice(-page.sparkPoints);
}

/**
 * Apply one quote; returns "up"/"down" when the shown price moved, else null.
 * extendSparkline: the quote is news (a quotes message), so its price joins
 * the trend line, as the server's sparklines_record added it to the stored one.
 */
function quoteApply(q, extendSparkline = false) {
  if (!q || typeof q !== "object" || typeof q.symbol !== "string") {
    console.warn("ticker: ignoring a malformed quote", q);
    return null;
  }
  const state = rows.get(q.symbol);
  if (!state) return null; // not (or no longer) on this page's list
  state.hasQuote = true;
  state.unknown = q.unknown === true;
  state.marketState = typeof q.market_state === "string" && q.market_state ? q.market_state : "UNKNOWN";
  state.fetchedAtMs = parseIsoMs(q.fetched_at);
  if (state.unknown) {
    rowRenderUnknown(state);
    sparklineRender(state);
    return null;
  }
  const priceDecimal = decimalValue(q.price);
  if (priceDecimal === null) {
    rowRenderNoQuote(state, typeof q.name === "string" ? q.name : "");
    return null;
  }
  const previous = state.price;
  const price = Number(priceDecimal);
  rowRenderQuote(state, q);
  state.price = Number.isFinite(price) ? price : null;
  const percentDecimal = decimalValue(q.change_percent);
  const percent = percentDecimal === null ? NaN : Number(percentDecimal);
  state.changePercent = Number.isFinite(percent) ? percent : null;
  if (extendSparkline && state.spark !== null) {
    state.spark.push(priceDecimal);
    if (state.spark.length > page.sparkPoints) state.spark.splice(0, state.spark.length - page.sparkPoints);
  }
  sparklineRender(state);
  if (previous === null || state.price === null || previous === state.price) return null;
  return state.price > previous ? "up" : "down";
}

/** Restart the flash animation of every row that moved, with one forced reflow per message. */
function rowsFlash(flashes) {
  if (!flashes.length || prefersReducedMotion()) return;
  for (const [row] of flashes) row.classList.remove("flash-up", "flash-down");
  void page.tbody.offsetWidth;
  for (const [row, dir] of flashes) row.classList.add(`flash-${dir}`);
}

function quotesApply(quotes, { extendSparklines = false } = {}) {
  const flashes = [];
  for (const q of quotes) {
    const dir = quoteApply(q, extendSparklines);
    if (dir) flashes.push([rows.get(q.symbol).row, dir]);
  }
  rowsFlash(flashes);
}

// --- Clocks and staleness ---------------------------------------------------------------

/** Learn the server/client clock offset; the largest recent sample had the least network delay. */
function skewSample(serverTimeText) {
  const serverMs = parseIsoMs(serverTimeText);
  if (serverMs === null) return;
  live.skewSamples.push(serverMs - Date.now());
  if (live.skewSamples.length > SKEW_SAMPLES) live.skewSamples.shift();
  live.skewMs = Math.max(...live.skewSamples);
}

function serverNow() {
  return live.skewMs === null ? null : Date.now() + live.skewMs;
}

function rowsEvaluateStale() {
  const now = Date.now();
  const ctx = {
    serverNowMs: serverNow(),
    lastOkServerMs: live.lastOkServerMs,
    sourceState: live.source.state,
    disconnectedForMs: live.disconnectedSince === null ? 0 : now - live.disconnectedSince,
    staleMs: page.staleMs,
  };
  for (const state of rows.values()) state.row.classList.toggle("is-stale", rowIsStale(state, ctx));
}

function lastUpdateMark() {
  const now = new Date();
  setText(page.lastUpdate, now.toLocaleTimeString());
  page.lastUpdate?.setAttribute("datetime", now.toISOString());
}

// --- Source status -------------------------------------------------------------------------

function sourceUpdate(source, serverTimeText) {
  if (!source || typeof source !== "object") return;
  const serverMs = parseIsoMs(serverTimeText) ?? serverNow() ?? Date.now();
  const s = live.source;
  if (typeof source.source === "string") s.name = source.source;
  if (typeof source.simulated === "boolean") s.simulated = source.simulated;
  s.state = SOURCE_STATES.has(source.state) ? source.state : "unknown";
  const retryIn = Number(source.retry_in);
  s.retryAtServerMs = serverMs + (Number.isFinite(retryIn) && retryIn > 0 ? retryIn * 1000 : 0);
  if (s.state === "ok") live.lastOkServerMs = Math.max(live.lastOkServerMs ?? -Infinity, serverMs);
  sourceAnnounceChange();
}

function sourceAnnounceChange() {
  const name = sourceName(live.source.name, live.source.simulated);
  // "unknown" (the server could not read the status) is not news for the reader.
  const state = live.source.state === "unknown" ? live.announced.source : live.source.state;
  if (state === live.announced.source) return;
  live.announced.source = state;
  if (state === "ok") announce(`${name} prices are updating again.`);
  else if (state === "degraded") announce(`${name} is slow or failing; prices may be out of date.`);
  else if (state === "down") announce(`${name} is not answering; prices may be out of date.`);
}

function sourceStatusShow(state, text) {
  const box = page.sourceStatus;
  if (!box) return;
  box.className = `source source--${state}`;
  box.dataset.state = state;
  setText(box, text);
  box.hidden = state === "ok";
}

/** Re-rendered every second: counts retry_in down and notices a silent pipeline. */
function sourceStatusRender() {
  const now = Date.now();
  const open = socketOpen();
  const silentMs = open ? now - live.lastUpdateAt : 0;
  const silent = silentMs > page.staleMs;
  if (!open) {
    // The connection announcements cover this; a "resumed" here would be false.
    live.announced.silent = false;
  } else if (silent !== live.announced.silent) {
    live.announced.silent = silent;
    announce(silent ? "No updates from the server; prices may be out of date." : "Updates from the server resumed.");
  }
  // Silence wins over the last known source state: that state is as old as the silence.
  if (silent) {
    sourceStatusShow("degraded", `No updates from the server for ${Math.floor(silentMs / 1000)} s`);
    return;
  }
  const { state, retryAtServerMs, name, simulated } = live.source;
  if (state === "degraded" || state === "down") {
    const retrySeconds = Math.max(0, Math.ceil((retryAtServerMs - (serverNow() ?? now)) / 1000));
    sourceStatusShow(state, sourceMessage(state, sourceName(name, simulated), retrySeconds));
  } else {
    sourceStatusShow("ok", "");
  }
}

// --- Connection indicator --------------------------------------------------------------------

function connectionShow(state, text, loginLink = false) {
  const box = page.connection;
  if (!box) return;
  box.className = `conn conn--${state}`;
  box.dataset.state = state;
  if (loginLink) {
    const link = el("a", "", "Log in again");
    // Reloading this login-required page leads to the login form and back here.
    link.href = location.href;
    box.replaceChildren(`${text} `, link);
  } else {
    setText(box, text);
  }
}

function connectionAnnounceLost(offline) {
  if (live.announced.connection !== "live") return;
  live.announced.connection = "lost";
  announce(offline ? "You are offline; prices are not updating." : "Connection lost; reconnecting.");
}

function connectionAnnounceLive() {
  if (live.announced.connection === "lost") announce("Connection restored; prices are live again.");
  live.announced.connection = "live";
}

function connectionRenderWaiting() {
  if (!live.reconnectTimer) return;
  const seconds = Math.max(0, Math.ceil((live.reconnectAt - Date.now()) / 1000));
  if (navigator.onLine === false) {
    connectionShow("offline", "Offline");
  } else if (live.waitReason === "too_many") {
    connectionShow("reconnecting", `Open in too many tabs; retrying in ${seconds} s…`);
  } else {
    connectionShow("reconnecting", seconds > 0 ? `Reconnecting in ${seconds} s…` : "Reconnecting…");
  }
}

// --- Socket ------------------------------------------------------------------------------------

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}${page.socketPath}`;
}

function socketOpen() {
  return live.socket !== null && live.socket.readyState === WebSocket.OPEN;
}

function pingSend() {
  if (!socketOpen()) return;
  try {
    live.socket.send('{"type":"ping"}');
    live.lastPingAt = Date.now();
  } catch (error) {
    console.warn("ticker: ping failed", error);
  }
}

/** An extra ping to find out quickly whether the socket survived (sleep, network change). */
function pingProbe() {
  if (Date.now() - live.lastPingAt > PING_MIN_GAP_MS) pingSend();
}

function pingStop() {
  clearInterval(live.pingTimer);
  live.pingTimer = null;
}

function reconnectCancel() {
  clearTimeout(live.reconnectTimer);
  live.reconnectTimer = null;
  live.waitReason = "";
}

function connectNow({ quiet = false } = {}) {
  reconnectCancel();
  if (live.terminal || live.suspended || live.socket) return;
  let socket;
  try {
    socket = new WebSocket(socketUrl());
  } catch (error) {
    console.warn("ticker: could not open the socket", error);
    reconnectSchedule(backoffDelay(live.attempts++), "backoff");
    return;
  }
  live.socket = socket;
  if (!quiet) {
    if (live.everConnected) connectionShow("reconnecting", "Reconnecting…");
    else connectionShow("connecting", "Connecting…");
  }
  socket.onopen = () => socketOpened(socket);
  socket.onmessage = (event) => {
    try {
      messageHandle(event.data);
    } catch (error) {
      console.warn("ticker: could not handle a message", error, event.data);
    }
  };
  socket.onclose = (event) => {
    if (socket === live.socket) socketLost(event.code);
  };
  // onerror carries no detail and is always followed by onclose.
}

function socketOpened(socket) {
  if (socket !== live.socket) return;
  const now = Date.now();
  live.openedAt = now;
  live.lastReceiveAt = now;
  live.lastUpdateAt = now; // the silence clock starts now; the snapshot follows at once
  live.disconnectedSince = null;
  live.everConnected = true;
  pingStop();
  live.pingTimer = setInterval(pingSend, PING_INTERVAL_MS);
  connectionShow("live", "Live");
  connectionAnnounceLive();
}

/** Forget a socket without reacting to its close: handlers off, then close it. */
function socketDrop(code = 1000) {
  const socket = live.socket;
  if (!socket) return;
  socket.onopen = socket.onmessage = socket.onclose = null;
  try {
    socket.close(code);
  } catch {
    // Closing an already closing socket is harmless.
  }
  live.socket = null;
  pingStop();
}

/** The current socket is gone (closed by the server, the network, or our watchdog): decide what next. */
function socketLost(code) {
  const stayedOpenMs = live.openedAt ? Date.now() - live.openedAt : 0;
  live.socket = null;
  live.openedAt = 0;
  pingStop();
  live.disconnectedSince ??= Date.now();
  if (stayedOpenMs > STABLE_CONNECTION_MS) live.attempts = 0;
  if (live.terminal) {
    terminalShow();
    return;
  }
  if (code === CLOSE_NOT_LOGGED_IN) {
    terminate("Signed out.", true);
  } else if (code === CLOSE_FORBIDDEN || code === CLOSE_NOT_FOUND) {
    terminate("This watchlist is not available.");
  } else if (code === CLOSE_TOO_MANY) {
    reconnectSchedule(TOO_MANY_RETRY_MS, "too_many");
  } else if (code === CLOSE_BAD_CLIENT) {
    console.warn("ticker: the server closed the socket for bad messages (4400)");
    reconnectSchedule(BAD_CLIENT_RETRY_MS, "bad_client");
  } else {
    // 1006 and friends: a restart, a network blip, a proxy timeout.
    reconnectSchedule(backoffDelay(live.attempts++), "backoff");
  }
}

function reconnectSchedule(delayMs, reason) {
  reconnectCancel();
  live.waitReason = reason;
  live.reconnectAt = Date.now() + delayMs;
  live.reconnectTimer = setTimeout(() => connectNow(), delayMs);
  connectionAnnounceLost(navigator.onLine === false);
  connectionRenderWaiting();
}

function terminate(text, login = false) {
  live.terminal = { text, login };
  reconnectCancel();
  socketDrop();
  live.disconnectedSince ??= Date.now();
  sourceStatusShow("ok", ""); // the source's health no longer matters to this page
  terminalShow();
  announce(login ? "You were signed out. Log in again to see live prices." : text);
}

function terminalShow() {
  connectionShow("closed", live.terminal.text, live.terminal.login);
}

// --- Messages --------------------------------------------------------------------------------------

function forThisWatchlist(msg) {
  return String(msg.watchlist) === String(page.watchlist);
}

function messageHandle(raw) {
  if (typeof raw !== "string") {
    console.warn("ticker: ignoring a binary message");
    return;
  }
  let msg;
  try {
    msg = JSON.parse(raw);
  } catch {
    console.warn("ticker: ignoring a message that is not JSON", raw);
    return;
  }
  if (!msg || typeof msg !== "object") {
    console.warn("ticker: ignoring a message that is not an object", raw);
    return;
  }
  live.lastReceiveAt = Date.now();
  switch (msg.type) {
    case "snapshot": return snapshotHandle(msg);
    case "quotes": return quotesHandle(msg);
    case "watchlist": return watchlistHandle(msg);
    case "status": return statusHandle(msg);
    case "error": return errorHandle(msg);
    case "pong": return undefined;
    default:
      console.warn("ticker: ignoring a message of unknown type", msg.type);
      return undefined;
  }
}

function snapshotHandle(msg) {
  if (!forThisWatchlist(msg)) return;
  skewSample(msg.server_time);
  live.lastUpdateAt = Date.now();
  if (Array.isArray(msg.symbols)) rowsReconcile(msg.symbols);
  const quotes = Array.isArray(msg.quotes) ? msg.quotes : [];
  const quoted = new Set(quotes.map((q) => q && q.symbol));
  const sparklines = msg.sparklines && typeof msg.sparklines === "object" ? msg.sparklines : null;
  // A snapshot is the whole truth: a row it has no quote for has none.
  for (const [symbol, state] of rows) {
    if (sparklines) state.spark = sparklineSeries(Object.hasOwn(sparklines, symbol) ? sparklines[symbol] : []);
    if (!quoted.has(symbol)) {
      state.hasQuote = false;
      rowRenderNoQuote(state);
    }
  }
  quotesApply(quotes);
  for (const state of rows.values()) sparklineRender(state);
  rowsOrder();
  sourceUpdate(msg.source, msg.server_time);
  lastUpdateMark();
  refresh();
}

function quotesHandle(msg) {
  if (!forThisWatchlist(msg) || !Array.isArray(msg.quotes)) return;
  live.lastUpdateAt = Date.now();
  quotesApply(msg.quotes, { extendSparklines: true });
  rowsOrder();
  lastUpdateMark();
  refresh();
}

function watchlistHandle(msg) {
  if (!forThisWatchlist(msg) || !Array.isArray(msg.symbols)) return;
  rowsReconcile(msg.symbols);
  // The server sends the stored quotes with the edit: a symbol whose price is
  // not moving (a closed market) would otherwise never get one.
  if (Array.isArray(msg.quotes)) quotesApply(msg.quotes);
  rowsOrder();
  refresh();
}

function statusHandle(msg) {
  skewSample(msg.server_time);
  live.lastUpdateAt = Date.now();
  sourceUpdate(msg, msg.server_time);
  refresh();
}

function errorHandle(msg) {
  if (msg.code === "deleted") {
    // The server closes with 4404 next; terminal state keeps this message.
    terminate(typeof msg.message === "string" && msg.message ? msg.message : "This watchlist was deleted.");
    return;
  }
  console.warn("ticker: the server rejected a message", msg.code, msg.message);
}

// --- Sorting -------------------------------------------------------------------------------------------

function sortStorageKey() {
  return `tickerwatch:sort:${page.watchlist}`;
}

/** The sort remembered for this watchlist, or null (the list's own order). */
function sortLoad() {
  try {
    const saved = JSON.parse(localStorage.getItem(sortStorageKey()) ?? "null");
    if (saved && SORT_KEYS.has(saved.key) && SORT_DIRECTIONS.has(saved.dir)) return { key: saved.key, dir: saved.dir };
  } catch {
    // Storage blocked (privacy settings) or an unreadable entry: the list's own order.
  }
  return null;
}

function sortSave() {
  try {
    if (sorting.sort) localStorage.setItem(sortStorageKey(), JSON.stringify(sorting.sort));
    else localStorage.removeItem(sortStorageKey());
  } catch (error) {
    console.warn("ticker: could not remember the sort order", error);
  }
}

function sortHeadersRender() {
  for (const th of page.sortHeaders) {
    setAttr(th, "aria-sort", sorting.sort?.key === th.dataset.sort ? sorting.sort.dir : "none");
  }
}

function sortChoose(th) {
  sorting.sort = sortNext(sorting.sort, th.dataset.sort);
  sortSave();
  sortHeadersRender();
  rowsOrder({ now: true });
  const column = th.textContent.trim();
  announce(sorting.sort ? `Sorted by ${column}, ${sorting.sort.dir}.` : "Showing the list in its own order.");
}

function onSortClick(event) {
  const th = event.target.closest?.("button.sort")?.closest("th[data-sort]");
  if (th && SORT_KEYS.has(th.dataset.sort)) sortChoose(th);
}

/** Someone is using the table body: keep the rows where they are for a moment. */
function sortHold() {
  sorting.holdUntil = Date.now() + SORT_HOLD_MS;
}

function onTablePointerLeave(event) {
  // A touch "leaves" right after the tap; let its hold run out instead.
  if (event.pointerType !== "mouse") return;
  sorting.holdUntil = 0;
  if (sorting.pending) rowsOrder();
}

// --- Timers and page lifecycle ---------------------------------------------------------------------

/** Everything time-based, once a second: countdowns, staleness, the dead-socket check. */
function refresh() {
  if (socketOpen() && live.lastPingAt > live.lastReceiveAt && Date.now() - live.lastPingAt > PONG_TIMEOUT_MS) {
    // Half-open socket (laptop slept, network changed): no close event will come.
    console.warn("ticker: no answer to ping; reconnecting");
    socketDrop(CLOSE_CLIENT_DROP);
    socketLost(CLOSE_CLIENT_DROP);
  }
  if (!live.terminal) {
    connectionRenderWaiting();
    sourceStatusRender();
  }
  // Still run once terminal: the rows go stale as the disconnection ages.
  rowsEvaluateStale();
  if (sorting.pending) rowsOrder();
}

function onVisibilityChange() {
  if (document.hidden) return;
  if (live.reconnectTimer) connectNow();
  else pingProbe();
  refresh();
}

function onOnline() {
  if (live.reconnectTimer) connectNow();
  else pingProbe();
}

function onOffline() {
  if (live.reconnectTimer) connectionRenderWaiting();
  else pingProbe(); // the socket may be dead; the unanswered ping will tell
}

/** Close the socket when the page enters the back/forward cache; an open socket would keep it out. */
function onPageHide(event) {
  if (!event.persisted) return;
  live.suspended = true;
  reconnectCancel();
  socketDrop();
  live.disconnectedSince ??= Date.now();
}

function onPageShow(event) {
  if (!event.persisted || !live.suspended) return;
  live.suspended = false;
  connectNow();
}

function onAnimationEnd(event) {
  if (event.animationName === "flash-up" || event.animationName === "flash-down") {
    event.target.classList?.remove("flash-up", "flash-down");
  }
}

function configRead() {
  const node = document.getElementById("ticker-config");
  if (!node) return null;
  try {
    const config = JSON.parse(node.textContent);
    if (typeof config?.socketPath !== "string" || !config.socketPath.startsWith("/")) throw new Error("bad socketPath");
    return config;
  } catch (error) {
    console.warn("ticker: unusable #ticker-config", error);
    return null;
  }
}

function start() {
  const config = configRead();
  const table = document.getElementById("quotes");
  const tbody = table?.tBodies[0];
  if (!config || !tbody) return;
  const staleSeconds = Number(config.staleSeconds);
  const sparkPoints = Number(config.sparklinePoints);
  page = {
    watchlist: config.watchlist,
    socketPath: config.socketPath,
    staleMs: (Number.isFinite(staleSeconds) && staleSeconds > 0 ? staleSeconds : DEFAULT_STALE_SECONDS) * 1000,
    sparkPoints: Number.isInteger(sparkPoints) && sparkPoints >= 2 ? sparkPoints : DEFAULT_SPARKLINE_POINTS,
    tbody,
    sortHeaders: [...(table.tHead?.querySelectorAll("th[data-sort]") ?? [])],
    connection: document.getElementById("connection"),
    sourceStatus: document.getElementById("source-status"),
    lastUpdate: document.getElementById("last-update"),
    announcer: document.getElementById("live-announcer"),
  };
  rowsReadFromDom();
  sorting.sort = sortLoad();
  sortHeadersRender();
  rowsOrder({ now: true });
  table.tHead?.addEventListener("click", onSortClick);
  for (const type of ["pointermove", "pointerdown", "keydown", "focusin"]) tbody.addEventListener(type, sortHold);
  tbody.addEventListener("pointerleave", onTablePointerLeave);
  tbody.addEventListener("animationend", onAnimationEnd);
  document.addEventListener("visibilitychange", onVisibilityChange);
  window.addEventListener("online", onOnline);
  window.addEventListener("offline", onOffline);
  window.addEventListener("pagehide", onPageHide);
  window.addEventListener("pageshow", onPageShow);
  setInterval(() => {
    try {
      refresh();
    } catch (error) {
      console.warn("ticker: refresh failed", error);
    }
  }, 1000);
  connectNow();
}

if (typeof document !== "undefined" && typeof WebSocket !== "undefined") start();
