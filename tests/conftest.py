"""Shared test set-up: personas, the protected-table flush, and the PostgreSQL / browser gates.

Tests that need PostgreSQL (`@pytest.mark.postgres`) or Chromium (`@pytest.mark.browser`) are
skipped with a visible reason when the machine lacks them — unless HT_STRICT_SETUP=1 (set by
.ci/run), which turns that skip into a failure so CI can't pass without really running them.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management.commands import flush as flush_command
from django.db import connections

from agents.services import agent_key_create
from audit.actors import Actor
from audit.dbguards import PROTECTED_TABLES
from audit.dbroles import grants_apply
from plans.services import plan_version_import_approved
from tenants.models import Role
from tenants.services import membership_set, tenant_create, user_ensure
from tests.dbroles import CREDENTIALS, owner_credentials, owner_cursor, owner_mode
from tests.plans.plan_samples import winter_plan

STRICT = os.environ.get("HT_STRICT_SETUP") == "1"
CHROMIUM = os.environ.get("HT_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/0")
PASSWORD = "correct-horse-battery"
TEST_ACTOR = Actor.system("tests")


def _redis_answers() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def pytest_collection_modifyitems(config, items):
    missing = {}
    if not settings.IS_POSTGRES:
        missing["postgres"] = "needs PostgreSQL (set DATABASE_URL or run one on 127.0.0.1:5432)"
    if any("redis" in item.keywords for item in items) and not _redis_answers():
        missing["redis"] = f"needs Redis at {REDIS_TEST_URL} (apt-get install redis-server)"
    if not Path(CHROMIUM).exists():
        missing["browser"] = f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
    if "replica" not in settings.DATABASES:
        missing["replica"] = (
            "needs a streaming replica in DATABASE_REPLICA_URL (.ci/replica starts one on "
            "127.0.0.1:5433)"
        )
    for item in items:
        for marker, reason in missing.items():
            if marker in item.keywords:
                if STRICT:
                    item.user_properties.append(("missing_setup", reason))
                else:
                    item.add_marker(pytest.mark.skip(reason=f"missing setup: {reason}"))


def pytest_runtest_setup(item):
    for name, reason in item.user_properties:
        if name == "missing_setup":
            pytest.fail(f"HT_STRICT_SETUP=1 and this test {reason}", pytrace=False)


@pytest.fixture(autouse=True)
def _replica_reads_only_where_tested(request):
    """With DATABASE_REPLICA_URL set (CI), only tests marked `replica` read from the replica: the
    others' rows are in a transaction the replica never sees, or were committed a moment ago."""
    if "replica" in request.keywords or "replica" not in settings.DATABASES:
        yield
        return
    from django.test import override_settings

    with override_settings(REPLICA_READS=False):
        yield


@pytest.fixture(autouse=True)
def _agent_keys_forgotten():
    """Each test starts with an empty per-process key cache (agents/services/keys.py): a key a
    test authenticated must not outlive its rolled-back rows."""
    from agents.services.keys import agent_key_cache_clear

    agent_key_cache_clear()
    yield
    agent_key_cache_clear()


# --- Flushing protected tables ------------------------------------------------------------------
# Transactional tests (threads, the live server) empty every table afterwards. The database
# refuses that on the append-only tables, as it should; only here, in test set-up, are their
# triggers lifted around the flush and put back at once.
_original_sql_flush = flush_command.sql_flush


def _sql_flush_with_guards_lifted(style, conn, *args, **kwargs):
    statements = _original_sql_flush(style, conn, *args, **kwargs)
    tables = [t for t in PROTECTED_TABLES if t in conn.introspection.table_names()]
    if owner_mode() and statements:
        # The application role may neither TRUNCATE nor lift triggers: the owner flushes, and
        # Django's flush, left with nothing to run, runs nothing as the application role.
        with owner_cursor() as cursor:
            for statement in _guards_lifted(conn, tables, statements):
                cursor.execute(statement)
        return []
    return _guards_lifted(conn, tables, statements)


def _guards_lifted(conn, tables: list[str], statements: list[str]) -> list[str]:
    if not tables or not statements:
        return statements
    if conn.vendor == "postgresql":
        # A partition's own TRUNCATE trigger is not lifted with its parent's (audit/partitions.py).
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent::regclass::text = ANY(%s)",
                [tables],
            )
            tables = tables + [row[0] for row in cursor.fetchall()]
        before = [f"ALTER TABLE {t} DISABLE TRIGGER USER;" for t in tables]
        after = [f"ALTER TABLE {t} ENABLE TRIGGER USER;" for t in tables]
    else:
        with conn.cursor() as cursor:
            placeholders = ",".join("%s" for _ in tables)
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                f"AND tbl_name IN ({placeholders})",
                tables,
            )
            triggers = cursor.fetchall()
        before = [f"DROP TRIGGER {name};" for name, _ in triggers]
        after = [sql for _, sql in triggers]
    return before + list(statements) + after


flush_command.sql_flush = _sql_flush_with_guards_lifted


# --- The suite as the application role (tests/dbroles.py) -------------------------------------
_APP_CREDENTIALS: dict = {}


