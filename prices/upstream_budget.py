"""A token bucket in Redis that caps requests to the quote source, shared by every worker.

However many workers, ticks and on-connect refreshes run, the source sees at
most QUOTE_UPSTREAM_REQUESTS_PER_MINUTE quote requests per minute (bursts up
to the same number). The bucket lives in one Redis hash and is taken from
atomically by a Lua script, so two workers cannot both spend the last token.
"""

import logging
import time

from django.conf import settings

from config.redis_client import redis_key, redis_sync

logger = logging.getLogger(__name__)

# KEYS[1]: the bucket. ARGV: capacity, refill per second, tokens wanted, now.
# Returns the tokens granted (0..wanted); never goes negative.
_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1])
local at = tonumber(state[2])
if tokens == nil then tokens = capacity; at = now end
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local granted = math.min(wanted, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return granted
"""


def upstream_tokens_take(*, source: str, wanted: int) -> int:
    """Take up to `wanted` request tokens for this source; returns how many were granted."""
    if wanted <= 0:
        return 0
    per_minute = settings.QUOTE_UPSTREAM_REQUESTS_PER_MINUTE
    granted = int(
        redis_sync().eval(
            _TAKE, 1, redis_key("upstream-budget", source), per_minute, per_minute / 60, wanted, time.time()
        )
    )
    if granted < wanted:
        logger.warning(
            "Upstream budget for %s reached (%d requests/minute): %d of %d batches deferred to a later tick. "
            "Raise QUOTE_UPSTREAM_REQUESTS_PER_MINUTE only if the source allows it.",
            source,
            per_minute,
            wanted - granted,
            wanted,
        )
    return granted
