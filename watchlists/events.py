"""Messages to open pages through the channel layer.

Payloads are encoded to JSON once here, and every consumer in the group
forwards the text as is, instead of encoding it again per socket. Sends run
after the database commit, and a Redis outage never fails the write that
caused them: pages catch up with their next snapshot.
"""

import json
import logging
import time

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from prices.serializers import quote_payload

from .groups import STATUS_GROUP, watchlist_group
from .models import Watchlist
from .selectors import watchlist_quotes

logger = logging.getLogger(__name__)


def _encode(payload: dict) -> str:
    return json.dumps(payload, separators=(",", ":"))


async def _send_all(messages: list[tuple[str, dict]]) -> None:
    layer = get_channel_layer()
    for group, event in messages:
        await layer.group_send(group, event)


def group_send_many(messages: list[tuple[str, str, dict]]) -> int:
    """Send (group, event type, payload) messages in one event-loop run; returns how many were sent."""
    if not messages:
        return 0
    events = [(group, {"type": event_type, "text": _encode(payload)}) for group, event_type, payload in messages]
    try:
        async_to_sync(_send_all)(events)
    except Exception:
        logger.exception(
            "Could not push %d message(s) to open pages: the channel layer (Redis) is unreachable. "
            "Pages will catch up when they reconnect.",
            len(events),
        )
        return 0
    return len(events)


def watchlist_quotes_publish(*, quotes_by_list: dict[int, list[dict]]) -> int:
    """One message per watchlist carrying just its changed quotes.

    `published_at` (epoch ms, one value per tick) lets a client or the
    benchmark measure delivery latency from the moment the tick publishes.
    """
    published_at = int(time.time() * 1000)
    return group_send_many(
        [
            (
                watchlist_group(watchlist_id),
                "quotes.update",
                {"type": "quotes", "watchlist": watchlist_id, "quotes": q, "published_at": published_at},
            )
            for watchlist_id, q in quotes_by_list.items()
            if q
        ]
    )


def source_status_publish(*, status: dict) -> int:
    return group_send_many([(STATUS_GROUP, "source.status", status)])


def watchlist_symbols_announce(*, watchlist_id: int) -> int:
    """Tell open pages the list's symbols after an edit (on a page or in the admin), or that it is gone.

    The stored quotes ride along: a symbol whose price is not moving would
    otherwise stay "no quote yet" on pages until its next change.
    """
    group = watchlist_group(watchlist_id)
    if not Watchlist.objects.filter(pk=watchlist_id).exists():
        payload = {"type": "error", "code": "deleted", "message": "This watchlist was deleted."}
        return group_send_many([(group, "watchlist.deleted", payload)])
    symbols, quotes = watchlist_quotes(watchlist_id=watchlist_id)
    payload = {
        "type": "watchlist",
        "watchlist": watchlist_id,
        "symbols": symbols,
        "quotes": [quote_payload(quote) for quote in quotes],
    }
    return group_send_many([(group, "watchlist.symbols", payload)])
