"""Test environment, loaded by pytest before Django reads its settings.

Settings come from the environment, so tests set the few values they need
here rather than in a separate settings module. Anything already set (CI's
DATABASE_URL and REDIS_URL, for instance) is left alone.
"""

import os
import uuid
from pathlib import Path

os.environ.setdefault("DEBUG", "1")
os.environ.setdefault("SECRET_KEY", "tests-only-not-secret")
os.environ.setdefault("ALLOWED_HOSTS", "localhost,127.0.0.1,testserver")
os.environ.setdefault("QUOTE_PROVIDER", "simulated")
# Pub/sub ignores database numbers: a private prefix keeps this run's
# groups, queues and locks apart from `make run` or another CI run on the
# same Redis.
os.environ.setdefault("REDIS_KEY_PREFIX", f"tw-test-{uuid.uuid4().hex[:10]}")
if not os.environ.get("DATABASE_URL"):
    # On SQLite, a test database in a file, so end-to-end tests' processes share it.
    var = Path(__file__).resolve().parent.parent / "var"
    var.mkdir(exist_ok=True)
    os.environ.setdefault("DATABASE_TEST_NAME", str(var / f"{os.environ['REDIS_KEY_PREFIX']}.sqlite3"))
# yfinance picks its HTTP backend at import time; requests lets tests serve
# Yahoo's answers from a local fake server.
os.environ.setdefault("YF_DISABLE_CURL_CFFI", "1")
