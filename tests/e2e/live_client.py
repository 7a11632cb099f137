"""A watchlist socket client for outage tests: connects, reconnects like the page does, records what it hears."""

import asyncio
import contextlib
import json
import threading
import time

import websockets


class LiveClient:
    def __init__(self, url: str, cookie: str, origin: str, *, read: bool = True, max_queue: int = 16):
        self.url, self.cookie, self.origin = url, cookie, origin
        self.read = read
        self.max_queue = max_queue
        self.messages: list[tuple[float, dict]] = []
        self.connects = 0
        self.local_ports: list[int] = []
        self.closes: list[int | None] = []
        self._stop = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),), daemon=True)

    def start(self) -> "LiveClient":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    async def _main(self) -> None:
        delay = 0.2
        while not self._stop.is_set():
            try:
                async with websockets.connect(
                    self.url,
                    additional_headers={"Cookie": self.cookie},
                    origin=self.origin,
                    max_queue=self.max_queue,
                    ping_interval=None,
                    open_timeout=5,
                ) as socket:
                    self.connects += 1
                    self.local_ports.append(socket.local_address[1])
                    delay = 0.2
                    try:
                        await self._session(socket)
                    finally:
                        self.closes.append(socket.close_code)
            except (TimeoutError, OSError, websockets.WebSocketException):
                pass
            if not self.read:
                return  # a stuck client does not come back
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2)

    async def _session(self, socket) -> None:
        if not self.read:
            # Never read again: frames pile up until the server gives up on us.
            while not self._stop.is_set() and socket.state is websockets.State.OPEN:
                await asyncio.sleep(0.2)
            with contextlib.suppress(Exception):
                await socket.wait_closed()
            return
        while not self._stop.is_set():
            try:
                raw = await asyncio.wait_for(socket.recv(), 0.5)
            except TimeoutError:
                continue
            self.messages.append((time.monotonic(), json.loads(raw)))

    def quotes_since(self, moment: float) -> list[dict]:
        return [m for t, m in self.messages if t >= moment and m.get("type") == "quotes"]

    def wait_for_quotes(self, *, after: float, timeout: float) -> float:
        """Seconds from `after` until the first quotes message; raises on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            fresh = [t for t, m in list(self.messages) if t >= after and m.get("type") == "quotes"]
            if fresh:
                return fresh[0] - after
            time.sleep(0.05)
        raise TimeoutError(f"no quotes within {timeout}s (connects={self.connects}, closes={self.closes})")
