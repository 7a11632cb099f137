"""Login throttling and production settings."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.django_db


def attempt(client, username, password, url=None):
    return client.post(url or reverse("login"), {"username": username, "password": password})


def test_repeated_wrong_passwords_lock_the_login(client, user, make_user, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for _ in range(4):
        assert attempt(client, "alice", "wrong").status_code == 200
    assert attempt(client, "alice", "wrong").status_code == 429  # the fifth failure locks
    locked = attempt(client, "alice", "correct-horse-battery")
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    assert client.get(reverse("watchlists:list")).status_code == 302  # not logged in
    # Another account from the same address is not locked by alice's failures.
    make_user("bob")
    assert attempt(client, "bob", "correct-horse-battery").status_code == 302


def test_a_success_before_the_limit_resets_the_count(client, user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        attempt(client, "alice", "wrong")
    assert attempt(client, "alice", "correct-horse-battery").status_code == 302
    client.post(reverse("logout"))
    for _ in range(2):
        attempt(client, "alice", "wrong")
    assert attempt(client, "alice", "correct-horse-battery").status_code == 302


def test_the_admin_login_is_throttled_too(client, make_user, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_user("root", is_staff=True, is_superuser=True)
    url = reverse("admin:login")
    for _ in range(3):
        attempt(client, "root", "wrong", url)
    assert attempt(client, "root", "correct-horse-battery", url).status_code == 429


def manage(*args, **env):
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_settings_pass_the_deploy_check():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="tickerwatch.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ALLOWED_HOSTS": "tickerwatch.example.com"}, "SECRET_KEY"),
        ({"SECRET_KEY": "x" * 60}, "ALLOWED_HOSTS"),
    ],
)
def test_production_refuses_to_start_without_its_secrets(env, message):
    result = manage("check", DEBUG="0", **env)
    assert result.returncode != 0
    assert message in result.stderr
    assert "must be set" in result.stderr


def test_the_image_runs_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    users = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}
