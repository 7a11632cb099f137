"""Live sockets for tests, through the real ASGI application (origin check, session auth, routing)."""

import json

from channels.testing import WebsocketCommunicator

from config.asgi import application

ORIGIN = (b"origin", b"http://localhost")


def communicator(path: str, cookie: bytes | None = None, origin=ORIGIN) -> WebsocketCommunicator:
    headers = [origin] if origin else []
    if cookie:
        headers.append((b"cookie", cookie))
    return WebsocketCommunicator(application, path, headers=headers)


async def receive_json(comm, timeout=3):
    return json.loads(await comm.receive_from(timeout=timeout))


async def open_socket(watchlist, cookie, timeout=5):
    """A connected socket on the watchlist's page, and the snapshot it was sent first."""
    comm = communicator(f"/ws/watchlists/{watchlist.pk}/", cookie)
    connected, _ = await comm.connect(timeout=timeout)
    assert connected
    snapshot = await receive_json(comm, timeout=timeout)
    assert snapshot["type"] == "snapshot"
    return comm, snapshot


async def close_code(comm) -> int:
    connected, _ = await comm.connect(timeout=5)
    assert connected  # accepted, so that the close code reaches the browser
    output = await comm.receive_output(timeout=3)
    assert output["type"] == "websocket.close"
    await comm.disconnect()
    return output["code"]
