"""Which watchlists have a browser on them right now, kept in Redis.

One sorted set holds an entry per open socket ("<watchlist id>:<socket
id>") scored by the time it expires. Each web process refreshes its sockets'
entries while they live (watchlists.hub); a web process that dies leaves
entries that simply expire, so a crash never leaves ghost viewers that keep
quotes being fetched.
"""

import time
from collections import defaultdict

from django.conf import settings

from config.redis_client import redis_async, redis_key, redis_sync


def _key() -> str:
    return redis_key("presence")


def _member(watchlist_id: int, socket_id: str) -> str:
    return f"{int(watchlist_id)}:{socket_id}"


async def presence_touch(*, watchlist_id: int, socket_id: str) -> None:
    expires_at = time.time() + settings.PRESENCE_TTL_SECONDS
    await redis_async().zadd(_key(), {_member(watchlist_id, socket_id): expires_at})


async def presence_touch_many(*, sockets: list[tuple[int, int, str]]) -> None:
    """Refresh (watchlist id, user id, socket id) entries, presence and per-user cap, in one round trip."""
    if not sockets:
        return
    expires_at = time.time() + settings.PRESENCE_TTL_SECONDS
    by_user: dict[int, dict[str, float]] = defaultdict(dict)
    for _, user_id, socket_id in sockets:
        by_user[user_id][socket_id] = expires_at
    pipe = redis_async().pipeline(transaction=False)
    pipe.zadd(_key(), {_member(watchlist_id, socket_id): expires_at for watchlist_id, _, socket_id in sockets})
    for user_id, members in by_user.items():
        pipe.zadd(_user_key(user_id), members)
        pipe.expire(_user_key(user_id), int(settings.PRESENCE_TTL_SECONDS) + 1)
    await pipe.execute()


async def presence_leave(*, watchlist_id: int, socket_id: str) -> None:
    await redis_async().zrem(_key(), _member(watchlist_id, socket_id))


def _live_members(now: float) -> list[bytes]:
    client = redis_sync()
    pipe = client.pipeline()
    pipe.zremrangebyscore(_key(), "-inf", now)
    pipe.zrangebyscore(_key(), now, "+inf")
    return pipe.execute()[1]


def watchlists_viewed(*, now: float | None = None) -> dict[int, int]:
    """Watchlist id -> number of live sockets, for every watchlist open somewhere."""
    counts: dict[int, int] = {}
    for member in _live_members(time.time() if now is None else now):
        watchlist_id = int(member.split(b":", 1)[0])
        counts[watchlist_id] = counts.get(watchlist_id, 0) + 1
    return counts


# --- open sockets per user, for the per-user cap ----------------------------


def _user_key(user_id: int) -> str:
    return redis_key("sockets", int(user_id))


async def user_socket_claim(*, user_id: int, socket_id: str, limit: int) -> bool:
    """Count this socket against its user's cap; False (and nothing recorded) when the cap is reached.

    Add first, then count: two sockets racing for the last place may both be
    refused, but the cap is never exceeded.
    """
    now = time.time()
    client = redis_async()
    key = _user_key(user_id)
    pipe = client.pipeline()
    pipe.zremrangebyscore(key, "-inf", now)
    pipe.zadd(key, {socket_id: now + settings.PRESENCE_TTL_SECONDS})
    pipe.zcard(key)
    pipe.expire(key, int(settings.PRESENCE_TTL_SECONDS) + 1)
    *_, count, _ = await pipe.execute()
    if count > limit:
        await client.zrem(key, socket_id)
        return False
    return True


async def user_socket_release(*, user_id: int, socket_id: str) -> None:
    await redis_async().zrem(_user_key(user_id), socket_id)
