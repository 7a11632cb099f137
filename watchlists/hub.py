"""One channel-layer member per web process for all of its live sockets.

Channels' usual design makes every socket a member of its groups: its own
channel, subscription and receive loop, and per message a queue hand-off,
a decode, a dispatch loop turn and a new task, per socket. At a tick a
second and a thousand sockets that machinery, not the work, was most of the
web process's time (docs/performance.md). Here the process joins each group
once, on behalf of its sockets: a relay per group receives each message
once and hands it to the local sockets of that group; one refresher keeps
every socket's presence and the process's group memberships fresh in one
batch, instead of a timer per socket.

Works with any channel layer that has groups (the PubSub and core Redis
layers, the in-memory one): a relay is an ordinary channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from channels.layers import get_channel_layer
from django.conf import settings

from . import presence
from .metrics import socket_message_count

logger = logging.getLogger(__name__)


class LiveSocket(Protocol):
    socket_id: str
    user_id: int
    watchlist_id: int

    async def forward(self, event: dict) -> None:
        """Send one group event to the browser."""


class _Relay:
    """The process's membership of one group: a channel, its receive loop, the local sockets it serves."""

    def __init__(self, hub: SocketHub, group: str):
        self.hub = hub
        self.group = group
        self.sockets: set[LiveSocket] = set()
        self.channel: str | None = None
        self.started = asyncio.ensure_future(self._start())
        self.receiver: asyncio.Task | None = None

    async def _start(self) -> None:
        layer = self.hub.layer
        self.channel = await layer.new_channel(prefix="hub.")
        await layer.group_add(self.group, self.channel)
        self.receiver = asyncio.create_task(self._receive_forever())

    async def _receive_forever(self) -> None:
        while True:
            try:
                event = await self.hub.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("Could not read group %s from the channel layer (Redis down?); retrying", self.group)
                await asyncio.sleep(1)
                continue
            self._deliver(event)

    def _deliver(self, event: dict) -> None:
        # A copy: a socket may leave while its message is on the way.
        for socket in tuple(self.sockets):
            self.hub.start_eagerly(socket.forward(event))
        socket_message_count(event_type=event.get("type", ""), amount=len(self.sockets))

    async def stop(self) -> None:
        # Waits for the start to settle without taking its outcome (a failed start has nothing to undo).
        await asyncio.wait([self.started])
        if self.receiver is not None:
            self.receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.receiver
        if self.channel is not None:
            # Best effort: a layer that is down forgets the membership by itself (expiry, lost subscription).
            with contextlib.suppress(Exception):
                await self.hub.layer.group_discard(self.group, self.channel)


class SocketHub:
    """The live sockets of one event loop (one web process), their relays and their refresher."""

    def __init__(self, layer):
        self.layer = layer
        self.relays: dict[str, _Relay] = {}
        self.sockets: set[LiveSocket] = set()
        self.refresher: asyncio.Task | None = None
        self._tasks: set[asyncio.Task] = set()

    def spawn(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        # The loop keeps only weak references to tasks.
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def start_eagerly(self, coroutine) -> None:
        """Run `coroutine` here until it first waits; only then does it get a task of its own.

        Python 3.12's eager tasks, for 3.11. A socket's send nearly always
        completes without waiting (daphne's never waits), and a task per
        socket per message was a fifth of the web process's time, and the
        garbage that made its full collections stall a tick. A send that does
        wait (uvicorn's websockets backend, on a slow reader) finishes in its
        own task, without holding up the sockets after it.
        """
        try:
            waiting_on = coroutine.send(None)
        except StopIteration:
            return
        except Exception:
            logger.exception("A live socket failed to take a group message")
            return
        self.spawn(_finish(coroutine, waiting_on))

    async def join(self, socket: LiveSocket, groups: list[str]) -> None:
        """Receive the groups' messages on `socket` from now on; raises if the channel layer is unreachable."""
        self.sockets.add(socket)
        if self.refresher is None:
            self.refresher = asyncio.create_task(self._refresh_forever())
        for group in groups:
            relay = self.relays.get(group)
            if relay is None:
                relay = self.relays[group] = _Relay(self, group)
            relay.sockets.add(socket)
            try:
                # Shielded: one socket giving up must not cancel the relay others wait for.
                await asyncio.shield(relay.started)
            except BaseException:  # a socket closed mid-join (cancelled) must not stay counted either
                # Forget the failed relay at once, so the next socket tries afresh.
                if self.relays.get(group) is relay:
                    del self.relays[group]
                    self.spawn(relay.stop())
                await self.leave(socket, groups)
                raise

    async def leave(self, socket: LiveSocket, groups: list[str]) -> None:
        self.sockets.discard(socket)
        for group in groups:
            relay = self.relays.get(group)
            if relay is None:
                continue
            relay.sockets.discard(socket)
            if not relay.sockets:
                del self.relays[group]
                await relay.stop()
        if not self.sockets and self.refresher is not None:
            self.refresher.cancel()
            self.refresher = None
            _hubs.pop(asyncio.get_running_loop(), None)

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(settings.PRESENCE_REFRESH_SECONDS)
            try:
                await self.refresh()
            except Exception:
                logger.warning(
                    "Could not refresh presence of %d live socket(s) (Redis down?); retrying in %s s",
                    len(self.sockets),
                    settings.PRESENCE_REFRESH_SECONDS,
                )

    async def refresh(self) -> None:
        """Presence of every socket in one batch, then every group joined again.

        Joining again is idempotent: it renews the core layer's group expiry,
        and heals memberships a Redis that restarted empty has forgotten.
        """
        sockets = list(self.sockets)
        await presence.presence_touch_many(
            sockets=[(socket.watchlist_id, socket.user_id, socket.socket_id) for socket in sockets]
        )
        # A socket that closed while the batch was on its way was written back: remove it again.
        for socket in sockets:
            if socket not in self.sockets:
                await presence.presence_leave(watchlist_id=socket.watchlist_id, socket_id=socket.socket_id)
                await presence.user_socket_release(user_id=socket.user_id, socket_id=socket.socket_id)
        for relay in list(self.relays.values()):
            if relay.receiver is not None:
                await self.layer.group_add(relay.group, relay.channel)


async def _finish(coroutine, waiting_on) -> None:
    """Drive a coroutine that waited outside any task to its end, as a task would have."""
    try:
        while True:
            if waiting_on is None:  # a bare yield: give the loop one turn
                await asyncio.sleep(0)
            else:
                # Wait for the future without taking its outcome: the coroutine
                # reads it (result or exception) when resumed.
                await asyncio.wait([waiting_on])
            waiting_on = coroutine.send(None)
    except StopIteration:
        return
    except asyncio.CancelledError:
        coroutine.close()
        raise
    except Exception:
        logger.exception("A live socket failed to take a group message")


_hubs: dict[asyncio.AbstractEventLoop, SocketHub] = {}


def socket_hub() -> SocketHub:
    """This event loop's hub (daphne runs one loop per process; tests one per test)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = SocketHub(get_channel_layer())
    return hub
