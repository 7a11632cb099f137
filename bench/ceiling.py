"""The ceiling: a plain asyncio `websockets` server that broadcasts each tick.

    python -m bench.ceiling --port N --payload PAYLOAD.json [--interval 1]

Ticks start on SIGUSR1 (so idle sockets can be measured first). Then every
`interval` seconds it stamps `published_at` (epoch ms) into the payload,
encodes it once and hands the text to `websockets.broadcast`. No framework,
no channel layer, no Redis: what one Python process can push at best.
"""

import argparse
import asyncio
import json
import signal
import time

from websockets.asyncio.server import broadcast, serve


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--payload", required=True)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args()
    with open(args.payload) as payload_file:
        payload = json.load(payload_file)
    clients = set()

    async def handler(ws):
        clients.add(ws)
        try:
            await ws.wait_closed()
        finally:
            clients.discard(ws)

    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    ticking = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, ticking.set)

    async with serve(handler, "127.0.0.1", args.port, compression=None, ping_interval=None, max_size=2**16):
        print(f"ceiling listening on 127.0.0.1:{args.port}", flush=True)
        started = asyncio.ensure_future(ticking.wait())
        await asyncio.wait([stop, started], return_when=asyncio.FIRST_COMPLETED)
        next_tick = time.monotonic()
        while not stop.done():
            next_tick += args.interval
            await asyncio.wait([stop], timeout=max(0.0, next_tick - time.monotonic()))
            if stop.done():
                break
            payload["published_at"] = int(time.time() * 1000)
            broadcast(clients, json.dumps(payload, separators=(",", ":")))


if __name__ == "__main__":
    asyncio.run(main())
