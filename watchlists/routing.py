from django.urls import path

from . import consumers

websocket_urlpatterns = [
    path("ws/watchlists/<int:watchlist_id>/", consumers.WatchlistConsumer.as_asgi()),
]
