"""The admin site: Django's own, plus the staff "Live" page at /admin/live/."""

from django.contrib import admin
from django.urls import path


class TickerwatchAdminSite(admin.AdminSite):
    def get_urls(self):
        from watchlists.admin_live import live_view

        # admin_view: staff only; anyone else is sent to the admin login.
        return [path("live/", self.admin_view(live_view), name="live"), *super().get_urls()]
