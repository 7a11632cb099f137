"""Server-rendered pages. Thin: forms validate, services write, selectors read.

Another user's watchlist raises 404 (never 403), for reads and writes alike,
so ids reveal nothing about who owns what.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from prices.sparklines import sparklines_get

from . import selectors, services
from .forms import MoveForm, SignUpForm, SymbolAddForm, WatchlistNameForm
from .models import Watchlist, WatchlistItem


def _owned_or_404(request, watchlist_id: int) -> Watchlist:
    try:
        return selectors.watchlist_get_for_owner(owner=request.user, watchlist_id=watchlist_id)
    except Watchlist.DoesNotExist:
        raise Http404("No such watchlist.") from None


def _apply_errors(form, error: ValidationError) -> None:
    """Attach a service's ValidationError to the form, field by field where it names one."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


@require_http_methods(["GET", "POST"])
def signup(request):
    if request.user.is_authenticated:
        return redirect("watchlists:list")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.username}. Create your first watchlist below.")
        return redirect("watchlists:list")
    return render(request, "registration/signup.html", {"form": form})


@login_required
@require_http_methods(["GET", "POST"])
def watchlist_list(request):
    form = WatchlistNameForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            watchlist = services.watchlist_create(owner=request.user, name=form.cleaned_data["name"])
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"Created “{watchlist.name}”. Add some symbols.")
            return redirect("watchlists:detail", watchlist_id=watchlist.pk)
    context = {
        "watchlists": selectors.watchlists_for_owner(owner=request.user),
        "form": form,
        "max_lists": settings.WATCHLIST_MAX_PER_USER,
    }
    return render(request, "watchlists/list.html", context)


def _detail(request, watchlist: Watchlist, *, add_form=None, rename_form=None):
    rows = selectors.watchlist_rows(watchlist=watchlist)
    sparklines = sparklines_get(symbols=[row.item.symbol for row in rows])
    context = {
        "watchlist": watchlist,
        "rows": [{"item": row.item, "quote": row.quote, "sparkline": sparklines[row.item.symbol]} for row in rows],
        "add_form": add_form or SymbolAddForm(),
        "rename_form": rename_form or WatchlistNameForm(initial={"name": watchlist.name}),
        "max_symbols": settings.WATCHLIST_MAX_SYMBOLS,
        "ticker_config": {
            "watchlist": watchlist.pk,
            "socketPath": f"/ws/watchlists/{watchlist.pk}/",
            "staleSeconds": settings.QUOTE_STALE_SECONDS,
            "sparklinePoints": settings.SPARKLINE_POINTS,
        },
    }
    return render(request, "watchlists/detail.html", context)


@login_required
@require_http_methods(["GET"])
def watchlist_detail(request, watchlist_id: int):
    return _detail(request, _owned_or_404(request, watchlist_id))


@login_required
@require_POST
def symbol_add(request, watchlist_id: int):
    watchlist = _owned_or_404(request, watchlist_id)
    form = SymbolAddForm(request.POST)
    if form.is_valid():
        try:
            item = services.watchlist_symbol_add(watchlist=watchlist, symbol=form.cleaned_data["symbol"])
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"Added {item.symbol}.")
            return redirect("watchlists:detail", watchlist_id=watchlist.pk)
    return _detail(request, watchlist, add_form=form)


@login_required
@require_POST
def symbol_remove(request, watchlist_id: int, item_id: int):
    watchlist = _owned_or_404(request, watchlist_id)
    try:
        symbol = services.watchlist_symbol_remove(watchlist=watchlist, item_id=item_id)
    except WatchlistItem.DoesNotExist:
        raise Http404("That symbol is not on this watchlist.") from None
    messages.success(request, f"Removed {symbol}.")
    return redirect("watchlists:detail", watchlist_id=watchlist.pk)


@login_required
@require_POST
def symbol_move(request, watchlist_id: int, item_id: int):
    watchlist = _owned_or_404(request, watchlist_id)
    form = MoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose to move the symbol up or down.")
        return redirect("watchlists:detail", watchlist_id=watchlist.pk)
    try:
        services.watchlist_symbol_move(watchlist=watchlist, item_id=item_id, offset=form.offset)
    except WatchlistItem.DoesNotExist:
        raise Http404("That symbol is not on this watchlist.") from None
    return redirect("watchlists:detail", watchlist_id=watchlist.pk)


@login_required
@require_POST
def watchlist_rename(request, watchlist_id: int):
    watchlist = _owned_or_404(request, watchlist_id)
    form = WatchlistNameForm(request.POST)
    if form.is_valid():
        try:
            services.watchlist_rename(watchlist=watchlist, name=form.cleaned_data["name"])
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, f"Renamed to “{watchlist.name}”.")
            return redirect("watchlists:detail", watchlist_id=watchlist.pk)
    watchlist.refresh_from_db()
    return _detail(request, watchlist, rename_form=form)


@login_required
@require_http_methods(["GET", "POST"])
def watchlist_delete(request, watchlist_id: int):
    watchlist = _owned_or_404(request, watchlist_id)
    if request.method == "POST":
        name = watchlist.name
        services.watchlist_delete(watchlist=watchlist)
        messages.success(request, f"Deleted “{name}”.")
        return redirect("watchlists:list")
    return render(
        request,
        "watchlists/confirm_delete.html",
        {"watchlist": watchlist, "symbol_count": watchlist.items.count()},
    )
