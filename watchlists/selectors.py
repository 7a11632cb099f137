"""Every read of watchlists that views, admin, consumers and tasks share."""

from dataclasses import dataclass

from django.db.models import Count, QuerySet

from prices.models import Quote

from .models import Watchlist, WatchlistItem
from .presence import watchlists_viewed


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


def watchlists_active() -> list[int]:
    """Enabled watchlists that at least one browser has open right now."""
    viewed = watchlists_viewed()
    if not viewed:
        return []
    return list(Watchlist.objects.filter(pk__in=viewed, enabled=True).values_list("pk", flat=True))


def watchlist_symbols_by_list(*, watchlist_ids: list[int]) -> dict[int, list[str]]:
    """Each list's symbols in display order, in one query."""
    by_list: dict[int, list[str]] = {watchlist_id: [] for watchlist_id in watchlist_ids}
    rows = WatchlistItem.objects.filter(watchlist_id__in=watchlist_ids).values_list("watchlist_id", "symbol")
    for watchlist_id, symbol in rows:
        by_list[watchlist_id].append(symbol)
    return by_list


def watchlist_access(*, user, watchlist_id: int) -> str:
    """'ok' for the owner, 'forbidden' for anyone else's list, 'missing' when there is none."""
    owner_id = Watchlist.objects.filter(pk=watchlist_id).values_list("owner_id", flat=True).first()
    if owner_id is None:
        return "missing"
    return "ok" if owner_id == user.pk else "forbidden"


def watchlist_quotes(*, watchlist_id: int) -> tuple[list[str], list[Quote]]:
    """The list's symbols in order and the quotes stored for them: two queries."""
    symbols = watchlist_symbols(watchlist_id=watchlist_id)
    return symbols, list(Quote.objects.filter(symbol__in=symbols))
