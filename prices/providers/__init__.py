from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from .base import FailureKind, FetchFailure, FetchResult, QuoteData, QuoteProvider

__all__ = ["FailureKind", "FetchFailure", "FetchResult", "QuoteData", "QuoteProvider", "provider_get"]

_provider: QuoteProvider | None = None
_provider_key: tuple | None = None


def provider_get() -> QuoteProvider:
    """The provider named by QUOTE_PROVIDER, built once per process (and again if settings change)."""
    global _provider, _provider_key
    key = (
        settings.QUOTE_PROVIDER,
        settings.QUOTE_YAHOO_BASE_URL,
        settings.QUOTE_FETCH_TIMEOUT_SECONDS,
        settings.QUOTE_SIMULATED_SEED,
        settings.QUOTE_SIMULATED_MARKET,
    )
    if _provider is None or key != _provider_key:
        _provider = _provider_build(settings.QUOTE_PROVIDER)
        _provider_key = key
    return _provider


def _provider_build(name: str) -> QuoteProvider:
    if name == "yahoo":
        from .yahoo import YahooProvider

        # A fetch must end inside the tick's time budget, so that a slow Yahoo
        # is reported as a timeout (and backed off from) rather than the tick
        # being killed with nothing learned.
        timeout = min(settings.QUOTE_FETCH_TIMEOUT_SECONDS, max(0.5, settings.QUOTE_TICK_TIME_LIMIT_SECONDS - 0.5))
        return YahooProvider(
            timeout=timeout,
            base_url=settings.QUOTE_YAHOO_BASE_URL or None,
        )
    if name == "simulated":
        from .simulated import SimulatedProvider

        return SimulatedProvider(seed=settings.QUOTE_SIMULATED_SEED, market=settings.QUOTE_SIMULATED_MARKET)
    raise ImproperlyConfigured(f"QUOTE_PROVIDER={name!r} is not a quote provider; use 'yahoo' or 'simulated'.")
