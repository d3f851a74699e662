"""Monthly partitions of the audit log and the gate log (audit/partitions.py) keep every guarantee
of the unpartitioned tables: each partition, present or made later by the task, refuses UPDATE,
DELETE and TRUNCATE, even to the owner; the application role holds no privilege to rewrite one;
the chain verifies across months, COPY appends still land; and retention (audit/retention.py)
takes out only partitions past every tenant's retention, to an archive with its checkpoints,
audited, with a dry run that changes nothing."""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path

import psycopg
import pytest
import time_machine
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from agents.models import GateCall
from audit.actions import AuditAction
from audit.actors import Actor
from audit.checkpoints import verifier_keys
from audit.models import AuditArchive, AuditEvent
from audit.partitions import (
    _month_start,
    _next_month,
    is_partitioned,
    partition_name,
    partitions_ensure,
    partitions_of,
)
from audit.services import audit_events_append_many
from audit.tasks import audit_partitions_ensure
from audit.tlog import CompactRange, checkpoint_open
from tests.dbroles import owner_cursor

pytestmark = pytest.mark.postgres
TABLE = "audit_auditevent"


def command(name: str, *args) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command(name, *args, stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


def months_from_now(n: int) -> datetime:
    month = _month_start(datetime.now(UTC))
    step = _next_month if n >= 0 else _previous_month
    for _ in range(abs(n)):
        month = step(month)
    return month


def _previous_month(month: datetime) -> datetime:
    return (month - timedelta(days=1)).replace(day=1)


def partition_of(event_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {TABLE} WHERE id = %s", [event_id])
        return cursor.fetchone()[0]


def guards_on(partition: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            [partition],
        )
        return {row[0] for row in cursor.fetchall()}


def rewriters_of(partition: str) -> set[tuple[str, str]]:
    """(role, privilege) of every role but the owner that may UPDATE, DELETE or TRUNCATE it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_userbyid(a.grantee), a.privilege_type FROM pg_class c, "
            "aclexplode(c.relacl) a WHERE c.oid = %s::regclass AND a.grantee <> c.relowner "
            "AND a.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE')",
            [partition],
        )
        return set(cursor.fetchall())


def refused_to_owner(statement: str) -> str:
    """Run `statement` as the tables' owner; return the database's refusal."""
    with pytest.raises((DatabaseError, psycopg.Error)) as refused, owner_cursor() as cursor:
        cursor.execute(statement)
    return str(refused.value)


# --- The guards on every partition --------------------------------------------------------------
@pytest.mark.django_db
def test_the_audit_and_gate_logs_are_partitioned_by_month_with_months_ahead():
    for table in (TABLE, "agents_gatecall"):
        assert is_partitioned(table)
        names = [p.name for p in partitions_of(table)]
        for ahead in range(4):
            assert partition_name(table, months_from_now(ahead)) in names
        assert names[-1] == f"{table}_pdefault"


@pytest.mark.django_db(transaction=True)
def test_every_partition_refuses_update_delete_and_truncate_even_to_the_owner(acme, append_events):
    event = append_events(acme, 2)[0]
    partition = partition_of(event.pk)
    assert partition == partition_name(TABLE, months_from_now(0))
    with time_machine.travel(months_from_now(30), tick=False):  # no month made that far
        assert partition_of(append_events(acme, 1)[0].pk) == f"{TABLE}_pdefault"
    for target in (partition, f"{TABLE}_pdefault"):
        for statement in (
            f"UPDATE {target} SET action = 'forged'",
            f"DELETE FROM {target}",
            f"TRUNCATE {target}",
        ):
            assert "append-only" in refused_to_owner(statement), statement
        assert rewriters_of(target) == set()
    assert AuditEvent.objects.filter(tenant=acme, action="ticket.noted").count() == 3
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


@pytest.mark.django_db
def test_a_partition_the_task_makes_is_guarded_like_the_others(acme, append_events):
    far = months_from_now(8)
    name = partition_name(TABLE, far)
    assert name not in [p.name for p in partitions_of(TABLE)]
    assert "audit_auditevent: 0 partitions made" in audit_partitions_ensure()  # the daily task
    assert partitions_ensure(months_ahead=8)[TABLE] == 5  # its service, further ahead
    assert name in [p.name for p in partitions_of(TABLE)]
    assert guards_on(name) == {"audit_append_only_rows", "audit_append_only_truncate"}
    assert rewriters_of(name) == set()
    with time_machine.travel(far + timedelta(days=3), tick=False):
        event = append_events(acme, 1)[0]
    assert partition_of(event.pk) == name
    for statement in (
        f"UPDATE {name} SET action = 'forged'",
        f"DELETE FROM {name}",
        f"TRUNCATE {name}",
    ):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert AuditEvent.objects.get(pk=event.pk).action == event.action


@pytest.mark.django_db
def test_the_function_makes_partitions_of_the_partitioned_tables_only():
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT ht_partitions_ensure('tenants_tenant', 1)")


# --- The chain across months, COPY, the gate log ---------------------------------------------
@pytest.mark.django_db
def test_the_chain_verifies_across_a_month_boundary_and_against_its_checkpoints(
    acme, append_events
):
    boundary = months_from_now(1)
    with time_machine.travel(boundary - timedelta(seconds=2), tick=False):
        before = append_events(acme, 3)
    with time_machine.travel(boundary + timedelta(seconds=1), tick=False):
        after = append_events(acme, 3)
    assert {partition_of(e.pk) for e in before} == {partition_name(TABLE, months_from_now(0))}
    assert {partition_of(e.pk) for e in after} == {partition_name(TABLE, boundary)}
    assert command("audit_checkpoint", "--tenant", "acme")[0] == 0
    code, out = command("verify_audit")
    assert code == 0, out
    assert f"ok: {AuditEvent.objects.count()} events" in out and "ok: 1 checkpoints" in out


@pytest.mark.django_db
def test_copy_appends_land_in_the_months_partition(acme, append_events):
    append_events(acme, 1)
    with transaction.atomic():
        audit_events_append_many(
            tenant=acme,
            actor=Actor.service("tests"),
            events=[{"action": "ticket.noted", "resource": ("ticket", i)} for i in range(50)],
        )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {partition_name(TABLE, months_from_now(0))}")
        assert cursor.fetchone()[0] == AuditEvent.objects.count() >= 51
    code, out = command("verify_audit", "--no-checkpoints")
    assert code == 0 and f"ok: {AuditEvent.objects.count()} events" in out


@pytest.mark.django_db
def test_gate_calls_land_in_the_gate_logs_months_partition(acme):
    from agents.models import AgentRun

    run = AgentRun.objects.create(
        tenant=acme,
        run_id="r-part",
        main_task_id="t",
        agent="a",
        model="m",
        estimated_cost_usd=1,
        created_by="tests",
    )
    call = GateCall.objects.create(run=run, kind="step", allowed=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM agents_gatecall WHERE id = %s", [call.pk]
        )
        assert cursor.fetchone()[0] == partition_name("agents_gatecall", months_from_now(0))
    assert list(run.gate_calls.all()) == [call]


# --- Retention ----------------------------------------------------------------------------------
OLD_A, OLD_B = months_from_now(-100), months_from_now(-99)  # past 7 years
YOUNG = months_from_now(-30)  # 2.5 years ago


@pytest.fixture
def old_partitions():
    """Three past months of the audit log, made as the owner and guarded like the others."""
    names = [partition_name(TABLE, month) for month in (OLD_A, OLD_B, YOUNG)]
    with owner_cursor() as cursor:
        for month, name in zip((OLD_A, OLD_B, YOUNG), names, strict=True):
            cursor.execute(  # literal bounds: the owner's own connection binds on the server
                f"CREATE TABLE {name} PARTITION OF {TABLE} "
                f"FOR VALUES FROM ('{month.isoformat()}') TO ('{_next_month(month).isoformat()}')"
            )
        cursor.execute(f"SELECT ht_partitions_ensure('{TABLE}', 3)")
    yield names
    with owner_cursor() as cursor:
        for name in names:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")


def _history(make_tenant, append_events):
    """Two tenants made in OLD_A. acme: 3 more events in OLD_A, 2 in OLD_B, 2 in YOUNG, 1 now;
    globex: 2 more in OLD_A, 1 in YOUNG."""
    with time_machine.travel(OLD_A + timedelta(days=3), tick=False):
        acme, globex = make_tenant("acme"), make_tenant("globex")
    for month, counts in ((OLD_A, (3, 2)), (OLD_B, (2, 0)), (YOUNG, (2, 1))):
        with time_machine.travel(month + timedelta(days=10), tick=False):
            append_events(acme, counts[0])
            append_events(globex, counts[1])
    append_events(acme, 1)
    return acme, globex


@pytest.mark.django_db(transaction=True)
def test_retention_archives_only_what_every_tenant_has_kept_long_enough(
    make_tenant, append_events, old_partitions, settings
):
    # Long on purpose: one history, then the dry run, the archive, its files, its audit events
    # and the chain that still verifies, in order.
    name_a, name_b, name_young = old_partitions
    acme, globex = _history(make_tenant, append_events)
    assert command("audit_checkpoint")[0] == 0
    events_before = AuditEvent.objects.count()

    code, out = command("audit_retention", "--dry-run")
    assert code == 0
    assert f"would {name_a} ({OLD_A:%Y-%m}, 7 events, 2 tenants): detach" in out
    assert f"would {name_b} ({OLD_B:%Y-%m}, 2 events, 1 tenants): detach" in out
    assert f"would {name_young} ({YOUNG:%Y-%m}, 3 events, 2 tenants): keep: tenant" in out
    assert "dry run: 2 partitions would be archived" in out
    assert AuditEvent.objects.count() == events_before
    assert not AuditArchive.objects.exists()
    assert not Path(settings.AUDIT_ARCHIVE_DIR).exists()

    code, out = command("audit_retention")
    assert code == 0, out
    remaining = [p.name for p in partitions_of(TABLE)]
    assert name_a not in remaining and name_b not in remaining and name_young in remaining
    # Out of the database: 9 events; in: one audit_partition.archived per tenant and partition.
    assert AuditEvent.objects.count() == events_before - 9 + 3
    archived = AuditEvent.objects.filter(action=AuditAction.AUDIT_PARTITION_ARCHIVED)
    assert sorted(archived.values_list("tenant__slug", "resource_id")) == [
        ("acme", name_a),
        ("acme", name_b),
        ("globex", name_a),
    ]
    assert archived.get(tenant=acme, resource_id=name_b).data["last_seq"] == 6

    # The archive: rows file and manifest, each checkpoint opening with the verifier key and
    # matching the tree of the archived hashes.
    directory = Path(settings.AUDIT_ARCHIVE_DIR)
    manifest = json.loads((directory / f"{name_a}.manifest.json").read_text())
    data = (directory / manifest["rows_file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == manifest["sha256"]
    rows = list(csv.DictReader(io.StringIO(gzip.decompress(data).decode())))
    assert len(rows) == 7 and {r["tenant_id"] for r in rows} == {str(acme.pk), str(globex.pk)}
    acme_part = next(t for t in manifest["tenants"] if t["tenant"] == "acme")
    checkpoint, _key = checkpoint_open(acme_part["checkpoint"], verifier_keys())
    tree = CompactRange()
    for row in rows:
        if row["tenant_id"] == str(acme.pk):
            tree.append(row["hash"])
    assert checkpoint.size == 4 and checkpoint.root == tree.root()
    assert [base64.b64encode(n).decode() for n in tree.nodes] == acme_part["tree"]

    # The chain still verifies (from the archived floor), against every checkpoint, and grows.
    append_events(acme, 1)
    assert command("audit_checkpoint")[0] == 0
    code, out = command("verify_audit")
    assert code == 0, out
    assert AuditArchive.objects.get(tenant=acme, partition=name_b).upto_seq == 6


@pytest.mark.django_db(transaction=True)
def test_a_tenant_that_keeps_longer_holds_its_months_and_every_later_one(
    make_tenant, append_events, old_partitions
):
    name_a, name_b, _young = old_partitions
    acme, globex = _history(make_tenant, append_events)
    globex.audit_retention_years = 10
    globex.save(update_fields=["audit_retention_years"])
    code, out = command("audit_retention")
    assert code == 0
    assert f"{name_a} ({OLD_A:%Y-%m}, 7 events, 2 tenants): keep: tenant globex keeps" in out
    assert f"{name_b} ({OLD_B:%Y-%m}, 2 events, 1 tenants): keep: an older partition" in out
    assert "nothing to archive" in out
    assert {name_a, name_b} <= {p.name for p in partitions_of(TABLE)}
    assert not AuditArchive.objects.exists()
