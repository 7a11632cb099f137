"""The channel layer Tickerwatch runs on: channels-redis's PubSub layer, decoding each message once per process.

The PubSub layer receives one Redis message per group_send and puts that same
bytes object into the queue of every local channel in the group; each
consumer then decodes it again. A list open in ten tabs costs ten decodes,
the status group one per open socket, and, since Channels' dispatch loop keeps
each consumer's last message alive until the next, as many live copies.
Decoding once and sharing the result removes both. Consumers only read events
(watchlists.consumers forwards event["text"]), so sharing one dict is safe.
"""

from channels_redis.pubsub import RedisPubSubChannelLayer

# Messages are consumed right after they are queued, in order; a few recent
# ones cover every consumer of a tick's burst.
_RECENT = 16


class SharedDecodePubSubChannelLayer(RedisPubSubChannelLayer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # id(raw bytes) -> (raw bytes, decoded); the bytes are kept so their id stays theirs.
        self._recent: dict[int, tuple[bytes, dict]] = {}

    def deserialize(self, message):
        hit = self._recent.get(id(message))
        if hit is not None and hit[0] is message:
            return hit[1]
        decoded = super().deserialize(message)
        if len(self._recent) >= _RECENT:
            del self._recent[next(iter(self._recent))]
        self._recent[id(message)] = (message, decoded)
        return decoded
