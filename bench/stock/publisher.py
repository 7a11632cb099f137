"""Publishes the stock baseline's ticks: one group_send per interval, published_at stamped.

DJANGO_SETTINGS_MODULE=bench.stock.settings python -m bench.stock.publisher PAYLOAD.json [INTERVAL]
"""

import asyncio
import json
import os
import signal
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.stock.settings")

import django

django.setup()

from channels.layers import get_channel_layer  # noqa: E402

from bench.stock.asgi import GROUP  # noqa: E402


async def main(payload_path: str, interval: float) -> None:
    with open(payload_path) as payload_file:
        payload = json.load(payload_file)
    layer = get_channel_layer()
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    print("publisher started", flush=True)
    next_tick = time.monotonic()
    while not stop.done():
        next_tick += interval
        await asyncio.wait([stop], timeout=max(0.0, next_tick - time.monotonic()))
        if stop.done():
            break
        payload["published_at"] = int(time.time() * 1000)
        await layer.group_send(GROUP, {"type": "quotes.update", "payload": payload})


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 1.0))
