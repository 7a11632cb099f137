from django.contrib.admin.apps import AdminConfig


class TickerwatchAdminConfig(AdminConfig):
    """django.contrib.admin whose default site (still `admin.site`) adds the staff "Live" page."""

    default_site = "config.admin.TickerwatchAdminSite"
