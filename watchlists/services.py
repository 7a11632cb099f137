"""Every write to watchlists, shared by pages, admin, consumers and tasks.

Limits are checked while holding a row lock (the owner for list counts, the
watchlist for symbol counts), so two tabs racing each other cannot push a
list past its limit or add a symbol twice; the database constraints are the
last line behind that.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from prices.symbols import symbol_normalize

from .events import watchlist_symbols_announce
from .models import Watchlist, WatchlistItem

NAME_MAX_LENGTH = Watchlist._meta.get_field("name").max_length


def _name_clean(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": "Give the watchlist a name."})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": f"Keep the name to {NAME_MAX_LENGTH} characters or fewer."})
    return name


def _name_taken_error(name: str) -> ValidationError:
    return ValidationError({"name": f"You already have a watchlist called “{name}”."})


@transaction.atomic
def watchlist_create(*, owner, name: str, symbols: list[str] | tuple[str, ...] = ()) -> Watchlist:
    name = _name_clean(name)
    # Serialise list creation per user so the limit holds under concurrency.
    get_user_model().objects.select_for_update().filter(pk=owner.pk).first()
    limit = settings.WATCHLIST_MAX_PER_USER
    if Watchlist.objects.filter(owner=owner).count() >= limit:
        raise ValidationError(
            f"You have reached the limit of {limit} watchlists. Delete one you no longer use to make room."
        )
    if Watchlist.objects.filter(owner=owner, name__iexact=name).exists():
        raise _name_taken_error(name)
    try:
        with transaction.atomic():
            watchlist = Watchlist.objects.create(owner=owner, name=name)
    except IntegrityError as exc:
        raise _name_taken_error(name) from exc
    for symbol in symbols:
        watchlist_symbol_add(watchlist=watchlist, symbol=symbol)
    return watchlist


@transaction.atomic
def watchlist_rename(*, watchlist: Watchlist, name: str) -> Watchlist:
    name = _name_clean(name)
    clash = Watchlist.objects.filter(owner_id=watchlist.owner_id, name__iexact=name).exclude(pk=watchlist.pk)
    if clash.exists():
        raise _name_taken_error(name)
    watchlist.name = name
    try:
        with transaction.atomic():
            watchlist.save(update_fields=["name", "updated_at"])
    except IntegrityError as exc:
        raise _name_taken_error(name) from exc
    return watchlist


@transaction.atomic
def watchlist_delete(*, watchlist: Watchlist) -> None:
    watchlist_id = watchlist.pk
    watchlist.delete()
    # Open pages learn the list is gone and stop showing it as live.
    transaction.on_commit(lambda: watchlist_symbols_announce(watchlist_id=watchlist_id))


@transaction.atomic
def watchlists_set_enabled(*, watchlist_ids: list[int], enabled: bool) -> int:
    return Watchlist.objects.filter(pk__in=watchlist_ids).update(enabled=enabled)


def _lock(watchlist: Watchlist) -> Watchlist:
    return Watchlist.objects.select_for_update().get(pk=watchlist.pk)


@transaction.atomic
def watchlist_symbol_add(*, watchlist: Watchlist, symbol: str) -> WatchlistItem:
    symbol = symbol_normalize(symbol)
    locked = _lock(watchlist)
    items = WatchlistItem.objects.filter(watchlist=locked)
    if items.filter(symbol=symbol).exists():
        raise ValidationError({"symbol": f"{symbol} is already on this watchlist."})
    limit = settings.WATCHLIST_MAX_SYMBOLS
    if items.count() >= limit:
        raise ValidationError(
            {"symbol": f"This watchlist already has {limit} symbols, the most it can hold. Remove one first."}
        )
    last = items.aggregate(last=Max("position"))["last"]
    try:
        with transaction.atomic():
            item = WatchlistItem.objects.create(
                watchlist=locked, symbol=symbol, position=0 if last is None else last + 1
            )
    except IntegrityError as exc:
        raise ValidationError({"symbol": f"{symbol} is already on this watchlist."}) from exc
    transaction.on_commit(lambda: watchlist_symbols_announce(watchlist_id=locked.pk))
    return item


@transaction.atomic
def watchlist_symbol_remove(*, watchlist: Watchlist, item_id: int) -> str:
    """Remove one item; raises WatchlistItem.DoesNotExist when it is not on this list."""
    locked = _lock(watchlist)
    item = WatchlistItem.objects.get(watchlist=locked, pk=item_id)
    item.delete()
    transaction.on_commit(lambda: watchlist_symbols_announce(watchlist_id=locked.pk))
    return item.symbol


@transaction.atomic
def watchlist_symbols_reorder(*, watchlist: Watchlist, symbols: list[str]) -> None:
    """Put the list's symbols in the given order; it must name each of them exactly once."""
    locked = _lock(watchlist)
    items = {item.symbol: item for item in WatchlistItem.objects.filter(watchlist=locked)}
    wanted = [symbol_normalize(s) for s in symbols]
    if len(wanted) != len(set(wanted)) or set(wanted) != set(items):
        raise ValidationError(
            "The new order must list every symbol on this watchlist exactly once; reload the page and try again."
        )
    for position, symbol in enumerate(wanted):
        items[symbol].position = position
    WatchlistItem.objects.bulk_update(items.values(), ["position"])
    transaction.on_commit(lambda: watchlist_symbols_announce(watchlist_id=locked.pk))


@transaction.atomic
def watchlist_symbol_move(*, watchlist: Watchlist, item_id: int, offset: int) -> None:
    """Move one item up (offset -1) or down (+1); a move past either end does nothing."""
    locked = _lock(watchlist)
    order = list(WatchlistItem.objects.filter(watchlist=locked).values_list("pk", "symbol"))
    index = next((i for i, (pk, _) in enumerate(order) if pk == item_id), None)
    if index is None:
        raise WatchlistItem.DoesNotExist(f"No item {item_id} on watchlist {locked.pk}.")
    target = index + offset
    if not 0 <= target < len(order):
        return
    order[index], order[target] = order[target], order[index]
    watchlist_symbols_reorder(watchlist=locked, symbols=[symbol for _, symbol in order])
