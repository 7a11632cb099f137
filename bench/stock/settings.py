"""Settings of the stock Channels baseline (bench/stock). Not Tickerwatch's settings."""

import os

SECRET_KEY = "bench-stock-baseline-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["daphne", "channels"]
ASGI_APPLICATION = "bench.stock.asgi.application"
DATABASES = {}
USE_TZ = True
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # Default capacity, expiry and serializer. The one deviation:
            # redis-py 8's default socket_timeout equals the layer's 5 s
            # blocking read and kills idle consumers (see DESIGN.md).
            "hosts": [{"address": os.environ["REDIS_URL"], "socket_timeout": 10}],
            "prefix": os.environ.get("STOCK_PREFIX", "asgi"),
        },
    }
}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
