"""Every read of watchlists that views, admin, consumers and tasks share."""

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from prices.models import Quote

from .models import Watchlist, WatchlistItem


@dataclass(frozen=True, slots=True)
class WatchlistRow:
    item: WatchlistItem
    quote: Quote | None


def watchlists_for_owner(*, owner) -> QuerySet[Watchlist]:
    return Watchlist.objects.filter(owner=owner).annotate(symbol_count=Count("items"))


def watchlist_get_for_owner(*, owner, watchlist_id: int) -> Watchlist:
    """The owner's watchlist; raises Watchlist.DoesNotExist for anyone else's, so it reads as absent."""
    return Watchlist.objects.get(owner=owner, pk=watchlist_id)


def watchlist_symbols(*, watchlist_id: int) -> list[str]:
    return list(WatchlistItem.objects.filter(watchlist_id=watchlist_id).values_list("symbol", flat=True))


def watchlist_rows(*, watchlist: Watchlist) -> list[WatchlistRow]:
    """Items with their last stored quote: two queries whatever the list's length."""
    items = list(WatchlistItem.objects.filter(watchlist=watchlist))
    quotes = Quote.objects.in_bulk([item.symbol for item in items], field_name="symbol")
    return [WatchlistRow(item=item, quote=quotes.get(item.symbol)) for item in items]
