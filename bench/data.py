"""The benchmark's database and data: a private database, users, lists and session cookies.

The database is the benchmark's own and recreated on every run: a SQLite file
under var/bench/, or, when DATABASE_URL names PostgreSQL, a database beside it
called <name>_bench. Users, watchlists and sessions are written in bulk
through the ORM (this is setup, not the system under test).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench.procs import ROOT

BENCH_DIR = ROOT / "var" / "bench"


def bench_database_url(database_url: str | None, out: Path = BENCH_DIR) -> str:
    """A fresh, empty database for this run; call before Django is set up."""
    if not database_url:
        out.mkdir(parents=True, exist_ok=True)
        path = out / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{path}{suffix}").unlink()
        return f"sqlite:///{path}"
    parts = urlsplit(database_url)
    if not parts.scheme.startswith("postgres"):
        raise SystemExit(f"bench: DATABASE_URL must be PostgreSQL or unset (SQLite), not {parts.scheme}")
    import psycopg

    name = parts.path.lstrip("/") or "postgres"
    bench_name = f"{name}_bench"
    admin_url = urlunsplit(("postgresql", parts.netloc, f"/{name}", parts.query, ""))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{bench_name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{bench_name}"')
    return urlunsplit((parts.scheme, parts.netloc, f"/{bench_name}", parts.query, ""))


def database_migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


@dataclass(frozen=True)
class ListAccess:
    watchlist_id: int
    cookie: str
    symbols: tuple[str, ...]


def lists_create(*, prefix: str, symbol_lists: list[list[str]]) -> list[ListAccess]:
    """One user per list, each with a logged-in session; returns what a client needs to open it."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction

    from watchlists.models import Watchlist, WatchlistItem

    user_model = get_user_model()
    unusable = make_password(None)
    with transaction.atomic():
        users = user_model.objects.bulk_create(
            [user_model(username=f"{prefix}{n}", password=unusable) for n in range(len(symbol_lists))]
        )
        if any(user.pk is None for user in users):  # backends without RETURNING
            users = list(user_model.objects.filter(username__startswith=prefix).order_by("pk"))
        lists = Watchlist.objects.bulk_create([Watchlist(owner=user, name="Bench") for user in users])
        if any(watchlist.pk is None for watchlist in lists):
            lists = list(Watchlist.objects.filter(owner__in=users).order_by("owner_id"))
        WatchlistItem.objects.bulk_create(
            [
                WatchlistItem(watchlist=watchlist, symbol=symbol, position=position)
                for watchlist, symbols in zip(lists, symbol_lists, strict=True)
                for position, symbol in enumerate(symbols)
            ]
        )
    accesses = []
    for user, watchlist, symbols in zip(users, lists, symbol_lists, strict=True):
        session = SessionStore()
        session[SESSION_KEY] = user._meta.pk.value_to_string(user)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        accesses.append(
            ListAccess(
                watchlist_id=watchlist.pk,
                cookie=f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
                symbols=tuple(symbols),
            )
        )
    return accesses


def shared_symbol_lists(*, lists: int, per_list: int, pool: int, tag: str) -> list[list[str]]:
    """`lists` lists of `per_list` symbols drawn in rotation from a pool of `pool` symbols (they overlap)."""
    symbols = [f"{tag}{n:04d}" for n in range(pool)]
    return [[symbols[(per_list * n + k) % pool] for k in range(per_list)] for n in range(lists)]


def disjoint_symbol_lists(*, lists: int, per_list: int, tag: str) -> list[list[str]]:
    return [[f"{tag}{n:02d}X{k:03d}" for k in range(per_list)] for n in range(lists)]
