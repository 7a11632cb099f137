// Quote formatting, staleness, trend-line shapes and sort order: pure functions,
// no DOM and no clock, used by ticker.js and checkable on their own with node.
// Formatting mirrors prices/templatetags/quotes.py; change both together.

const BACKOFF_BASE_MS = 1_000;
const BACKOFF_CAP_MS = 30_000;
const DEFAULT_DECIMALS = 2;
const MAX_DECIMALS = 10; // the Quote model's price_hint check constraint
export const SORT_KEYS = new Set(["symbol", "price", "change_percent"]);
// The trend line's drawing box: the same as prices/templatetags/quotes.py.
export const SPARK_WIDTH = 80;
export const SPARK_HEIGHT = 24;
const SPARK_PAD = 2;
export const DASH = "—";
// Sessions in which prices can move (prices.models.MarketState.is_trading):
// only these can go stale. UNKNOWN counts, as on the server, rather than risk
// presenting a frozen price as current.
const TRADING_STATES = new Set(["PRE", "REGULAR", "POST", "UNKNOWN"]);
// Same labels as MarketState's choices, so the first snapshot never relabels
// the server-rendered cells. Change both places together.
const MARKET_LABELS = {
  PREPRE: "Closed",
  PRE: "Pre-market",
  REGULAR: "Open",
  POST: "After hours",
  POSTPOST: "Closed",
  CLOSED: "Closed",
  UNKNOWN: "Unknown",
};

// --- Pure helpers (no DOM, no clock) -----------------------------------------

const DECIMAL_PATTERN = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** A decimal as Intl can format it exactly (the string itself), or null. */
export function decimalValue(value) {
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value !== "string") return null;
  const text = value.trim();
  return DECIMAL_PATTERN.test(text) ? text : null;
}

/** Yahoo's price_hint as a usable number of decimals. */
export function clampDecimals(hint, fallback = DEFAULT_DECIMALS) {
  const n = Number(hint);
  if (hint === null || hint === undefined || hint === "" || !Number.isInteger(n)) return fallback;
  return Math.min(Math.max(n, 0), MAX_DECIMALS);
}

const formatters = new Map();

function numberFormat(decimals, signDisplay) {
  const key = `${decimals}:${signDisplay}`;
  let formatter = formatters.get(key);
  if (!formatter) {
    // locale undefined: the reader's own separators. Strings are formatted as
    // exact decimals by current engines (half-expand, like the server's
    // ROUND_HALF_UP), so 1.005 rounds to 1.01 rather than float's 1.00.
    formatter = new Intl.NumberFormat(undefined, {
      minimumFractionDigits: decimals,
      maximumFractionDigits: decimals,
      signDisplay,
    });
    formatters.set(key, formatter);
  }
  return formatter;
}

/** A price with price_hint decimals and thousands separators, or an em dash. */
export function formatNumber(value, hint) {
  const decimal = decimalValue(value);
  if (decimal === null) return DASH;
  return numberFormat(clampDecimals(hint), "auto").format(decimal);
}

/** Signed (+1.23, -1.23); a change that rounds to zero shows no sign. */
export function formatSigned(value, hint) {
  const decimal = decimalValue(value);
  if (decimal === null) return DASH;
  return numberFormat(clampDecimals(hint), "exceptZero").format(decimal);
}

export function formatPercent(value) {
  const text = formatSigned(value, 2);
  return text === DASH ? DASH : `${text}%`;
}

export function formatRange(low, high, hint) {
  if (decimalValue(low) === null && decimalValue(high) === null) return DASH;
  return `${formatNumber(low, hint)} – ${formatNumber(high, hint)}`;
}

/** "up", "down" or "flat" by the sign of the value as displayed (after rounding). */
export function direction(value, hint) {
  const decimal = decimalValue(value);
  if (decimal === null) return "flat";
  const n = Number(decimal);
  if (!Number.isFinite(n) || Math.abs(n) < 0.5 * 10 ** -clampDecimals(hint)) return "flat";
  return n > 0 ? "up" : "down";
}

function isMarketState(state) {
  return typeof state === "string" && Object.prototype.hasOwnProperty.call(MARKET_LABELS, state);
}

export function marketLabel(state) {
  return isMarketState(state) ? MARKET_LABELS[state] : MARKET_LABELS.UNKNOWN;
}

/** The modifier for span.mkt: known states only, so no data reaches a class name. */
export function marketModifier(state) {
  return isMarketState(state) ? state.toLowerCase() : "unknown";
}

/** Milliseconds since the epoch from Python's isoformat(), or null. */
export function parseIsoMs(text) {
  if (typeof text !== "string") return null;
  // Python gives microseconds; Date.parse is only specified for milliseconds.
  const ms = Date.parse(text.trim().replace(/(\.\d{3})\d+/, "$1"));
  return Number.isFinite(ms) ? ms : null;
}

