"""Messages to a watchlist's open pages through the channel layer.

Payloads are encoded to JSON once here and forwarded as text by every
consumer in the group, instead of being encoded again per socket.
"""

import json
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from .groups import watchlist_group
from .models import Watchlist
from .selectors import watchlist_symbols

logger = logging.getLogger(__name__)


def group_send_text(*, watchlist_id: int, event_type: str, payload: dict) -> bool:
    """Send one pre-encoded message to a watchlist's group; False when the layer is unreachable."""
    layer = get_channel_layer()
    text = json.dumps(payload, separators=(",", ":"))
    try:
        async_to_sync(layer.group_send)(watchlist_group(watchlist_id), {"type": event_type, "text": text})
    except Exception:
        # The write already committed; open pages will catch up with their
        # next snapshot. Failing the user's request would lose nothing but
        # would tell them it failed, which is untrue.
        logger.exception(
            "Could not notify the open pages of watchlist %s (%s): is Redis reachable?", watchlist_id, event_type
        )
        return False
    return True


def watchlist_symbols_announce(*, watchlist_id: int) -> bool:
    """Tell open pages the list's symbols (after an edit on a page or in the admin)."""
    if not Watchlist.objects.filter(pk=watchlist_id).exists():
        return group_send_text(
            watchlist_id=watchlist_id,
            event_type="watchlist.deleted",
            payload={"type": "error", "code": "deleted", "message": "This watchlist was deleted."},
        )
    symbols = watchlist_symbols(watchlist_id=watchlist_id)
    return group_send_text(
        watchlist_id=watchlist_id,
        event_type="watchlist.symbols",
        payload={"type": "watchlist", "watchlist": watchlist_id, "symbols": symbols},
    )
