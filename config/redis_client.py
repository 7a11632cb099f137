"""Redis clients for locks, presence and source health (not the channel layer or broker).

Every key goes through `redis_key()` so it carries REDIS_KEY_PREFIX: several
deployments or test runs can share one Redis without touching each other.
"""

import asyncio
import weakref
from functools import cache

import redis
import redis.asyncio as aioredis
from django.conf import settings
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.retry import Retry

_CLIENT_OPTIONS = {
    # Fail fast when Redis is down: callers degrade (skip a tick, keep serving
    # pages) instead of hanging a worker or a socket handler. redis-py's
    # default retries with backoff would hold a call for several seconds.
    "socket_timeout": 5,
    "socket_connect_timeout": 2,
    "health_check_interval": 30,
    "retry_on_timeout": False,
}


def _fail_fast(retry_class):
    # One immediate retry: enough to ride over a connection Redis closed
    # while it sat in the pool, without waiting out an outage.
    return retry_class(NoBackoff(), 1)


def redis_key(*parts: object) -> str:
    return ":".join([settings.REDIS_KEY_PREFIX, *(str(part) for part in parts)])


@cache
def _sync_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, retry=_fail_fast(Retry), **_CLIENT_OPTIONS)


def redis_sync() -> redis.Redis:
    """The process's shared synchronous client (thread-safe connection pool)."""
    return _sync_client(settings.REDIS_URL)


_async_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis]" = weakref.WeakKeyDictionary()


def redis_async() -> aioredis.Redis:
    """An asyncio client bound to the running event loop (one per loop: clients cannot cross loops)."""
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        client = aioredis.Redis.from_url(settings.REDIS_URL, retry=_fail_fast(AsyncRetry), **_CLIENT_OPTIONS)
        _async_clients[loop] = client
    return client
