"""Listen to channel-layer groups from synchronous tests, as an open page would.

The listener owns a channel layer instance and an event loop in a thread of
its own: channels-redis binds a channel's receive buffer to the loop that
first received on it, so receiving across async_to_sync calls would break.
"""

import asyncio
import json
import queue
import threading

from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers


class GroupListener:
    def __init__(self, *groups: str):
        self.layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        self.events: queue.Queue = queue.Queue()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="group-listener", daemon=True)
        self.thread.start()
        self.channel = self._call(self.layer.new_channel())
        for group in groups:
            self._call(self.layer.group_add(group, self.channel))
        self.task = asyncio.run_coroutine_threadsafe(self._receive_forever(), self.loop)

    def _call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=10)

    async def _receive_forever(self) -> None:
        while True:
            self.events.put(await self.layer.receive(self.channel))

    def drain(self, timeout: float = 2.0) -> list[dict]:
        """Every message that arrives until `timeout` passes with none, decoded."""
        messages = []
        while True:
            try:
                event = self.events.get(timeout=timeout)
            except queue.Empty:
                return messages
            messages.append(json.loads(event["text"]))
            timeout = min(timeout, 0.3)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.task.cancel)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        # channels-redis flushes the layer's connections as the loop closes.
        self.loop.close()
