"""The read replica router (config/replicas.py, issue 21.7).

The `replica` tests run against a real streaming replica (.ci/replica starts one on 5433 and
.ci/run sets DATABASE_REPLICA_URL); without one they are skipped with the reason shown, and under
HT_STRICT_SETUP=1 (CI) they fail instead. The lag is real: replay is paused on the replica, a row
is written on the primary, and only pinned reads see it until replay resumes.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.db import connections, transaction
from django.test import RequestFactory, override_settings
from django.urls import reverse

from audit.models import AuditEvent
from config import sql
from config.replicas import (
    PIN_COOKIE,
    REPLICA,
    PrimaryPinMiddleware,
    primary_pinned,
    read_alias,
    reads_from_replica,
)
from tenants.models import Role, Tenant
from tenants.services import membership_set, tenant_create, user_ensure
from tests.conftest import PASSWORD, TEST_ACTOR


def _tenant(slug: str) -> Tenant:
    return tenant_create(
        slug=slug,
        name=slug.title(),
        vertical="retail",
        country="DE",
        time_zone="Europe/Berlin",
        actor=TEST_ACTOR,
    )


def _in_recovery() -> bool:
    return sql.fetch("SELECT pg_is_in_recovery()", [])[0][0]


@contextmanager
def _replica_superuser():
    """The postgres superuser on the replica's test database: pausing replay needs it."""
    import psycopg

    replica = connections[REPLICA].settings_dict
    with psycopg.connect(
        host=replica["HOST"] or "127.0.0.1",
        port=replica["PORT"] or 5433,
        user="postgres",
        dbname=replica["NAME"],
        autocommit=True,
    ) as conn:
        yield conn


def _caught_up(replica_conn) -> None:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()::text")
        target = cursor.fetchone()[0]
    for _ in range(200):
        done = replica_conn.execute(
            "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]
        ).fetchone()[0]
        if done:
            return
        time.sleep(0.05)
    raise AssertionError("the replica did not catch up within 10 s")


@contextmanager
def _replay_paused(replica_conn):
    _caught_up(replica_conn)
    replica_conn.execute("SELECT pg_wal_replay_pause()")
    try:
        yield
    finally:
        replica_conn.execute("SELECT pg_wal_replay_resume()")


def _pin_of(method: str, cookies: dict | None = None) -> tuple[str, object]:
    """The alias a marked read inside a request takes, and the response."""
    seen = {}

    def view(request):
        from django.http import HttpResponse

        with reads_from_replica():
            seen["alias"] = read_alias()
        return HttpResponse("ok")

    request = getattr(RequestFactory(), method)("/somewhere/")
    request.COOKIES.update(cookies or {})
    response = PrimaryPinMiddleware(view)(request)
    return seen["alias"], response


# --- Without a replica ----------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_without_a_replica_marked_reads_go_to_the_primary_and_no_pin_cookie_is_set():
    primary_only = {"default": settings.DATABASES["default"]}
    with override_settings(DATABASES=primary_only):
        with reads_from_replica():
            assert read_alias() == "default"
        alias, response = _pin_of("post")
    assert alias == "default"
    assert PIN_COOKIE not in response.cookies


# --- Against a real streaming replica -------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.replica
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_marked_reads_go_to_the_replica_and_everything_else_to_the_primary():
    _tenant("acme")
    assert read_alias() == "default"
    assert _in_recovery() is False
    assert Tenant.objects.all().db == "default"
    with reads_from_replica():
        assert read_alias() == "replica"
        assert _in_recovery() is True
        assert Tenant.objects.all().db == "replica"
        with sql.read_session():
            assert _in_recovery() is True


@pytest.mark.postgres
@pytest.mark.replica
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_a_transaction_on_the_primary_never_reads_the_replica():
    """A service decides inside atomic(): its inputs come from the primary, marked or not."""
    with transaction.atomic(), reads_from_replica():
        assert read_alias() == "default"
        assert _in_recovery() is False
        assert Tenant.objects.all().db == "default"


@pytest.mark.postgres
@pytest.mark.replica
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_a_write_pins_the_person_to_the_primary_for_a_few_seconds():
    alias, response = _pin_of("get")
    assert alias == "replica"
    assert PIN_COOKIE not in response.cookies

    alias, response = _pin_of("post")
    assert alias == "default"  # the writing request itself
    cookie = response.cookies[PIN_COOKIE]
    assert cookie["max-age"] == settings.REPLICA_PIN_SECONDS
    assert cookie["httponly"]
    until = float(cookie.value)
    assert 0 < until - time.time() <= settings.REPLICA_PIN_SECONDS + 0.001  # rounded to 1 ms

    assert _pin_of("get", {PIN_COOKIE: cookie.value})[0] == "default"
    assert _pin_of("get", {PIN_COOKIE: f"{time.time() - 1:.3f}"})[0] == "replica"
    assert _pin_of("get", {PIN_COOKIE: "not a time"})[0] == "replica"


@pytest.mark.postgres
@pytest.mark.replica
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_under_replication_lag_only_pinned_reads_see_a_fresh_write():
    _tenant("acme")
    with _replica_superuser() as replica:
        with _replay_paused(replica):
            _tenant("globex")
            with reads_from_replica():
                assert list(Tenant.objects.values_list("slug", flat=True)) == ["acme"]
                with primary_pinned():
                    slugs = set(Tenant.objects.values_list("slug", flat=True))
                    assert slugs == {"acme", "globex"}
            assert Tenant.objects.filter(slug="globex").exists()  # unmarked: the primary
        _caught_up(replica)
    with reads_from_replica():
        assert Tenant.objects.filter(slug="globex").exists()


@pytest.mark.postgres
@pytest.mark.replica
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_the_audit_log_page_reads_the_replica_until_the_person_writes(client):
    acme = _tenant("acme")
    alice = user_ensure(username="alice", password=PASSWORD)
    membership_set(tenant=acme, user=alice, role=Role.ADMIN, actor=TEST_ACTOR)
    client.force_login(alice)
    url = reverse("audit:log", args=["acme"])
    with _replica_superuser() as replica, _replay_paused(replica):
        charlie = user_ensure(username="charlie-newcomer", password=PASSWORD)
        membership_set(tenant=acme, user=charlie, role=Role.PLANNER, actor=TEST_ACTOR)
        fresh = AuditEvent.objects.filter(tenant=acme).order_by("-seq").first()
        older = AuditEvent.objects.filter(tenant=acme, seq__lt=fresh.seq).order_by("-seq")[0]

        page = client.get(url)
        assert page.status_code == 200
        assert older.hash in page.content.decode()
        assert fresh.hash not in page.content.decode()  # the replica lags

        client.post(url)  # any write request pins alice to the primary
        assert PIN_COOKIE in client.cookies
        assert fresh.hash in client.get(url).content.decode()


@pytest.mark.postgres
@pytest.mark.replica
@pytest.mark.django_db(transaction=True, databases=["default", "replica"])
def test_switched_off_the_replica_is_not_read():
    with override_settings(REPLICA_READS=False), reads_from_replica():
        assert read_alias() == "default"
