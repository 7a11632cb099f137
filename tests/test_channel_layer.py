"""The PubSub channel layer decodes a group message once per process, however many sockets share it."""

import asyncio

import pytest
from channels.layers import get_channel_layer
from django.conf import settings

pytestmark = pytest.mark.skipif(settings.CHANNEL_LAYER_BACKEND != "pubsub", reason="PubSub layer only")


async def test_one_group_message_is_decoded_once_and_shared():
    layer = get_channel_layer()
    channels = [await layer.new_channel() for _ in range(3)]
    for channel in channels:
        await layer.group_add("decode-once", channel)
    try:
        await layer.group_send("decode-once", {"type": "quotes.update", "text": "{}"})
        received = await asyncio.wait_for(asyncio.gather(*(layer.receive(channel) for channel in channels)), 5)
        assert all(message == {"type": "quotes.update", "text": "{}"} for message in received)
        assert received[0] is received[1] is received[2]
    finally:
        for channel in channels:
            await layer.group_discard("decode-once", channel)
        await layer.flush()
