"""config/settings.py: with DEBUG off the deployment settings are on. Settings are read once per
process, so each case runs Django in a fresh interpreter with its own environment."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "SECRET_KEY": "a-long-production-secret-key-that-is-not-the-development-default-0123456789",
    "ALLOWED_HOSTS": "ht.example.com",
    # Production signs the audit checkpoints (audit.W001 without a key); a key for tests only.
    "AUDIT_SIGNING_KEY_FILE": "/run/secrets/audit-signing.key",
}
READ_SETTINGS = """
import json, django
from django.conf import settings
django.setup()
names = ["DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT",
         "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_PROXY_SSL_HEADER",
         "ALLOWED_HOSTS", "X_FRAME_OPTIONS"]
values = {n: getattr(settings, n) for n in names}
values["db"] = settings.DATABASES["default"]["ENGINE"]
print(json.dumps(values))
"""


def run_django(code_or_args: list[str], **env_overrides: str) -> subprocess.CompletedProcess:
    # Not this process's test-only variables (the browser fixture sets DJANGO_ALLOW_ASYNC_UNSAFE).
    leave_out = {"PYTEST_VERSION", "DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in leave_out}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", **env_overrides)
    return subprocess.run(
        [sys.executable, *code_or_args], cwd=ROOT, env=env, capture_output=True, text=True
    )


def read_settings(**env) -> dict:
    result = run_django(["-c", READ_SETTINGS], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_with_debug_off_cookies_are_secure_and_https_is_enforced():
    values = read_settings(**PRODUCTION)
    assert values["DEBUG"] is False
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["ALLOWED_HOSTS"] == ["ht.example.com"]
    assert values["X_FRAME_OPTIONS"] == "DENY"


def test_the_deployment_checklist_passes_with_debug_off():
    result = run_django(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_the_deployment_checklist_asks_for_an_audit_signing_key():
    production = {k: v for k, v in PRODUCTION.items() if k != "AUDIT_SIGNING_KEY_FILE"}
    result = run_django(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **production)
    assert result.returncode != 0
    assert "audit.W001" in result.stdout + result.stderr


def test_without_a_secret_key_debug_off_refuses_to_start():
    result = run_django(["-c", READ_SETTINGS], ALLOWED_HOSTS="ht.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_debug_mode_is_plain_http_on_localhost():
    values = read_settings(DEBUG="1")
    assert values["DEBUG"] is True
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]


@pytest.mark.parametrize(
    ("database_url", "engine"),
    [
        pytest.param("", "django.db.backends.sqlite3", id="sqlite-without-url"),
        pytest.param(
            "postgres://u@db.example:5432/ht", "django.db.backends.postgresql", id="postgres-url"
        ),
    ],
)
def test_the_database_comes_from_database_url(database_url, engine):
    assert read_settings(DEBUG="1", DATABASE_URL=database_url)["db"] == engine
