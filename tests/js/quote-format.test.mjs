// Node's own test runner over the page's pure helpers: `node --test tests/js/`.
// tests/test_javascript.py runs it as part of `make test`.
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  backoffDelay,
  formatNumber,
  formatPercent,
  formatSigned,
  marketLabel,
  rowIsStale,
  sortNext,
  sortedSymbols,
  sparklineShape,
} from "../../static/js/quote-format.js";

test("prices keep Yahoo's decimals and round half up like the server", () => {
  assert.equal(formatNumber("244.6", 2).replace(/\D/g, ""), "24460");
  assert.equal(formatNumber("1.005", 2).replace(/\D/g, ""), "101");
  assert.equal(formatNumber("2800", 0).replace(/\D/g, ""), "2800");
  assert.equal(formatNumber(null, 2), "—");
});

test("changes are signed, percentages have two decimals", () => {
  assert.match(formatSigned("3.0700073", 2), /^\+3.07$/);
  assert.match(formatSigned("-0.29", 2), /^[-−]0.29$/);
  assert.match(formatPercent("1.2710667"), /^\+1.27%$/);
});

test("market states read as people say them", () => {
  assert.equal(marketLabel("REGULAR"), "Open");
  assert.equal(marketLabel("POSTPOST"), "Closed");
  assert.equal(marketLabel("nonsense"), "Unknown");
});

const context = { sourceState: "ok", disconnectedForMs: 0, staleMs: 30_000, serverNowMs: 100_000, lastOkServerMs: null };

test("an open-market row goes stale when nothing vouches for it", () => {
  const row = { hasQuote: true, unknown: false, marketState: "REGULAR", fetchedAtMs: 60_000 };
  assert.equal(rowIsStale(row, context), true);
  assert.equal(rowIsStale(row, { ...context, lastOkServerMs: 95_000 }), false);
  assert.equal(rowIsStale({ ...row, marketState: "CLOSED" }, context), false);
  assert.equal(rowIsStale({ ...row, fetchedAtMs: 99_000 }, { ...context, sourceState: "down" }), true);
  assert.equal(rowIsStale({ ...row, fetchedAtMs: 99_000 }, { ...context, disconnectedForMs: 31_000 }), true);
});

test("reconnect delays have full jitter and a 30 s cap", () => {
  assert.equal(backoffDelay(0, () => 0), 0);
  assert.ok(backoffDelay(0, () => 0.999) <= 1_000);
  assert.ok(backoffDelay(20, () => 0.999) <= 30_000);
  assert.ok(backoffDelay(20, () => 0.999) > 29_000);
});

test("sorting cycles ascending, descending, list order, and puts missing prices last", () => {
  assert.deepEqual(sortNext(null, "price"), { key: "price", dir: "ascending" });
  assert.deepEqual(sortNext({ key: "price", dir: "ascending" }, "price"), { key: "price", dir: "descending" });
  assert.equal(sortNext({ key: "price", dir: "descending" }, "price"), null);
  const entries = [
    { symbol: "AAPL", price: 244.6, changePercent: 1.2 },
    { symbol: "NEW", price: null, changePercent: null },
    { symbol: "MSFT", price: 44.4, changePercent: -0.1 },
  ];
  assert.deepEqual(sortedSymbols(entries, { key: "price", dir: "ascending" }), ["MSFT", "AAPL", "NEW"]);
  assert.deepEqual(sortedSymbols(entries, { key: "price", dir: "descending" }), ["AAPL", "MSFT", "NEW"]);
  assert.deepEqual(sortedSymbols(entries, null), ["AAPL", "NEW", "MSFT"]);
});

test("a trend line needs two points and says which way it went", () => {
  assert.equal(sparklineShape(["1.0"]), null);
  const up = sparklineShape(["1.0", "1.5", "2.0"]);
  assert.ok(up);
  assert.match(JSON.stringify(up), /up/);
});