/** Full jitter: a random delay in [0, min(cap, base * 2^attempt)). */
export function backoffDelay(attempt, random = Math.random) {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}

export function sourceName(source, simulated) {
  if (simulated || source === "simulated") return "Simulated";
  if (typeof source !== "string" || !source) return "The quote source";
  return source.charAt(0).toUpperCase() + source.slice(1);
}

function retryText(seconds) {
  return seconds > 0 ? `retrying in ${seconds} s` : "retrying now";
}

/** The #source-status text for a degraded or down source; "" when there is nothing to say. */
export function sourceMessage(state, name, retrySeconds) {
  if (state === "degraded") return `${name} is slow or failing; ${retryText(retrySeconds)}`;
  if (state === "down") return `${name} is not answering; ${retryText(retrySeconds)}`;
  return "";
}

/**
 * Whether a row's price may no longer be current.
 * row: {hasQuote, unknown, marketState, fetchedAtMs}
 * ctx: {serverNowMs (null while the clock skew is unknown), lastOkServerMs,
 *       sourceState, disconnectedForMs, staleMs}
 */
export function rowIsStale(row, ctx) {
  if (!row.hasQuote || row.unknown || !TRADING_STATES.has(row.marketState)) return false;
  if (ctx.sourceState === "degraded" || ctx.sourceState === "down") return true;
  if (ctx.disconnectedForMs > ctx.staleMs) return true;
  if (ctx.serverNowMs === null) return false;
  // Only changed quotes are sent, so an unchanged price is vouched for by the
  // latest ok heartbeat rather than by its own fetched_at.
  const freshest = Math.max(row.fetchedAtMs ?? -Infinity, ctx.lastOkServerMs ?? -Infinity);
  return ctx.serverNowMs - freshest > ctx.staleMs;
}

/** A coordinate as the server writes it: at most two decimals, no trailing zeros. */
function coordinate(value) {
  return String(Number(value.toFixed(2)));
}

/**
 * The trend line for prices (decimal strings, oldest first), drawn as
 * prices/templatetags/quotes.py's sparkline_shape draws it:
 * {points, trend: "up"|"down"|"flat", label}, or null below two points.
 */
export function sparklineShape(prices) {
  const values = [];
  for (const price of Array.isArray(prices) ? prices : []) {
    const decimal = decimalValue(price);
    const n = decimal === null ? NaN : Number(decimal);
    if (Number.isFinite(n)) values.push(n);
  }
  if (values.length < 2) return null;
  const low = Math.min(...values);
  const high = Math.max(...values);
  const step = SPARK_WIDTH / (values.length - 1);
  const span = SPARK_HEIGHT - 2 * SPARK_PAD;
  const y = (value) => (high === low ? SPARK_HEIGHT / 2 : SPARK_PAD + span * (high - value) / (high - low));
  const points = values.map((value, i) => `${coordinate(i * step)},${coordinate(y(value))}`).join(" ");
  const first = values[0];
  const last = values[values.length - 1];
  const trend = last === first ? "flat" : last > first ? "up" : "down";
  let label;
  if (trend === "flat") {
    label = "Recent trend: flat";
  } else if (first === 0) {
    label = `Recent trend: ${trend}`;
  } else {
    const percent = (Math.abs(last - first) / Math.abs(first) * 100).toFixed(2);
    label = `Recent trend: ${trend} ${percent === "0.00" ? "under 0.01" : percent}%`;
  }
  return { points, trend, label };
}

/** The next sort after a click on a column: ascending, then descending, then the list's own order (null). */
export function sortNext(current, key) {
  if (!current || current.key !== key) return { key, dir: "ascending" };
  return current.dir === "ascending" ? { key, dir: "descending" } : null;
}

function compareText(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Symbols in display order. entries: [{symbol, price, changePercent}] in the
 * list's own order; sort: {key, dir} or null. Rows without the value sort
 * last either way; ties keep the list's order.
 */
export function sortedSymbols(entries, sort) {
  const symbols = entries.map((entry) => entry.symbol);
  if (!sort || !SORT_KEYS.has(sort.key)) return symbols;
  const sign = sort.dir === "descending" ? -1 : 1;
  const valueOf = (entry) => {
    if (sort.key === "symbol") return entry.symbol;
    const value = sort.key === "price" ? entry.price : entry.changePercent;
    return typeof value === "number" && Number.isFinite(value) ? value : null;
  };
  const keyed = entries.map((entry, index) => ({ symbol: entry.symbol, value: valueOf(entry), index }));
  keyed.sort((a, b) => {
    if (a.value === null || b.value === null) {
      if (a.value !== b.value) return a.value === null ? 1 : -1;
      return a.index - b.index;
    }
    const order = typeof a.value === "string" ? compareText(a.value, b.value) : a.value - b.value;
    return order !== 0 ? sign * order : a.index - b.index;
  });
  return keyed.map((entry) => entry.symbol);
}
