"""The admin's "Live" page: which lists are open and by how many, what the last ticks did, how the source is."""

from django.contrib import admin
from django.shortcuts import render

from .monitoring import live_overview


def live_view(request):
    """Staff only (wrapped in admin_view by config.admin.TickerwatchAdminSite)."""
    overview = live_overview()
    context = {
        **admin.site.each_context(request),
        "title": "Live",
        "overview": overview,
        "retry_in": overview.source.retry_in(),
    }
    return render(request, "admin/live.html", context)
