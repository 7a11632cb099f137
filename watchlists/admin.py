from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.http import HttpResponseRedirect

from prices.symbols import symbol_normalize

from . import services
from .events import watchlist_symbols_announce
from .models import Watchlist, WatchlistItem


class WatchlistItemForm(forms.ModelForm):
    class Meta:
        model = WatchlistItem
        fields = ["symbol", "position"]

    def clean_symbol(self) -> str:
        # Same rules as the pages: " aapl " becomes AAPL, "AA PL" is refused.
        return symbol_normalize(self.cleaned_data.get("symbol"))


class WatchlistItemFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if self.instance.pk is None or any(self.errors):
            return
        # Symbols added elsewhere (a tab, another admin) since this page was
        # loaded are not in the formset; adding one again here would collide.
        shown = {form.instance.pk for form in self.initial_forms}
        added_meanwhile = set(
            WatchlistItem.objects.filter(watchlist=self.instance).exclude(pk__in=shown).values_list("symbol", flat=True)
        )
        for form in self.forms:
            if form in self.deleted_forms or not form.has_changed():
                continue
            symbol = form.cleaned_data.get("symbol")
            if symbol in added_meanwhile:
                form.add_error("symbol", f"{symbol} was added to this watchlist meanwhile; reload the page.")


class WatchlistItemInline(admin.TabularInline):
    model = WatchlistItem
    form = WatchlistItemForm
    formset = WatchlistItemFormSet
    extra = 1
    ordering = ["position", "id"]

    def get_max_num(self, request, obj=None, **kwargs):
        return settings.WATCHLIST_MAX_SYMBOLS

    def get_formset(self, request, obj=None, **kwargs):
        kwargs["validate_max"] = True
        return super().get_formset(request, obj, **kwargs)


@admin.register(Watchlist)
class WatchlistAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "enabled", "symbol_count", "updated_at"]
    list_filter = ["enabled", "created_at", "updated_at"]
    search_fields = ["name", "owner__username", "owner__email", "items__symbol"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [WatchlistItemInline]
    actions = ["enable_watchlists", "disable_watchlists"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_symbol_count=Count("items", distinct=True))

    @admin.display(description="Symbols", ordering="_symbol_count")
    def symbol_count(self, obj) -> int:
        return obj._symbol_count

    def save_model(self, request, obj, form, change):
        if change:
            # Serialise with the pages' services, which lock the same row.
            Watchlist.objects.select_for_update().filter(pk=obj.pk).first()
        super().save_model(request, obj, form, change)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except IntegrityError:
            # A concurrent edit won the race between validation and save. The
            # whole save was rolled back: say so rather than answer with a 500.
            self.message_user(
                request,
                "This watchlist changed while you were editing it (in another tab?), so nothing was saved. "
                "Review it and save again.",
                messages.ERROR,
            )
            return HttpResponseRedirect(request.get_full_path())

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        watchlist_id = form.instance.pk
        # Open pages add or remove rows without a reload.
        transaction.on_commit(lambda: watchlist_symbols_announce(watchlist_id=watchlist_id))

    def delete_model(self, request, obj):
        services.watchlist_delete(watchlist=obj)

    @admin.action(description="Enable selected watchlists")
    def enable_watchlists(self, request, queryset):
        count = services.watchlists_set_enabled(watchlist_ids=list(queryset.values_list("pk", flat=True)), enabled=True)
        self.message_user(request, f"Enabled {count} watchlist(s).", messages.SUCCESS)

    @admin.action(description="Disable selected watchlists")
    def disable_watchlists(self, request, queryset):
        count = services.watchlists_set_enabled(
            watchlist_ids=list(queryset.values_list("pk", flat=True)), enabled=False
        )
        self.message_user(request, f"Disabled {count} watchlist(s).", messages.SUCCESS)
