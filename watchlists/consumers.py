from channels.generic.websocket import AsyncWebsocketConsumer


class WatchlistConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        await self.close(code=4404)
