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


# Connections one web process's event loop keeps to Redis for presence and the socket cap.
_ASYNC_MAX_CONNECTIONS = 50


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
        # A blocking pool: thousands of sockets refreshing presence at once wait a moment
        # for a connection. redis-py's default pool raises MaxConnectionsError past 100
        # connections in use; measured at 3000 sockets (make bench), that failed connects
        # and presence refreshes.
        pool = aioredis.BlockingConnectionPool.from_url(
            settings.REDIS_URL,
            max_connections=_ASYNC_MAX_CONNECTIONS,
            timeout=_CLIENT_OPTIONS["socket_timeout"],
            retry=_fail_fast(AsyncRetry),
            **_CLIENT_OPTIONS,
        )
        client = aioredis.Redis(connection_pool=pool)
        _async_clients[loop] = client
    return client
