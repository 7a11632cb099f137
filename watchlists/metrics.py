"""Figures about the live pipeline: ticks, messages, open sockets and how old the watched quotes are.

Ticks are recorded by the worker that ran them (watchlists.monitoring, one
Redis round trip per tick). Messages sent on sockets are counted in the web
process's memory and flushed in batches (config.metrics.metric_count_local):
counting a delivery costs no Redis round trip. Open sockets and quote ages
are computed at scrape time from presence and the database (three queries,
whatever the number of lists), so they are never older than the scrape.
"""

from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily

from config.metrics import COUNTER, GAUGE, HISTOGRAM, metric_count_local, metric_define, scrape_collector_register
from prices.models import MarketState, Quote

from .models import Watchlist, WatchlistItem
from .presence import watchlists_viewed

TICKS_RUN = metric_define(
    name="tickerwatch_ticks_run_total",
    kind=COUNTER,
    help="Ticks that fetched (kind: tick from beat, refresh for a newly opened list).",
    labels=["kind"],
)
TICKS_SKIPPED = metric_define(
    name="tickerwatch_ticks_skipped_total",
    kind=COUNTER,
    help="Ticks that fetched nothing, by reason: idle (no open page), locked (previous tick still running), "
    "duplicate (a second beat), backoff (the source is backing off or out of budget).",
    labels=["kind", "reason"],
)
TICKS_FAILED = metric_define(
    name="tickerwatch_ticks_failed_total",
    kind=COUNTER,
    help="Ticks that ended in an exception (including the soft time limit).",
    labels=["kind"],
)
TICK_DURATION_SECONDS = metric_define(
    name="tickerwatch_tick_duration_seconds",
    kind=HISTOGRAM,
    help="Time a tick that ran took, fetch, store and publish included.",
    labels=["kind"],
    buckets=[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
)
TICK_SYMBOLS = metric_define(
    name="tickerwatch_tick_symbols",
    kind=GAUGE,
    help="Distinct symbols on the open watchlists at the last tick (0 when no page is open).",
    labels=["kind"],
)
TICK_LAST_RUN = metric_define(
    name="tickerwatch_tick_last_run_timestamp_seconds",
    kind=GAUGE,
    help="Unix time of the last tick that ran; alert when it falls behind (no beat, no worker).",
    labels=["kind"],
)
QUOTES_CHANGED = metric_define(
    name="tickerwatch_quotes_changed_total",
    kind=COUNTER,
    help="Quotes stored because they changed.",
)
GROUP_MESSAGES = metric_define(
    name="tickerwatch_group_messages_published_total",
    kind=COUNTER,
    help="Quote messages published to watchlist groups (one per open list with changes per tick).",
)
SOCKET_MESSAGES = metric_define(
    name="tickerwatch_socket_messages_sent_total",
    kind=COUNTER,
    help="Messages sent to browsers over live sockets, by type (snapshot, quotes, watchlist, status, deleted).",
    labels=["type"],
)
SOCKET_CONNECTIONS = metric_define(
    name="tickerwatch_socket_connections_total",
    kind=COUNTER,
    help="Live socket connection attempts by outcome: accepted, or the close code refusing them "
    "(4401 not logged in, 4403 not yours, 4404 no such list, 4429 too many sockets).",
    labels=["outcome"],
)

_MESSAGE_TYPES = {
    "quotes.update": "quotes",
    "watchlist.symbols": "watchlist",
    "watchlist.deleted": "deleted",
    "source.status": "status",
}


def socket_message_count(*, event_type: str, amount: int = 1) -> None:
    """Messages handed to sockets: `amount` sockets got one (event type as in the channel layer, or "snapshot")."""
    metric_count_local(SOCKET_MESSAGES, amount, type=_MESSAGE_TYPES.get(event_type, event_type))


def socket_connection_count(*, outcome: str | int) -> None:
    metric_count_local(SOCKET_CONNECTIONS, outcome=outcome)


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, value=value)


def _live_figures():
    viewed = watchlists_viewed()
    families = [
        _gauge(
            "tickerwatch_sockets_open",
            "Live sockets open across all web processes (from presence).",
            sum(viewed.values()),
        ),
        _gauge("tickerwatch_watchlists_viewed", "Watchlists open in at least one browser.", len(viewed)),
    ]
    active = list(Watchlist.objects.filter(pk__in=viewed, enabled=True).values_list("pk", flat=True)) if viewed else []
    symbols = (
        set(WatchlistItem.objects.filter(watchlist_id__in=active).values_list("symbol", flat=True)) if active else set()
    )
    quotes = list(Quote.objects.filter(symbol__in=symbols).values_list("fetched_at", "market_state", "unknown"))
    families += [
        _gauge("tickerwatch_watchlists_active", "Enabled watchlists with viewers: what each tick serves.", len(active)),
        _gauge("tickerwatch_watched_symbols", "Distinct symbols on the active watchlists.", len(symbols)),
        _gauge(
            "tickerwatch_watched_symbols_unquoted",
            "Symbols on active watchlists with no stored quote yet.",
            len(symbols) - len(quotes),
        ),
    ]
    now = timezone.now()
    ages: dict[str, list[float]] = {"open": [], "closed": []}
    for fetched_at, state, unknown in quotes:
        if not unknown:
            ages["open" if MarketState.is_trading(state) else "closed"].append((now - fetched_at).total_seconds())
    oldest = GaugeMetricFamily(
        "tickerwatch_quote_age_max_seconds",
        "Age of the oldest quote on the active watchlists, by market (open: refreshed every tick; "
        "closed: every QUOTE_CLOSED_POLL_SECONDS). Growing without bound: no tick is storing quotes.",
        labels=["market"],
    )
    mean = GaugeMetricFamily(
        "tickerwatch_quote_age_mean_seconds",
        "Mean age of the quotes on the active watchlists, by market.",
        labels=["market"],
    )
    for market, values in ages.items():
        if values:
            oldest.add_metric([market], max(values))
            mean.add_metric([market], sum(values) / len(values))
    families += [oldest, mean]
    return families


scrape_collector_register(name="live", collect=_live_figures)
