from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from prices.symbols import SYMBOL_MAX_LENGTH, SYMBOL_PATTERN, validate_symbol


class Watchlist(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watchlists")
    name = models.CharField(max_length=100)
    # Disabled lists keep their symbols but are never fetched or pushed.
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # "Tech" and "tech" would be indistinguishable on the page.
            models.UniqueConstraint(Lower("name"), "owner", name="watchlist_name_unique_per_owner"),
            models.CheckConstraint(condition=~Q(name=""), name="watchlist_name_not_blank"),
        ]
        indexes = [models.Index(fields=["owner", "enabled"])]

    def __str__(self) -> str:
        return self.name


class WatchlistItem(models.Model):
    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="items")
    symbol = models.CharField(max_length=SYMBOL_MAX_LENGTH, validators=[validate_symbol])
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["watchlist", "symbol"], name="watchlist_symbol_once"),
            # Normalised form only: no lower case, no spaces, Yahoo's alphabet.
            models.CheckConstraint(condition=Q(symbol__regex=SYMBOL_PATTERN), name="watchlist_item_symbol_format"),
        ]
        indexes = [models.Index(fields=["symbol"])]

    def __str__(self) -> str:
        return self.symbol
