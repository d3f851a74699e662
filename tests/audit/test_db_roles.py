"""The application cannot rewrite its own history (docs/rules.md "Audit log"): `db_roles` makes an
owner role, which runs migrations, and an application role that owns no table and is refused
every statement that could rewrite the audit log or switch its triggers off."""

from __future__ import annotations

import os
import uuid
from io import StringIO

import dj_database_url
import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent
from tests.dbroles import owner_mode

# Each statement the application role must be refused, whatever a trigger would say.
FORBIDDEN = [
    "UPDATE audit_auditevent SET action = 'forged'",
    "DELETE FROM audit_auditevent",
    "TRUNCATE audit_auditevent",
    "ALTER TABLE audit_auditevent DISABLE TRIGGER USER",
    "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
    "DROP TRIGGER audit_append_only_rows ON audit_auditevent",
    "SET session_replication_role = replica",
    "CREATE TABLE audit_shadow (id int)",
    "ALTER TABLE audit_auditevent OWNER TO CURRENT_USER",
]
REFUSAL = ("permission denied", "must be owner")


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("statement", FORBIDDEN)
def test_the_suite_runs_as_a_role_refused_every_rewrite_of_the_audit_log(
    statement, acme, append_events
):
    if not owner_mode():
        pytest.skip("the suite runs as one role here; CI sets DATABASE_OWNER_URL (.ci/run)")
    append_events(acme, 2)
    with pytest.raises(DatabaseError) as refused, transaction.atomic(), connection.cursor() as c:
        c.execute(statement)
    assert any(reason in str(refused.value) for reason in REFUSAL), refused.value
    assert AuditEvent.objects.filter(tenant=acme).count() >= 2


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_suites_role_owns_nothing_and_may_still_add_to_the_log(acme, append_events):
    if not owner_mode():
        pytest.skip("the suite runs as one role here; CI sets DATABASE_OWNER_URL (.ci/run)")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles "
            "WHERE rolname = current_user)"
        )
        assert cursor.fetchone()[0] == 0
        cursor.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user"
        )
        assert cursor.fetchone() == (False, False, False)
    assert len(append_events(acme, 3)) == 3


# --- `db_roles` itself, on a scratch database of its own ----------------------------------------
def _admin() -> dict:
    url = os.environ.get("DATABASE_ADMIN_URL") or os.environ.get("DATABASE_URL", "")
    config = dj_database_url.parse(url)
    return {
        "host": config["HOST"] or "127.0.0.1",
        "port": config["PORT"] or 5432,
        "user": config["USER"],
        "password": config["PASSWORD"] or None,
    }


def _url(user: str, password: str, database: str) -> str:
    admin = _admin()
    return f"postgres://{user}:{password}@{admin['host']}:{admin['port']}/{database}"


# What the migrations make, in miniature: the audit table with its guard triggers, and a table
# the application updates.
SCHEMA = """
CREATE TABLE audit_auditevent (id bigint PRIMARY KEY, action text);
CREATE FUNCTION audit_append_only_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'audit_auditevent is append-only'; END $$;
CREATE TRIGGER audit_append_only_rows BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_append_only_refuse();
CREATE TABLE tickets (id bigserial PRIMARY KEY, status text);
INSERT INTO audit_auditevent VALUES (1, 'ticket.opened');
INSERT INTO tickets (status) VALUES ('open');
"""


@pytest.fixture
def scratch():
    """A database and two role names of this test alone, dropped afterwards."""
    if not settings.IS_POSTGRES:
        pytest.skip("needs PostgreSQL")
    tag = uuid.uuid4().hex[:8]
    names = {"db": f"ht_roles_{tag}", "owner": f"ht_owner_{tag}", "app": f"ht_app_{tag}"}
    with psycopg.connect(dbname="postgres", autocommit=True, **_admin()) as admin:
        can = admin.execute(
            "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
        ).fetchone()[0]
        if not can:
            pytest.fail("db_roles needs an admin: set DATABASE_ADMIN_URL to a superuser's URL")
        admin.execute(f'CREATE DATABASE "{names["db"]}"')
        try:
            with psycopg.connect(dbname=names["db"], autocommit=True, **_admin()) as conn:
                conn.execute(SCHEMA)
            yield names
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{names["db"]}" WITH (FORCE)')
            for role in (names["app"], names["owner"]):
                admin.execute(f'DROP ROLE IF EXISTS "{role}"')


def db_roles(names: dict) -> str:
    out = StringIO()
    call_command(
        "db_roles",
        admin_url=_url(_admin()["user"], _admin()["password"] or "", names["db"]),
        owner_url=_url(names["owner"], "owner-pass", names["db"]),
        app_url=_url(names["app"], "app-pass", names["db"]),
        stdout=out,
    )
    return out.getvalue()


def as_role(names: dict, role: str):
    admin = _admin()
    return psycopg.connect(
        host=admin["host"],
        port=admin["port"],
        user=names[role],
        password=f"{role}-pass",
        dbname=names["db"],
        autocommit=True,
    )


@pytest.mark.postgres
def test_db_roles_refuses_the_application_role_each_rewrite(scratch):
    output = db_roles(scratch)
    assert f"create role {scratch['owner']}" in output
    assert f"{scratch['app']}: only SELECT, INSERT on audit_auditevent" in output
    with as_role(scratch, "app") as app:
        for statement in FORBIDDEN:
            with pytest.raises(psycopg.Error) as refused:
                app.execute(statement)
            assert any(reason in str(refused.value) for reason in REFUSAL), statement
        # What the application does every day still works.
        app.execute("INSERT INTO audit_auditevent VALUES (2, 'ticket.decided')")
        app.execute("UPDATE tickets SET status = 'approved'")
        assert app.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0] == 2
    with as_role(scratch, "owner") as owner:
        owned = owner.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) <> current_user "
            "AND c.relkind IN ('r', 'S')"
        ).fetchone()[0]
        assert owned == 0
        # The owner can lift the triggers — that is what the signed checkpoints are for.
        owner.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")


@pytest.mark.postgres
def test_db_roles_is_idempotent_and_a_later_table_is_granted_by_default(scratch):
    first = db_roles(scratch).splitlines()
    second = db_roles(scratch).splitlines()
    assert "functions: owned by" in first[3]  # the tables a superuser made move to the owner
    assert second == [line.replace("create role", "alter role") for line in first[:3] + first[4:]]
    with as_role(scratch, "owner") as owner:  # a later migration, as the owner
        owner.execute("CREATE TABLE later (id bigserial PRIMARY KEY, note text)")
    with as_role(scratch, "app") as app:
        app.execute("INSERT INTO later (note) VALUES ('new')")
        assert app.execute("SELECT count(*) FROM later").fetchone()[0] == 1
        with pytest.raises(psycopg.Error, match="permission denied"):
            app.execute("TRUNCATE later")


@pytest.mark.postgres
def test_db_roles_refuses_one_role_for_both(scratch):
    from django.core.management.base import CommandError

    url = _url(scratch["owner"], "x", scratch["db"])
    with pytest.raises(CommandError, match="two different roles"):
        call_command("db_roles", owner_url=url, app_url=url, stdout=StringIO())
