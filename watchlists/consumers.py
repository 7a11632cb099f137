"""The live socket of one watchlist page: /ws/watchlists/<id>/.

Server to client: snapshot, quotes, watchlist, status, pong, error.
Client to server: {"type": "ping"} only. Close codes: 4401 not logged in,
4403 not yours, 4404 no such list (or deleted), 4429 too many sockets,
4400 after repeated bad messages.
"""

import contextlib
import json
import logging
import time
import uuid

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from . import live, presence, selectors
from .groups import STATUS_GROUP, watchlist_group
from .hub import socket_hub
from .metrics import socket_connection_count, socket_message_count

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 1024
CLOSE_NOT_LOGGED_IN, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND = 4401, 4403, 4404
CLOSE_BAD_CLIENT, CLOSE_TOO_MANY = 4400, 4429

# Group events, their text encoded once by the publisher (watchlists.events): forwarded as is.
_GROUP_EVENTS = frozenset({"quotes.update", "watchlist.symbols", "source.status", "watchlist.deleted"})


def _error(code: str, message: str) -> str:
    return json.dumps({"type": "error", "code": code, "message": message})


class WatchlistConsumer(AsyncWebsocketConsumer):
    # No channel of its own: group messages reach the socket through its web
    # process's hub (watchlists.hub), which is the groups' one member there.
    channel_layer_alias = None

    watchlist_id: int | None = None
    joined = False
    # Group messages that arrive before the snapshot is sent wait for it, in order.
    early: list[dict] | None = None

    async def connect(self):
        user = self.scope.get("user")
        # Accept first so the browser sees our close code, not a bare handshake failure.
        if user is None or not user.is_authenticated:
            await self._refuse(CLOSE_NOT_LOGGED_IN)
            return
        watchlist_id = self.scope["url_route"]["kwargs"]["watchlist_id"]
        access = await database_sync_to_async(selectors.watchlist_access)(user=user, watchlist_id=watchlist_id)
        if access != "ok":
            await self._refuse(CLOSE_NOT_FOUND if access == "missing" else CLOSE_FORBIDDEN)
            return

        self.socket_id = uuid.uuid4().hex
        if not await presence.user_socket_claim(
            user_id=user.pk, socket_id=self.socket_id, limit=settings.WATCHLIST_MAX_SOCKETS_PER_USER
        ):
            logger.info(
                "Refused a socket for user %s: %d already open", user.pk, settings.WATCHLIST_MAX_SOCKETS_PER_USER
            )
            await self._refuse(CLOSE_TOO_MANY)
            return

        self.user_id = user.pk
        self.watchlist_id = watchlist_id
        self.bad_messages = 0
        self.pings: list[float] = []
        self.hub = socket_hub()
        # Joined before the snapshot is read, so no change can fall between the two.
        self.early = []
        await self.hub.join(self, self._groups())
        self.joined = True
        await self.accept()
        socket_connection_count(outcome="accepted")
        await presence.presence_touch(watchlist_id=watchlist_id, socket_id=self.socket_id)

        snapshot, needs_refresh = await database_sync_to_async(live.watchlist_snapshot)(watchlist_id=watchlist_id)
        await self.send(text_data=json.dumps(snapshot, separators=(",", ":")))
        socket_message_count(event_type="snapshot")
        early, self.early = self.early, None
        for event in early:
            await self.forward(event)
        if needs_refresh:
            # Enqueueing talks to the broker: keep it off the event loop.
            await sync_to_async(live.watchlist_refresh_request, thread_sensitive=False)(watchlist_id=watchlist_id)

    def _groups(self) -> list[str]:
        return [watchlist_group(self.watchlist_id), STATUS_GROUP]

    async def _refuse(self, code: int) -> None:
        socket_connection_count(outcome=code)
        await self.accept()
        await self.close(code=code)

    async def disconnect(self, code):
        if not self.joined:
            return
        self.joined = False
        await self.hub.leave(self, self._groups())
        # Best effort: a Redis outage must not turn a disconnect into an error;
        # presence and the per-user cap entry expire by themselves.
        with contextlib.suppress(Exception):
            await presence.presence_leave(watchlist_id=self.watchlist_id, socket_id=self.socket_id)
        with contextlib.suppress(Exception):
            await presence.user_socket_release(user_id=self.user_id, socket_id=self.socket_id)

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            # However the consumer ends, a crash included, it must not stay in the hub:
            # a closed socket would keep counting as a viewer (and its list being fetched).
            if self.joined:
                self.joined = False
                await self.hub.leave(self, self._groups())

    async def forward(self, event: dict) -> None:
        """A group message, from the hub: sent as the publisher encoded it."""
        if self.early is not None:
            self.early.append(event)
            return
        if not self.joined:
            return
        if event.get("type") not in _GROUP_EVENTS or not isinstance(event.get("text"), str):
            logger.warning("Dropped a group message of unknown shape for watchlist %s: %r", self.watchlist_id, event)
            return
        try:
            await self.send(text_data=event["text"])
            if event["type"] == "watchlist.deleted":
                await self.close(code=CLOSE_NOT_FOUND)
        except (OSError, RuntimeError):
            # The browser closed while a tick was on its way (daphne raises autobahn's
            # Disconnected, a RuntimeError; uvicorn an OSError). websocket.disconnect is
            # next in line and cleans up.
            return

    # --- client messages ---------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        if bytes_data is not None or text_data is None:
            await self._reject("binary", "Only JSON text messages are accepted.")
            return
        if len(text_data.encode()) > MAX_MESSAGE_BYTES:
            await self._reject("too_large", f"Messages are limited to {MAX_MESSAGE_BYTES} bytes.")
            return
        try:
            message = json.loads(text_data)
        except ValueError:
            await self._reject("malformed", "Messages must be JSON.")
            return
        if not isinstance(message, dict) or message.get("type") != "ping":
            await self._reject("unknown_type", 'The only message accepted is {"type": "ping"}.')
            return
        if not self._within_rate():
            await self._reject("rate_limited", "Too many messages; ping at most once every few seconds.")
            return
        await presence.presence_touch_many(sockets=[(self.watchlist_id, self.user_id, self.socket_id)])
        await self.send(text_data='{"type":"pong"}')

    def _within_rate(self) -> bool:
        now = time.monotonic()
        self.pings = [t for t in self.pings if now - t < 10][-20:]
        self.pings.append(now)
        return len(self.pings) <= 10

    async def _reject(self, code: str, message: str) -> None:
        self.bad_messages += 1
        await self.send(text_data=_error(code, message))
        if self.bad_messages >= 20:
            await self.close(code=CLOSE_BAD_CLIENT)