def _use_credentials(values: dict) -> None:
    conn = connections["default"]
    conn.close()
    conn.settings_dict.update(values)
    settings.DATABASES["default"].update(values)


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Before the test database exists: with DATABASE_OWNER_URL, the owner creates and migrates
    it (the application role can do neither)."""
    if owner_mode():
        db = connections["default"].settings_dict
        _APP_CREDENTIALS.update({key: db[key] for key in CREDENTIALS})
        _use_credentials(owner_credentials())


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Then the owner grants the application role, and every test runs as it. At the end the
    owner drops the test database again."""
    if not owner_mode():
        yield
        return
    with django_db_blocker.unblock():
        conn = connections["default"]
        with conn.cursor() as cursor:
            grants_apply(
                cursor,
                database=conn.settings_dict["NAME"],
                owner=owner_credentials()["USER"],
                app=_APP_CREDENTIALS["USER"],
                say=lambda line: None,
            )
        _use_credentials(_APP_CREDENTIALS)
    yield
    with django_db_blocker.unblock():
        _use_credentials(owner_credentials())


# --- Personas -----------------------------------------------------------------------------------
@pytest.fixture
def make_tenant(db):
    def make(slug: str, **overrides):
        spec = {
            "name": slug.title(),
            "vertical": "retail",
            "country": "DE",
            "time_zone": "Europe/Berlin",
            **overrides,
        }
        return tenant_create(slug=slug, actor=TEST_ACTOR, **spec)

    return make


@pytest.fixture
def make_member(db):
    def make(username: str, tenant, role: str = Role.PLANNER, **user_kwargs):
        user = user_ensure(username=username, password=PASSWORD, **user_kwargs)
        membership_set(tenant=tenant, user=user, role=role, actor=TEST_ACTOR)
        return user

    return make


@pytest.fixture
def acme(make_tenant):
    return make_tenant("acme", name="Acme Retail")


@pytest.fixture
def globex(make_tenant):
    return make_tenant(
        "globex",
        name="Globex Health",
        vertical="health",
        country="US",
        time_zone="America/New_York",
        policy={"vertical_compliance_profile": "health_strict"},
    )


@pytest.fixture
def alice(acme, make_member):
    """Alice plans for acme."""
    return make_member("alice", acme, Role.PLANNER)


@pytest.fixture
def bob(globex, make_member):
    """Bob plans for globex (another tenant)."""
    return make_member("bob", globex, Role.PLANNER)


# --- Plans and agent keys -----------------------------------------------------------------------
@pytest.fixture
def acme_v1(acme):
    """acme's always-on winter plan (tests/plans/plan_samples.py), approved outside Human Touch
    and imported as v1: the current version revises start from."""
    return plan_version_import_approved(
        tenant=acme,
        track_key="always_on",
        kind="initial",
        payload=winter_plan(),
        actor=TEST_ACTOR,
        approved_by="acme's previous agency",
    )


def bearer(plain: str) -> dict:
    """The request keywords that send `plain` as the agent key: client.get(url, **bearer(key))."""
    return {"HTTP_AUTHORIZATION": f"Bearer {plain}"}


def agent_headers(tenant, name: str = "test-agent") -> dict:
    """A new agent key of `tenant`, as request keywords."""
    _key, plain = agent_key_create(tenant=tenant, name=name, actor=TEST_ACTOR)
    return bearer(plain)


@pytest.fixture
def acme_headers(acme):
    return agent_headers(acme)


# --- Browser ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
    # test itself are still plain synchronous calls.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import expect, sync_playwright

    # A loaded CI machine can take a few seconds to answer an htmx swap: assertions wait as long
    # as actions do (page.set_default_timeout below), not Playwright's 5 s.
    expect.set_options(timeout=10_000)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """screenshot("name") saves test-artifacts/name.png to look at."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(name: str, **kwargs):
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, **kwargs)
        return path

    return take


def login(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


@pytest.fixture
def browser_login():
    return login


def pytest_report_header(config):
    engine = "PostgreSQL" if settings.IS_POSTGRES else "SQLite"
    chromium = "found" if shutil.which(CHROMIUM) or Path(CHROMIUM).exists() else "missing"
    role = "application role (owner via DATABASE_OWNER_URL)" if owner_mode() else "one role"
    return [f"database: {engine}, {role}; chromium: {chromium}; strict setup: {STRICT}"]


# --- Signed checkpoints (audit/checkpoints.py) ----------------------------------------------------
@pytest.fixture(scope="session")
def audit_signer():
    from audit.tlog import SignerKey

    return SignerKey.generate("tests.human-touch.local/audit")


@pytest.fixture(autouse=True)
def _checkpoints_of_this_test(settings, tmp_path, audit_signer):
    """Every test signs with the session's key into a store of its own (never var/)."""
    settings.AUDIT_SIGNING_KEY = str(audit_signer)
    settings.AUDIT_SIGNING_KEY_FILE = ""
    settings.AUDIT_VERIFIER_KEYS = []
    settings.AUDIT_CHECKPOINT_DIR = str(tmp_path / "checkpoints")
    settings.AUDIT_ARCHIVE_DIR = str(tmp_path / "audit-archive")
    settings.AUDIT_CHECKPOINT_ORIGIN = "tests.human-touch.local/audit"
