from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from . import health, metrics

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="watchlists:list", permanent=False)),
    path("admin/", admin.site.urls),
    path("accounts/", include("watchlists.account_urls")),
    path("watchlists/", include("watchlists.urls")),
    # Probes: normally answered earlier by config.health.health_probe_middleware.
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
]
