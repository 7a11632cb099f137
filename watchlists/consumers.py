"""The live socket of one watchlist page: /ws/watchlists/<id>/.

Server to client: snapshot, quotes, watchlist, status, pong, error.
Client to server: {"type": "ping"} only. Close codes: 4401 not logged in,
4403 not yours, 4404 no such list (or deleted), 4429 too many sockets,
4400 after repeated bad messages.
"""

import asyncio
import contextlib
import json
import logging
import time

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from . import live, presence, selectors
from .groups import STATUS_GROUP, watchlist_group
from .metrics import socket_connection_count, socket_message_count

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 1024
CLOSE_NOT_LOGGED_IN, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND = 4401, 4403, 4404
CLOSE_BAD_CLIENT, CLOSE_TOO_MANY = 4400, 4429

# Group events whose text was encoded once by the publisher: forwarded as is,
# without the per-message database-connection cleanup Channels' dispatch
# does (these handlers never touch the database).
_FORWARDED_EVENTS = frozenset({"quotes.update", "watchlist.symbols", "source.status"})


def _error(code: str, message: str) -> str:
    return json.dumps({"type": "error", "code": code, "message": message})


class WatchlistConsumer(AsyncWebsocketConsumer):
    watchlist_id: int | None = None
    joined = False

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

        if not await presence.user_socket_claim(
            user_id=user.pk, channel_name=self.channel_name, limit=settings.WATCHLIST_MAX_SOCKETS_PER_USER
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
        await self.channel_layer.group_add(watchlist_group(watchlist_id), self.channel_name)
        await self.channel_layer.group_add(STATUS_GROUP, self.channel_name)
        self.joined = True
        await self.accept()
        socket_connection_count(outcome="accepted")
        await presence.presence_touch(watchlist_id=watchlist_id, channel_name=self.channel_name)
        self.presence_task = asyncio.create_task(self._keep_presence())

        snapshot, needs_refresh = await database_sync_to_async(live.watchlist_snapshot)(watchlist_id=watchlist_id)
        await self.send(text_data=json.dumps(snapshot, separators=(",", ":")))
        socket_message_count(event_type="snapshot")
        if needs_refresh:
            # Enqueueing talks to the broker: keep it off the event loop.
            await sync_to_async(live.watchlist_refresh_request, thread_sensitive=False)(watchlist_id=watchlist_id)

    async def _refuse(self, code: int) -> None:
        socket_connection_count(outcome=code)
        await self.accept()
        await self.close(code=code)

    async def _touch(self) -> None:
        await presence.presence_touch(watchlist_id=self.watchlist_id, channel_name=self.channel_name)
        await presence.user_socket_touch(user_id=self.user_id, channel_name=self.channel_name)

    async def _rejoin(self) -> None:
        # A Redis that restarted empty forgot this socket's groups: joining
        # again is idempotent, and heals the socket within one refresh.
        await self.channel_layer.group_add(watchlist_group(self.watchlist_id), self.channel_name)
        await self.channel_layer.group_add(STATUS_GROUP, self.channel_name)

    async def _keep_presence(self) -> None:
        while True:
            await asyncio.sleep(settings.PRESENCE_REFRESH_SECONDS)
            try:
                await self._touch()
                await self._rejoin()
            except Exception:
                logger.warning("Could not refresh presence for watchlist %s (Redis down?)", self.watchlist_id)

    async def disconnect(self, code):
        if not self.joined:
            return
        task = getattr(self, "presence_task", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # Best effort: a Redis outage must not turn a disconnect into an error;
        # presence expires by itself and group membership by the layer's expiry.
        with contextlib.suppress(Exception):
            await presence.presence_leave(watchlist_id=self.watchlist_id, channel_name=self.channel_name)
        with contextlib.suppress(Exception):
            await presence.user_socket_release(user_id=self.user_id, channel_name=self.channel_name)
        with contextlib.suppress(Exception):
            await self.channel_layer.group_discard(watchlist_group(self.watchlist_id), self.channel_name)
            await self.channel_layer.group_discard(STATUS_GROUP, self.channel_name)

    async def __call__(self, scope, receive, send):
        try:
            await super().__call__(scope, receive, send)
        finally:
            # However the consumer ends, a crash included, its presence refresher must not
            # keep a closed socket counting as a viewer (and its list being fetched).
            task = getattr(self, "presence_task", None)
            if task is not None:
                task.cancel()

    async def dispatch(self, message):
        if message["type"] in _FORWARDED_EVENTS:
            try:
                await self.send(text_data=message["text"])
            except (OSError, RuntimeError):
                # The browser closed while a tick was on its way (daphne raises autobahn's
                # Disconnected, a RuntimeError; uvicorn an OSError). websocket.disconnect is
                # next in line and cleans up; crashing here would skip that cleanup.
                return
            # In memory, flushed to Redis in batches: no round trip per message.
            socket_message_count(event_type=message["type"])
            return
        await super().dispatch(message)

    async def watchlist_deleted(self, event):
        await self.send(text_data=event["text"])
        socket_message_count(event_type="watchlist.deleted")
        await self.close(code=CLOSE_NOT_FOUND)

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
        await self._touch()
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
