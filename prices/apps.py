from django.apps import AppConfig


class PricesConfig(AppConfig):
    name = "prices"
    verbose_name = "Market data"

    def ready(self):
        # Declares this app's /metrics figures in every process, scraped or not.
        from . import metrics  # noqa: F401
