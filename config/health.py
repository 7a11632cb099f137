"""Liveness and readiness probes for load balancers and container orchestrators.

- ``/healthz``: the process answers. No database, no Redis: restart the
  process when this fails, never because a shared dependency is down.
- ``/readyz``: the database and Redis each answer within
  HEALTH_CHECK_TIMEOUT_SECONDS. 200 with a JSON body when both do; 503 naming
  the one(s) that did not otherwise: take the process out of rotation.

`health_probe_middleware`, first in MIDDLEWARE, answers both before any other
middleware runs: before ALLOWED_HOSTS validation (probes address a container
by its IP, which is rarely an allowed host) and before the HTTPS redirect
(probes speak plain HTTP to the container; SECURE_REDIRECT_EXEMPT lists both
paths too, for setups without the middleware). Nothing in either answer is
built from the request's host, so skipping host validation opens no
host-header attack. Error details go to the log, not to the (anonymous) body.
"""

import asyncio
import contextlib
import copy
import logging
import math
import threading
import time

import redis.asyncio as aioredis
from asgiref.sync import async_to_sync, iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.db.utils import load_backend
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

LIVENESS_PATH = "/healthz"
READINESS_PATH = "/readyz"
_PROBE_ALIAS = "readiness-probe"


def _database_ping(settings_dict: dict, timeout: float) -> None:
    """SELECT 1 over a connection of its own, closed afterwards.

    Its own connection: the probe runs in a worker thread that must not keep
    a thread-local connection open, and a pooled connection could hide that
    the database stopped accepting new ones.
    """
    from django.db import connections

    params = copy.deepcopy(settings_dict)
    # Defaults (TIME_ZONE, OPTIONS, ...) for a dict that did not come through
    # django.db.connections, such as one a test overrides.
    connections.configure_settings({"default": params})
    options = params["OPTIONS"]
    options.pop("pool", None)  # a pool per probe would leak its connections
    if "postgresql" in params["ENGINE"]:
        options["connect_timeout"] = max(1, math.ceil(timeout))
    elif "sqlite3" in params["ENGINE"]:
        options["timeout"] = timeout
    wrapper = load_backend(params["ENGINE"]).DatabaseWrapper(params, _PROBE_ALIAS)
    try:
        with wrapper.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        wrapper.close()


def _in_daemon_thread(function, *args) -> asyncio.Future:
    """Run a blocking call in a thread of its own, as a Future of this loop.

    Not the loop's default executor: a database that hangs would keep an
    executor thread past the timeout, and whoever closes the loop (asyncio.run,
    async_to_sync) would wait for it. The driver's own connect timeout ends
    the thread soon after.
    """
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def settle(result, error) -> None:
        if future.done():  # timed out and cancelled: nobody is waiting
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def run() -> None:
        try:
            outcome = (function(*args), None)
        except Exception as error:
            outcome = (None, error)
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is waiting any more
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=run, name="readiness-database", daemon=True).start()
    return future


async def database_check(*, settings_dict: dict, timeout: float) -> None:
    """Raise unless the database answers within `timeout` seconds."""
    await asyncio.wait_for(_in_daemon_thread(_database_ping, settings_dict, timeout), timeout)


async def redis_check(*, url: str, timeout: float) -> None:
    """Raise unless Redis answers PING within `timeout` seconds."""
    client = aioredis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        await asyncio.wait_for(client.ping(), timeout)
    finally:
        await client.aclose()


async def _timed(name: str, check) -> dict:
    started = time.monotonic()
    try:
        await check
    except Exception as error:
        elapsed = time.monotonic() - started
        reason = "timeout" if isinstance(error, TimeoutError) else type(error).__name__
        logger.warning(
            "Readiness: %s unavailable after %.0f ms (%s: %s); this process reports 503 on %s",
            name,
            elapsed * 1000,
            type(error).__name__,
            error or "no answer in time",
            READINESS_PATH,
        )
        return {"ok": False, "error": reason, "ms": round(elapsed * 1000)}
    return {"ok": True, "ms": round((time.monotonic() - started) * 1000)}


async def readiness_get(*, timeout: float | None = None) -> dict:
    """Both checks, side by side: {"status", "failed": [names], "checks": {name: {"ok", "ms", "error"?}}}."""
    timeout = settings.HEALTH_CHECK_TIMEOUT_SECONDS if timeout is None else timeout
    names = ("database", "redis")
    results = await asyncio.gather(
        _timed("database", database_check(settings_dict=settings.DATABASES["default"], timeout=timeout)),
        _timed("redis", redis_check(url=settings.REDIS_URL, timeout=timeout)),
    )
    checks = dict(zip(names, results, strict=True))
    failed = [name for name, result in checks.items() if not result["ok"]]
    return {"status": "unavailable" if failed else "ok", "failed": failed, "checks": checks}


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


async def readyz(request: HttpRequest) -> JsonResponse:
    readiness = await readiness_get()
    response = JsonResponse(readiness, status=503 if readiness["failed"] else 200)
    response["Cache-Control"] = "no-store"
    return response


def health_probe_middleware(get_response):
    """Answer /healthz and /readyz ahead of host validation, HTTPS redirect, sessions and auth."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            if request.path == LIVENESS_PATH:
                return healthz(request)
            if request.path == READINESS_PATH:
                return await readyz(request)
            return await get_response(request)

        return markcoroutinefunction(middleware)

    def middleware(request):
        if request.path == LIVENESS_PATH:
            return healthz(request)
        if request.path == READINESS_PATH:
            return async_to_sync(readyz)(request)
        return get_response(request)

    return middleware


health_probe_middleware.sync_capable = True
health_probe_middleware.async_capable = True
