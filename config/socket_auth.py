"""The logged-in user of a live socket, from its session cookie.

Channels' AuthMiddlewareStack is three middlewares (cookies, session, user):
each copies the scope and stays on the stack, suspended, for the socket's
whole life, along with a session wrapper and a lazy user. Our consumer reads
the user once, at connect; for that, those layers were memory and
garbage-collector work per open socket (docs/performance.md). This resolves
the user once, with Django's own session and authentication checks (session
hash, inactive users, key fallbacks), and passes one scope copy on.

The consumer gets scope["user"] only: it cannot log in or out or save the
session through this middleware (it never needed to).
"""

from importlib import import_module
from types import SimpleNamespace

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib import auth
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie


def _session_key(scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            return parse_cookie(value.decode("latin1")).get(settings.SESSION_COOKIE_NAME)
    return None


@database_sync_to_async
def _session_user(session_key: str | None):
    if not session_key:
        return AnonymousUser()
    session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    # django.contrib.auth reads only request.session.
    return auth.get_user(SimpleNamespace(session=session))


class SessionUserMiddleware:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        user = await _session_user(_session_key(scope))
        return await self.inner({**scope, "user": user}, receive, send)
