from django.conf import settings


def quote_source(request):
    """Tell every page where prices come from, so simulated ones are labelled."""
    return {"quote_provider": settings.QUOTE_PROVIDER}
