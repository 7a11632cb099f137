"""The stock baseline: a minimal Channels app, as the Channels tutorial would write it.

One AsyncJsonWebsocketConsumer in one group, `send_json` per socket, default
channels-redis settings, under daphne. It imports nothing of Tickerwatch.
"""
