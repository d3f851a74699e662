"""Monthly partitions of the tables that grow with activity, beside the audit and gate logs
(audit/partitions.py; migrations agents 0007 and optimization 0017): QC results by created_at,
performance rows by the day reported, applied changes by applied_at, change-set events by at.
The daily task makes their months ahead like the others'; rows land in their month; the
optimization log's append-only triggers hold on every partition, even for the owner and on a
month the task makes later; the performance upsert, the unique key and the foreign keys work as
before; change-set items stay one table (docs/scale.md "Partitions" says why)."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from pathlib import Path

import psycopg
import pytest
import time_machine
from django.core.management import call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from agents.models import AgentRun, QcResult
from audit.actions import AuditAction
from audit.models import AuditEvent
from audit.partitions import (
    PARTITIONED,
    _month_start,
    _next_month,
    is_partitioned,
    partition_name,
    partitions_ensure,
    partitions_of,
)
from audit.tasks import audit_partitions_ensure
from optimization.models import AppliedChange, ChangeSetEvent, ChangeSetItem, PerformanceRow
from optimization.services import performance_ingest
from tests.conftest import TEST_ACTOR
from tests.dbroles import owner_cursor
from tests.optimization.conftest import NOW
from tests.optimization.test_change_sets import budget, submit

pytestmark = pytest.mark.postgres
QC, PERFORMANCE = "agents_qcresult", "optimization_performancerow"
APPLIED, EVENTS = "optimization_appliedchange", "optimization_changesetevent"
GUARDS = {APPLIED: "applied_change_append_only_rows", EVENTS: "change_set_event_append_only_rows"}


def months_from_now(n: int) -> datetime:
    month = _month_start(datetime.now(UTC))
    for _ in range(n):
        month = _next_month(month)
    return month


def partition_of(table: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def guards_on(partition: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            [partition],
        )
        return {row[0] for row in cursor.fetchall()}


def refused_to_owner(statement: str) -> str:
    with pytest.raises((DatabaseError, psycopg.Error)) as refused, owner_cursor() as cursor:
        cursor.execute(statement)
    return str(refused.value)


def a_run(tenant, run_id: str = "r-part") -> AgentRun:
    return AgentRun.objects.create(
        tenant=tenant,
        run_id=run_id,
        main_task_id="t",
        agent="a",
        model="m",
        estimated_cost_usd=1,
        created_by="tests",
    )


def a_result(run: AgentRun, attempt: int = 1) -> QcResult:
    return QcResult.objects.create(
        tenant=run.tenant,
        run=run,
        main_task_id="t",
        subtask_id="s1",
        agent="a",
        model="m",
        passed=True,
        attempt=attempt,
    )


# --- Months ahead -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_activity_tables_are_partitioned_by_month_with_months_ahead():
    for table in (QC, PERFORMANCE, APPLIED, EVENTS):
        assert is_partitioned(table), table
        names = [p.name for p in partitions_of(table)]
        for ahead in range(4):
            assert partition_name(table, months_from_now(ahead)) in names
        assert names[-1] == f"{table}_pdefault"
    # Referenced by the applied changes' foreign key, and kept with their change set for ever.
    assert not is_partitioned("optimization_changesetitem")


@pytest.mark.django_db
def test_the_daily_task_makes_months_ahead_of_every_partitioned_table():
    far = months_from_now(6)
    out = audit_partitions_ensure()
    for table in PARTITIONED:
        assert f"{table}: 0 partitions made" in out
    assert partitions_ensure(months_ahead=6) == dict.fromkeys(PARTITIONED, 3)
    for table in PARTITIONED:
        assert partition_name(table, far) in [p.name for p in partitions_of(table)]
    # A date key's months are bounded by days; read back as UTC midnights like the others.
    made = next(p for p in partitions_of(PERFORMANCE) if p.start == far)
    assert (made.start, made.end) == (far, _next_month(far))
    assert guards_on(partition_name(APPLIED, far)) == {GUARDS[APPLIED]}
    assert guards_on(partition_name(EVENTS, far)) == {GUARDS[EVENTS]}


# --- Rows in their month ------------------------------------------------------------------------
@pytest.mark.django_db
def test_qc_results_land_in_their_months_partition_and_read_back_through_the_run(acme):
    run = a_run(acme)
    now = a_result(run)
    ahead = months_from_now(2)
    with time_machine.travel(ahead + timedelta(days=3), tick=False):
        later = a_result(run, attempt=2)
    with time_machine.travel(months_from_now(30), tick=False):  # no month made that far
        far = a_result(run, attempt=3)
    assert partition_of(QC, now.pk) == partition_name(QC, months_from_now(0))
    assert partition_of(QC, later.pk) == partition_name(QC, ahead)
    assert partition_of(QC, far.pk) == f"{QC}_pdefault"
    assert list(run.qc_results.order_by("attempt")) == [now, later, far]
    assert now.pk < later.pk < far.pk  # one sequence across the months


@pytest.mark.django_db
def test_performance_rows_land_by_the_day_reported_and_the_upsert_still_updates(acme, acme_v1):
    this, next_ = months_from_now(0).date(), months_from_now(1).date()

    def ingest(spend: str) -> int:
        rows = [
            {
                "date": str(day),
                "channel": "search",
                "source": "ga4",
                "spend": spend,
                "conversions": "1",
            }
            for day in (this, next_ + timedelta(days=4))
        ]
        return performance_ingest(tenant=acme, track_key="always_on", rows=rows, actor=TEST_ACTOR)

    assert ingest("10.00") == 2
    first = {row.date: row for row in PerformanceRow.objects.filter(tenant=acme)}
    assert partition_of(PERFORMANCE, first[this].pk) == partition_name(
        PERFORMANCE, months_from_now(0)
    )
    assert partition_of(PERFORMANCE, first[next_ + timedelta(days=4)].pk) == partition_name(
        PERFORMANCE, months_from_now(1)
    )
    assert ingest("12.50") == 2  # ON CONFLICT (track, date, channel, source) on the parent
    again = {row.date: row for row in PerformanceRow.objects.filter(tenant=acme)}
    assert {day: row.pk for day, row in again.items()} == {day: r.pk for day, r in first.items()}
    assert {row.spend for row in again.values()} == {Decimal("12.50")}
    with pytest.raises(IntegrityError), transaction.atomic():
        PerformanceRow.objects.create(
            tenant=acme, track=first[this].track, date=this, channel="search", source="ga4"
        )


# --- The optimization log -----------------------------------------------------------------------
@pytest.fixture
def november():
    """The month of the optimization tests' clock (tests/optimization/conftest.py), made as the
    owner like the task makes every month (the test database starts at this month)."""
    month, made = datetime(NOW.year, NOW.month, 1, tzinfo=UTC), []
    with owner_cursor() as cursor:
        for table in (APPLIED, EVENTS):
            name = partition_name(table, month)
            cursor.execute("SELECT to_regclass(%s) IS NULL", [name])
            if cursor.fetchone()[0]:
                cursor.execute(  # literal bounds: the owner's own connection binds on the server
                    f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES "
                    f"FROM ('{month.isoformat()}') TO ('{_next_month(month).isoformat()}')"
                )
                made.append(name)
    yield month
    with owner_cursor() as cursor:
        for name in made:
            cursor.execute(f"DROP TABLE {name}")


@pytest.mark.django_db(transaction=True)
def test_the_optimization_log_refuses_update_and_delete_on_every_partition_even_to_the_owner(
    november, live
):
    change_set = submit(live, budget("search-brand", "300.00", "350.00"))
    applied = AppliedChange.objects.get(change_set=change_set)
    event = change_set.events.order_by("id").last()
    assert partition_of(APPLIED, applied.pk) == partition_name(APPLIED, november)
    assert partition_of(EVENTS, event.pk) == partition_name(EVENTS, november)
    with time_machine.travel(months_from_now(30), tick=False):  # no month made that far
        late = ChangeSetEvent.objects.create(change_set=change_set, kind="applied", actor="t")
    assert partition_of(EVENTS, late.pk) == f"{EVENTS}_pdefault"
    kept = ChangeSetEvent.objects.filter(change_set=change_set).count()
    for table, column in ((APPLIED, "field"), (EVENTS, "actor")):
        for target in (partition_name(table, november), f"{table}_pdefault"):
            if target == f"{APPLIED}_pdefault":
                continue  # nothing applied that far ahead
            assert guards_on(target) == {GUARDS[table]}
            for statement in (f"UPDATE {target} SET {column} = 'forged'", f"DELETE FROM {target}"):
                assert "append-only" in refused_to_owner(statement), statement
    assert AppliedChange.objects.get(pk=applied.pk).field == "daily_budget"
    assert ChangeSetEvent.objects.filter(change_set=change_set).count() == kept


@pytest.mark.django_db
def test_an_applied_change_still_joins_its_item_and_refuses_an_item_that_does_not_exist(live):
    change_set = submit(live, budget("search-brand", "300.00", "350.00"))
    applied = AppliedChange.objects.select_related("item").get(change_set=change_set)
    assert applied.item == ChangeSetItem.objects.get(change_set=change_set)
    assert (applied.item.before, applied.item.after) == ("300.00", "350.00")
    columns = (
        "tenant_id, track_id, change_set_id, {item}, manifest_entry_id, channel, field, "
        "before, after, delta, aligns, applied_at"
    )
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            f"INSERT INTO {APPLIED} ({columns.format(item='item_id')}) "
            f"SELECT {columns.format(item='%s')} FROM {APPLIED} WHERE id = %s",
            [10**12, applied.pk],
        )
    assert AppliedChange.objects.filter(change_set=change_set).count() == 1
    assert isinstance(applied.applied_at, datetime) and applied.applied_at.date() == date(
        2026, 11, 10
    )


# --- Retention (audit/retention_logs.py, through `manage.py audit_retention`) -------------------
def months_ago(n: int) -> datetime:
    month = _month_start(datetime.now(UTC))
    for _ in range(n):
        month = (month - timedelta(days=1)).replace(day=1)
    return month


OLD, YOUNG = months_ago(100), months_ago(30)  # past 7 years; 2.5 years ago


def command(name: str, *args) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def old_months():
    """OLD and YOUNG months of the QC results and the performance rows, made as the owner."""
    names = []
    with owner_cursor() as cursor:
        for table in (QC, PERFORMANCE):
            for month in (OLD, YOUNG):
                low, high = month, _next_month(month)
                if table == PERFORMANCE:
                    low, high = low.date(), high.date()
                names.append(partition_name(table, month))
                cursor.execute(  # literal bounds: the owner's own connection binds on the server
                    f"CREATE TABLE {names[-1]} PARTITION OF {table} "
                    f"FOR VALUES FROM ('{low.isoformat()}') TO ('{high.isoformat()}')"
                )
    yield names
    with owner_cursor() as cursor:
        for name in names:
            cursor.execute(f"DROP TABLE IF EXISTS {name}")


@pytest.mark.django_db(transaction=True)
def test_retention_archives_the_months_every_tenant_has_kept_long_enough(
    old_months, acme, acme_v1, make_tenant, settings
):
    # Long on purpose: one history, the dry run that changes nothing, the archive, its files and
    # the audit events that carry their digest, in order.
    qc_old, qc_young, perf_old, perf_young = old_months
    globex = make_tenant("globex")
    globex.audit_retention_years = 10
    globex.save(update_fields=["audit_retention_years"])
    runs = {tenant: a_run(tenant, f"r-{tenant.slug}") for tenant in (acme, globex)}
    for month, counts in ((OLD, (2, 1)), (YOUNG, (1, 0))):
        with time_machine.travel(month + timedelta(days=10), tick=False):
            for tenant, count in zip((acme, globex), counts, strict=True):
                for attempt in range(count):
                    a_result(runs[tenant], attempt=attempt + 1)
    rows = [
        {"date": str(day), "channel": "search", "source": "ga4", "spend": "5", "conversions": "1"}
        for day in (
            (OLD + timedelta(days=2)).date(),
            (OLD + timedelta(days=3)).date(),
            YOUNG.date(),
        )
    ]
    performance_ingest(tenant=acme, track_key="always_on", rows=rows, actor=TEST_ACTOR)
    a_result(runs[acme])  # now
    before = (QcResult.objects.count(), PerformanceRow.objects.count(), AuditEvent.objects.count())

    out = command("audit_retention", "--dry-run")
    assert f"would {qc_old} ({OLD:%Y-%m}, 3 rows, 2 tenants): keep: tenant globex keeps" in out
    assert f"would {qc_young} ({YOUNG:%Y-%m}, 1 rows, 1 tenants): keep: an older" in out
    assert f"would {perf_old} ({OLD:%Y-%m}, 2 rows, 1 tenants): detach" in out
    assert f"would {perf_young} ({YOUNG:%Y-%m}, 1 rows, 1 tenants): keep: tenant acme keeps" in out
    assert "dry run: 1 log partitions would be archived" in out
    assert (QcResult.objects.count(), PerformanceRow.objects.count()) == before[:2]
    assert AuditEvent.objects.count() == before[2]
    assert not Path(settings.AUDIT_ARCHIVE_DIR).exists()

    out = command("audit_retention")
    assert f"archived {perf_old}" in out
    assert perf_old not in [p.name for p in partitions_of(PERFORMANCE)]
    assert {qc_old, qc_young} <= {p.name for p in partitions_of(QC)}
    assert perf_young in {p.name for p in partitions_of(PERFORMANCE)}
    assert QcResult.objects.count() == before[0]
    assert PerformanceRow.objects.count() == before[1] - 2
    directory = Path(settings.AUDIT_ARCHIVE_DIR)
    manifest = json.loads((directory / f"{perf_old}.manifest.json").read_text())
    data = (directory / manifest["rows_file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == manifest["sha256"]
    archived = list(csv.DictReader(io.StringIO(gzip.decompress(data).decode())))
    assert sorted(r["date"] for r in archived) == sorted(r["date"] for r in rows[:2])
    assert manifest["tenants"] == [{"tenant": "acme", "tenant_id": acme.pk, "rows": 2}]
    event = AuditEvent.objects.get(action=AuditAction.LOG_PARTITION_ARCHIVED)
    assert (event.tenant, event.resource_id) == (acme, perf_old)
    assert event.data["sha256"] == manifest["sha256"] and event.data["rows"] == 2
    assert "ok:" in command("verify_audit", "--no-checkpoints")
