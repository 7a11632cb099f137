"""WebSocket clients for the fan-out benchmark, in their own process (asyncio + websockets).

    python -m bench.clients SPEC.json

SPEC: {"targets": [{"url": ..., "cookie": ..., "group": ...}, ...], "origin": ...,
"connect_concurrency": 100, "connect_timeout": 60}. Each target is one socket.

Protocol on stdin/stdout, one JSON object per line:
- after connecting every socket (and reading its first message), prints
  {"event": "ready", "connected": n, "failed": n, "connect_seconds": s, "errors": [...]}
- reads "measure SECONDS": counts what arrives for that long, keeps listening
  GRACE seconds more for messages published inside the window, then prints
  {"event": "result", ...} (see `_result`)
- reads "close": closes every socket and exits. End of stdin does the same.

Latency is receipt time minus the message's `published_at` (epoch ms, same
machine clock). A message carrying none (status, snapshot) is only counted.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time

from websockets.asyncio.client import connect

PUBLISHED = b'"published_at":'
GRACE_SECONDS = 3.0


class Client:
    __slots__ = ("closed_code", "group", "other", "published", "ws")

    def __init__(self, group: str):
        self.group = group
        self.ws = None
        self.published: list[tuple[int, float]] = []  # (published_at ms, latency ms)
        self.other = 0
        self.closed_code: int | None = None


class Recorder:
    def __init__(self) -> None:
        self.recording = False  # keep latencies (through the grace period)
        self.in_window = False  # count messages without published_at


def _published_at(text: str) -> int | None:
    # Cheaper than json.loads of a 4 KB message: the clients share 2 cores with the server.
    index = text.rfind('"published_at":')
    if index < 0:
        return None
    start = index + 15
    end = start
    while end < len(text) and (text[end].isdigit() or text[end] == " "):
        end += 1
    try:
        return int(text[start:end])
    except ValueError:
        return None


async def _listen(client: Client, recorder: Recorder) -> None:
    try:
        async for message in client.ws:
            if not recorder.recording:
                continue
            now_ms = time.time() * 1000
            published = _published_at(message) if isinstance(message, str) else None
            if published is None:
                if recorder.in_window:
                    client.other += 1
            else:
                client.published.append((published, now_ms - published))
    except Exception:
        pass
    finally:
        client.closed_code = client.ws.close_code if client.ws is not None else None


async def _open(target: dict, origin: str, timeout: float) -> Client:
    client = Client(target["group"])
    headers = {"Cookie": target["cookie"]} if target.get("cookie") else None
    client.ws = await connect(
        target["url"],
        origin=origin,
        additional_headers=headers,
        open_timeout=timeout,
        # Browsers do not ping; permessage-deflate off on every server measured.
        ping_interval=None,
        compression=None,
        max_size=2**22,
        close_timeout=2,
    )
    # The first message (our snapshot) proves the socket is fully set up.
    if target.get("expect_first", True):
        await asyncio.wait_for(client.ws.recv(), timeout)
    return client


def _percentile(sorted_values: list[float], fraction: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return round(sorted_values[index], 1)


def _result(clients: list[Client], start_ms: float, end_ms: float, seconds: float, cpu: float) -> dict:
    published_by_group: dict[str, set[int]] = {}
    in_window: list[set[int]] = []
    latencies: list[float] = []
    received = other = duplicates = 0
    for client in clients:
        seen: set[int] = set()
        for published, latency in client.published:
            if published + latency < end_ms:
                received += 1
            if start_ms <= published < end_ms:
                if published in seen:
                    duplicates += 1
                    continue
                seen.add(published)
                latencies.append(latency)
        other += client.other
        in_window.append(seen)
        published_by_group.setdefault(client.group, set()).update(seen)
    expected = sum(len(published_by_group[client.group]) for client in clients)
    delivered_in_window = sum(len(seen) for seen in in_window)
    latencies.sort()
    ticks = set().union(*published_by_group.values()) if published_by_group else set()
    closed = sum(1 for client in clients if client.closed_code is not None)
    close_codes: dict[str, int] = {}
    for client in clients:
        if client.closed_code is not None:
            close_codes[str(client.closed_code)] = close_codes.get(str(client.closed_code), 0) + 1
    return {
        "event": "result",
        "seconds": round(seconds, 2),
        "sockets": len(clients),
        "sockets_closed": closed,
        "close_codes": close_codes,
        "ticks_seen": len(ticks),
        "messages_received": received + other,
        "quote_messages": received,
        "other_messages": other,
        "messages_per_second": round((received + other) / seconds, 1),
        "expected_in_window": expected,
        "delivered_in_window": delivered_in_window,
        "lost": expected - delivered_in_window,
        "loss_ratio": round((expected - delivered_in_window) / expected, 5) if expected else None,
        "duplicates": duplicates,
        "latency_ms": {
            "p50": _percentile(latencies, 0.50),
            "p95": _percentile(latencies, 0.95),
            "p99": _percentile(latencies, 0.99),
            "max": round(latencies[-1], 1) if latencies else None,
        },
        "client_cpu_seconds": round(cpu, 2),
    }


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main(spec_path: str) -> None:
    with open(spec_path) as spec_file:
        spec = json.load(spec_file)
    targets, origin = spec["targets"], spec["origin"]
    timeout = float(spec.get("connect_timeout", 60))
    semaphore = asyncio.Semaphore(int(spec.get("connect_concurrency", 100)))
    recorder = Recorder()
    errors: list[str] = []

    retries = [0]

    listeners: list[asyncio.Task] = []

    async def open_one(target: dict) -> Client | None:
        # Like the page: a failed connect is retried after a pause (at most 3 attempts).
        for attempt in range(3):
            async with semaphore:
                try:
                    client = await _open(target, origin, timeout)
                    # Read from the start, as a browser does: a socket left unread while
                    # the others connect would stop answering the server's pings.
                    listeners.append(asyncio.create_task(_listen(client, recorder)))
                    return client
                except Exception as exc:
                    if len(errors) < 10:
                        errors.append(f"{type(exc).__name__}: {exc}"[:200])
                    retries[0] += 1
            await asyncio.sleep(1 + attempt)
        return None

    started = time.monotonic()
    opened = await asyncio.gather(*(open_one(target) for target in targets))
    clients = [client for client in opened if client is not None]
    _say(
        {
            "event": "ready",
            "connected": len(clients),
            "failed": len(targets) - len(clients),
            "failed_attempts": retries[0],
            "connect_seconds": round(time.monotonic() - started, 2),
            "errors": errors,
        }
    )

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = (await reader.readline()).decode().strip()
        if not line or line == "close":
            break
        if line.startswith("measure"):
            seconds = float(line.split()[1])
            for client in clients:
                client.published.clear()
                client.other = 0
            cpu0 = _cpu()
            start_ms = time.time() * 1000
            recorder.recording = recorder.in_window = True
            await asyncio.sleep(seconds)
            end_ms = time.time() * 1000
            recorder.in_window = False
            # Messages published inside the window may still be on their way.
            await asyncio.sleep(GRACE_SECONDS)
            recorder.recording = False
            _say(_result(clients, start_ms, end_ms, seconds, _cpu() - cpu0))

    await asyncio.gather(*(client.ws.close() for client in clients), return_exceptions=True)
    for task in listeners:
        task.cancel()
    await asyncio.gather(*listeners, return_exceptions=True)


def _say(payload: dict) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 65536)), hard))
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(main(sys.argv[1]))
