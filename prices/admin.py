from django.contrib import admin
from django.utils.timesince import timesince

from .models import Quote


@admin.register(Quote)
class QuoteAdmin(admin.ModelAdmin):
    """Read-only: quotes are written by the fetch pipeline, never by hand."""

    list_display = ["symbol", "name", "price", "currency", "change_percent", "market_state", "fetched_at", "age"]
    list_filter = ["market_state", "unknown", "source", "currency"]
    search_fields = ["symbol", "name"]
    ordering = ["symbol"]

    @admin.display(description="Age", ordering="-fetched_at")
    def age(self, obj) -> str:
        return f"{timesince(obj.fetched_at)} ago"

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields] + ["age"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
