"""Tickerwatch settings: one module, driven by the environment.

Production values have no defaults: with DEBUG off, SECRET_KEY and
ALLOWED_HOSTS must be set or the process refuses to start.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

if DEBUG:
    SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-development-only")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
else:
    try:
        SECRET_KEY = env("SECRET_KEY")
        ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
    except ImproperlyConfigured as exc:
        raise ImproperlyConfigured(
            f"{exc}. With DEBUG off, SECRET_KEY and ALLOWED_HOSTS must be set in the environment."
        ) from exc
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured("ALLOWED_HOSTS is empty; list the host names this site answers to.")

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # daphne first: its runserver serves HTTP and websockets in development.
    "daphne",
    # django.contrib.admin, with a site that adds the staff "Live" page (config/admin.py).
    "config.apps.TickerwatchAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "axes",
    "prices",
    "watchlists",
]

MIDDLEWARE = [
    # First: answers /healthz and /readyz before host validation and the
    # HTTPS redirect, which container probes would fail (config/health.py).
    "config.health.health_probe_middleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from the web process itself: no separate file server to run.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "prices.context_processors.quote_source",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
# No DATABASE_URL: a SQLite file under var/. Under ASGI every request may run
# on another thread, so connections are not kept between requests
# (CONN_MAX_AGE=0) unless the operator opts in.
DATABASES = {
    "default": env.db(
        "DATABASE_URL",
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    # Tests that start real daphne and Celery processes need a test database
    # those processes can open too, so not SQLite's default in-memory one.
    if test_name := env("DATABASE_TEST_NAME", default=""):
        DATABASES["default"]["TEST"] = {"NAME": test_name}
    # Web, worker and beat share one file: wait for the writer instead of
    # failing with "database is locked", and let readers run beside it.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer, Celery broker, locks, presence --------------------
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")
# Pub/sub ignores database numbers, so every key, channel and queue this
# deployment uses carries this prefix; two deployments (or a test run beside
# `make run`) on one Redis never hear each other.
REDIS_KEY_PREFIX = env("REDIS_KEY_PREFIX", default="tickerwatch")

# "core" (channels_redis.core.RedisChannelLayer): messages queued per channel
# in Redis, with capacity and expiry. "pubsub" (RedisPubSubChannelLayer): one
# Redis PUBLISH per group_send, fanned out inside each web process; no
# capacity or expiry (it accepts hosts, prefix and serializer options only).
# Either way a web process is one member per group for all its sockets
# (watchlists.hub). docs/performance.md has the measurements behind the default.
CHANNEL_LAYER_BACKEND = env("CHANNEL_LAYER_BACKEND", default="pubsub")
_CHANNEL_LAYER_HOST = {
    "address": REDIS_URL,
    # redis-py's default socket_timeout (5 s) equals the core layer's 5 s
    # blocking read: idle receives would time out and kill consumers. Keep
    # it above that.
    "socket_timeout": 10,
}
if CHANNEL_LAYER_BACKEND == "core":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [_CHANNEL_LAYER_HOST],
                "prefix": f"{REDIS_KEY_PREFIX}.asgi",
                "capacity": env.int("CHANNEL_CAPACITY", default=100),
                "expiry": 60,
            },
        }
    }
elif CHANNEL_LAYER_BACKEND == "pubsub":
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [_CHANNEL_LAYER_HOST], "prefix": f"{REDIS_KEY_PREFIX}.asgi"},
        }
    }
else:
    raise ImproperlyConfigured(f"CHANNEL_LAYER_BACKEND={CHANNEL_LAYER_BACKEND!r}: use 'core' or 'pubsub'.")

# --- Celery -----------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"{REDIS_KEY_PREFIX}.celery."}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Keep trying for as long as Redis is away: a worker that gives up and exits
# would need a supervisor to come back.
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TASK_DEFAULT_QUEUE = "tickerwatch"
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"

# --- Auth -------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # Refuses logins for a username and address with too many recent failures.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_LOCKOUT_MINUTES", default=15))
# Per account and address together: an attacker elsewhere cannot lock a
# user out of their own account.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "watchlists:list"
LOGOUT_REDIRECT_URL = "login"

# --- I18N / static ----------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Without collectstatic (make run, tests), serve straight from static/.
WHITENOISE_USE_FINDERS = DEBUG
if DEBUG:
    Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)

# --- Security (production) --------------------------------------------------
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if env.bool("BEHIND_TLS_PROXY", default=False):
    # Only trust X-Forwarded-Proto when a proxy we run sets it.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# The probes answer plain HTTP (see config/health.py).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# --- Web process: garbage collection ----------------------------------------
# A web process holds thousands of long-lived socket objects, and every tick
# makes short-lived ones by the thousand. With Python's default threshold
# (700) a tick's burst promotes enough of them that a full collection, which
# walks every socket's objects (0.1-0.2 s at 1000 sockets), runs every ~10 s and
# stalls that tick's deliveries. config/gc_tuning.py; 0 keeps the default.
WEB_GC_GEN0_THRESHOLD = env.int("WEB_GC_GEN0_THRESHOLD", default=10_000)

# --- Operations: probes and metrics ------------------------------------------
# Each readiness check (database, Redis) gives up after this long.
HEALTH_CHECK_TIMEOUT_SECONDS = env.float("HEALTH_CHECK_TIMEOUT_SECONDS", default=2.0)
# /metrics answers only requests with "Authorization: Bearer <METRICS_TOKEN>";
# unset, it does not exist (404).
METRICS_TOKEN = env("METRICS_TOKEN", default="")
# Web processes add their per-socket counts to Redis this often (a message
# sent never waits on Redis); a crash loses at most this much counting.
METRICS_FLUSH_SECONDS = env.float("METRICS_FLUSH_SECONDS", default=5.0)

# --- Watchlist limits -------------------------------------------------------
WATCHLIST_MAX_SYMBOLS = env.int("WATCHLIST_MAX_SYMBOLS", default=100)
WATCHLIST_MAX_PER_USER = env.int("WATCHLIST_MAX_PER_USER", default=50)
# Open live sockets per user (tabs, devices); extras are closed with 4429.
WATCHLIST_MAX_SOCKETS_PER_USER = env.int("WATCHLIST_MAX_SOCKETS_PER_USER", default=20)

# --- Quotes -----------------------------------------------------------------
QUOTE_PROVIDER = env("QUOTE_PROVIDER", default="yahoo")
QUOTE_POLL_SECONDS = env.float("QUOTE_POLL_SECONDS", default=5.0)
QUOTE_CLOSED_POLL_SECONDS = env.float("QUOTE_CLOSED_POLL_SECONDS", default=300.0)
QUOTE_FETCH_TIMEOUT_SECONDS = env.float("QUOTE_FETCH_TIMEOUT_SECONDS", default=10.0)
# A quote older than this (while its market is open) is shown as stale.
QUOTE_STALE_SECONDS = env.float("QUOTE_STALE_SECONDS", default=30.0)
# Only for tests and benchmarks: send Yahoo requests to this base URL (a fake
# Yahoo server) instead of Yahoo's hosts. Never set in production.
QUOTE_YAHOO_BASE_URL = env("QUOTE_YAHOO_BASE_URL", default="")
QUOTE_SIMULATED_SEED = env.int("QUOTE_SIMULATED_SEED", default=42)
# "open" keeps the simulated market open around the clock so a demo always
# moves; "closed" closes it (to exercise the closed-market cadence).
QUOTE_SIMULATED_MARKET = env("QUOTE_SIMULATED_MARKET", default="open")
# The tick gives up before the next one is due, and a tick message that
# waited longer than one interval in the queue is dropped, not replayed.
QUOTE_TICK_TIME_LIMIT_SECONDS = env.float("QUOTE_TICK_TIME_LIMIT_SECONDS", default=QUOTE_POLL_SECONDS * 0.9)
CELERY_BEAT_SCHEDULE = {
    "quotes-tick": {
        "task": "watchlists.tasks.quotes_tick",
        "schedule": QUOTE_POLL_SECONDS,
        "options": {"expires": QUOTE_POLL_SECONDS},
    },
}

# Backoff after upstream failures, shared by all workers through Redis.
QUOTE_BACKOFF_BASE_SECONDS = env.float("QUOTE_BACKOFF_BASE_SECONDS", default=5.0)
QUOTE_RATE_LIMIT_BACKOFF_SECONDS = env.float("QUOTE_RATE_LIMIT_BACKOFF_SECONDS", default=60.0)
QUOTE_BACKOFF_MAX_SECONDS = env.float("QUOTE_BACKOFF_MAX_SECONDS", default=600.0)
# Open pages hear from the pipeline at least this often, changes or not, so a
# stopped worker shows as stale instead of as a quiet market.
QUOTE_STATUS_HEARTBEAT_SECONDS = env.float("QUOTE_STATUS_HEARTBEAT_SECONDS", default=10.0)
# Presence: each web process refreshes its sockets' entries this often; an
# entry not refreshed within the TTL (a crashed web process) stops counting as
# a viewer. The refresh also rejoins the process's groups, so after Redis
# restarts empty live updates come back within this long.
PRESENCE_REFRESH_SECONDS = env.float("PRESENCE_REFRESH_SECONDS", default=10.0)
PRESENCE_TTL_SECONDS = env.float("PRESENCE_TTL_SECONDS", default=60.0)
# Shared cap on quote requests to the source (all workers together). Each
# request carries up to 50 symbols; the default serves ~100 symbols on a 5 s
# tick with room for on-connect refreshes.
QUOTE_UPSTREAM_REQUESTS_PER_MINUTE = env.int("QUOTE_UPSTREAM_REQUESTS_PER_MINUTE", default=60)
# After this many failures in a row the breaker opens (state "down"); once the
# backoff runs out a single worker probes the source (half-open) while the
# others keep waiting.
QUOTE_BREAKER_FAILURES = env.int("QUOTE_BREAKER_FAILURES", default=3)
# Recent prices kept per symbol (in Redis) for each row's trend line.
SPARKLINE_POINTS = env.int("SPARKLINE_POINTS", default=60)

# --- Logging ----------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
# "json": one JSON object per line, extra fields included (config/log_format.py).
LOG_FORMAT = env("LOG_FORMAT", default="plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use 'plain' or 'json'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "config.log_format.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # yfinance logs every cookie/crumb step at WARNING; our adapter
        # reports the outcome that matters.
        "yfinance": {"level": "ERROR"},
        "daphne": {"level": "WARNING"},
        # Celery's "Task received / succeeded" every few seconds drowns the
        # one line per tick that watchlists.live writes.
        "celery.worker.strategy": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        # Every successful login and clean-up at INFO; lockouts still log at WARNING.
        "axes": {"level": "WARNING"},
    },
}
