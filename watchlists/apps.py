from django.apps import AppConfig


class WatchlistsConfig(AppConfig):
    name = "watchlists"
    verbose_name = "Watchlists"

    def ready(self):
        # Declares this app's /metrics figures in every process, scraped or not.
        from . import metrics  # noqa: F401
