"""The ops metrics (seed 003 "Metrics (ops)" and issue #11), each one aggregate query.

Every function reads one domain's tables for the tenants in `scope` and both ranges at once (the
range shown and the one before it, told apart by a `period` column), and hands back the grouped
rows the database computed: no Python loop ever walks tickets, QC results or change-set items.
The apps own their tables and write them; metrics only reads them, and nothing imports metrics.

Definitions, where the seed leaves room:
- time to approve: opened → approved, of tickets approved in the range (A6 overrides are
  approved as they are opened and are left out);
- auto-approved: agent change sets that went through the guardrails (not blocked as
  structural) and applied with no ticket;
- QC first pass: QC results of a subtask's first attempt that passed;
- failure codes and loop depth: the correction loops (`agent_qc_loops`) of runs started in range;
- A8 rate by QC pattern: runs started in the range, grouped by a failure code met in any of
  their loops, and the share of them that raised an A8;
- grains under the floor: a task (main_task_id) or subtask grain whose QC pass rate over the
  range is under its tenant's success_floor with at least min_sample_global results;
- rollback after approval: an applied agent change set rolled back (an applied rollback that
  `reverts` it) within N days, and an approved version whose successor, approved within N days,
  brings back the payload it replaced;
- SLA breach: a ticket opened in the range with a due time, resolved after it or still open
  past it; by role, the approval slots not filled by the due time of a breached ticket;
- spend at risk: the daily budget (sum of |after − before| of daily_budget items) that change
  sets waiting for a person hold, and for how long;
- A3 what-if: A3s whose every channel stayed within the drift bound and whose largest move was
  at most a looser threshold would have applied by themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import (
    Avg,
    Case,
    CharField,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Trunc
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agents.models import AgentRun, QcAlert, QcLoop, QcResult
from approvals.models import Ticket, TicketDecision, TicketStatus, Verdict
from approvals.types import TicketType
from metrics import sql
from metrics.periods import Ranges
from optimization.models import ChangeSet, ChangeSetItem, ChangeSetKind, ChangeSetStatus
from plans.models import PlanVersion, Track
from tenants.models import Tenant, TenantPolicy

CURRENT = "current"
PREVIOUS = "previous"
QC_DIMENSIONS = {"main_task_id": "Main task", "agent": "Agent", "model": "Model"}
DEPTH_CAP = 4  # loops of 4 attempts or more are counted together


@dataclass(frozen=True)
class Scope:
    tenant_ids: tuple[int, ...]
    ranges: Ranges
    now: datetime

    @property
    def since(self) -> datetime:
        return self.ranges.previous.start

    @property
    def split(self) -> datetime:
        return self.ranges.current.start

    @property
    def until(self) -> datetime:
        return self.ranges.current.end


def _period(field: str, scope: Scope) -> Case:
    return Case(
        When(**{f"{field}__gte": scope.split}, then=Value(CURRENT)),
        default=Value(PREVIOUS),
        output_field=CharField(),
    )


def _in_ranges(qs: QuerySet, field: str, scope: Scope) -> QuerySet:
    return qs.filter(**{f"{field}__gte": scope.since, f"{field}__lt": scope.until}).annotate(
        period=_period(field, scope)
    )


def _moment(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _period_sql(column: str) -> str:
    return f"CASE WHEN {column} >= %s THEN '{CURRENT}' ELSE '{PREVIOUS}' END"


# --- 1. Time to approve ---------------------------------------------------------------------------
def time_to_approve(scope: Scope) -> list[dict]:
    """Per ticket type and period: approvals, mean, median and p90 seconds opened → approved."""
    tickets = _in_ranges(
        Ticket.objects.filter(tenant_id__in=scope.tenant_ids, status=TicketStatus.APPROVED),
        "resolved_at",
        scope,
    ).exclude(type=TicketType.A6)
    return list(
        tickets.annotate(seconds=sql.Seconds("resolved_at", "created_at"))
        .values("type", "period")
        .annotate(
            n=Count("id"),
            mean=Avg("seconds"),
            median=sql.Percentile("seconds", 0.5),
            p90=sql.Percentile("seconds", 0.9),
        )
        .order_by("type", "period")
    )


# --- 2. Changes auto-approved ---------------------------------------------------------------------
def auto_approved(scope: Scope) -> list[dict]:
    """Per track and period: agent change sets through the guardrails, and those applied alone."""
    change_sets = _in_ranges(
        ChangeSet.objects.filter(tenant_id__in=scope.tenant_ids, kind=ChangeSetKind.AGENT),
        "created_at",
        scope,
    ).exclude(status=ChangeSetStatus.BLOCKED)
    return list(
        change_sets.values("tenant__slug", "track__key", "period")
        .annotate(
            total=Count("id"),
            auto=Count("id", filter=Q(ticket="", status=ChangeSetStatus.APPLIED)),
        )
        .order_by("tenant__slug", "track__key", "period")
    )


# --- 3. QC first pass -----------------------------------------------------------------------------
def qc_first_pass(scope: Scope, *, by: str) -> list[dict]:
    """Per main task, agent or model and period: first attempts and those that passed."""
    if by not in QC_DIMENSIONS:
        raise ValueError(f"first pass by one of {', '.join(QC_DIMENSIONS)}")
    results = _in_ranges(
        QcResult.objects.filter(tenant_id__in=scope.tenant_ids, attempt=1), "created_at", scope
    )
    return list(
        results.annotate(key=F(by))
        .values("key", "period")
        .annotate(n=Count("id"), passed=Count("id", filter=Q(passed=True)))
        .order_by("key", "period")
    )


# --- 4. Failure codes and correction-loop depth ---------------------------------------------------
def _run_filter(alias: str, scope: Scope) -> tuple[str, list]:
    tenants, params = sql.in_ids(f"{alias}.tenant_id", scope.tenant_ids)
    return (
        f"{tenants} AND {alias}.created_at >= %s AND {alias}.created_at < %s",
        [*params, _moment(scope.since), _moment(scope.until)],
    )


def failure_codes(scope: Scope) -> list[dict]:
    """Per failure code and period: the loops that met it, how deep they went on average and how
    many ended passing (loops of runs started in the range)."""
    where, params = _run_filter("r", scope)
    query = f"""
        SELECT e.value AS code, {_period_sql("r.created_at")} AS period, COUNT(*) AS loops,
               AVG(l.attempts) AS depth, SUM(CASE WHEN l.passed THEN 1 ELSE 0 END) AS passed
        FROM {QcLoop._meta.db_table} l
        JOIN {AgentRun._meta.db_table} r ON r.id = l.run_id,
             {sql.json_text_elements("l.failure_codes", "e")}
        WHERE {where}
        GROUP BY e.value, {_period_sql("r.created_at")}
        ORDER BY loops DESC, code
    """
    rows = sql.fetch(query, [_moment(scope.split), *params, _moment(scope.split)])
    return [
        {"code": code, "period": period, "loops": loops, "depth": depth, "passed": passed}
        for code, period, loops, depth, passed in rows
    ]


def loop_depth(scope: Scope) -> list[dict]:
    """Per depth (attempts, 4 and more together) and period: loops and those that ended passing."""
    loops = _in_ranges(
        QcLoop.objects.filter(run__tenant_id__in=scope.tenant_ids), "run__created_at", scope
    )
    return list(
        loops.annotate(
            depth=Case(
                When(attempts__gte=DEPTH_CAP, then=Value(DEPTH_CAP)),
                default=F("attempts"),
                output_field=IntegerField(),
            )
        )
        .values("depth", "period")
        .annotate(n=Count("id"), passed=Count("id", filter=Q(passed=True)))
        .order_by("depth", "period")
    )


# --- 5. A8 rate next to the QC fail patterns of the same runs -------------------------------------
ALL_RUNS = "*"
NO_FAILURE = ""


def a8_by_qc_pattern(scope: Scope) -> list[dict]:
    """Per QC failure code met on a run (NO_FAILURE: runs that met none; ALL_RUNS: every run)
    and period: runs started in the range and those that raised an A8."""
    where, params = _run_filter("r", scope)
    runs = AgentRun._meta.db_table
    loops = QcLoop._meta.db_table
    # A run keeps the id of the last A8 it raised in loop_ticket (clearing it resumes the run
    # but leaves the id), so "raised an A8" needs no look into the tickets.
    a8 = "CASE WHEN r.loop_ticket <> '' THEN 1 ELSE 0 END"
    period = _period_sql("r.created_at")
    query = f"""
        SELECT e.value, {period}, COUNT(DISTINCT r.id),
               COUNT(DISTINCT CASE WHEN r.loop_ticket <> '' THEN r.id END)
        FROM {runs} r JOIN {loops} l ON l.run_id = r.id,
             {sql.json_text_elements("l.failure_codes", "e")}
        WHERE {where}
        GROUP BY e.value, {period}
        UNION ALL
        SELECT %s, {period}, COUNT(*), SUM({a8}) FROM {runs} r
        WHERE {where} AND NOT EXISTS (
            SELECT 1 FROM {loops} l
            WHERE l.run_id = r.id AND {sql.json_length("l.failure_codes")} > 0
        )
        GROUP BY {period}
        UNION ALL
        SELECT %s, {period}, COUNT(*), SUM({a8}) FROM {runs} r WHERE {where} GROUP BY {period}
    """
    split = _moment(scope.split)
    rows = sql.fetch(
        query,
        [
            *[split, *params, split],
            *[NO_FAILURE, split, *params, split],
            *[ALL_RUNS, split, *params, split],
        ],
    )
    return [
        {"code": code, "period": period, "runs": n, "a8": a8 or 0} for code, period, n, a8 in rows
    ]


# --- 6. Grains under the success floor, alerts and recovery ---------------------------------------
def grains_under_floor(scope: Scope) -> list[dict]:
    """Per grain kind (task / subtask) and period: grains with QC results, those with enough
    results to judge (min_sample_global) and those whose pass rate is under success_floor."""
    tenants, params = sql.in_ids("q.tenant_id", scope.tenant_ids)
    results = QcResult._meta.db_table
    policies = TenantPolicy._meta.db_table
    # One pass over the results: the subtask grains, then each task as the sum of its subtasks.
    query = f"""
        WITH subtasks AS (
            SELECT q.tenant_id, q.main_task_id, {_period_sql("q.created_at")} AS period,
                   COUNT(*) AS sample, SUM(CASE WHEN q.passed THEN 1 ELSE 0 END) AS passed
            FROM {results} q
            WHERE {tenants} AND q.created_at >= %s AND q.created_at < %s
            GROUP BY q.tenant_id, q.main_task_id, q.subtask_id, {_period_sql("q.created_at")}
        ), grains AS (
            SELECT tenant_id, 'subtask' AS grain, period, sample, passed FROM subtasks
            UNION ALL
            SELECT tenant_id, 'task', period, SUM(sample), SUM(passed)
            FROM subtasks GROUP BY tenant_id, main_task_id, period
        )
        SELECT g.grain, g.period, COUNT(*),
               SUM(CASE WHEN g.sample >= p.min_sample_global THEN 1 ELSE 0 END),
               SUM(CASE WHEN g.sample >= p.min_sample_global
                         AND g.passed < p.success_floor * g.sample THEN 1 ELSE 0 END)
        FROM grains g JOIN {policies} p ON p.tenant_id = g.tenant_id
        GROUP BY g.grain, g.period
    """
    rows = sql.fetch(
        query,
        [
            _moment(scope.split),
            *params,
            _moment(scope.since),
            _moment(scope.until),
            _moment(scope.split),
        ],
    )
    return [
        {"grain": grain, "period": period, "grains": n, "measured": measured, "under": under}
        for grain, period, n, measured, under in rows
    ]


def _grain_kind() -> Case:
    return Case(
        When(subtask_id="", then=Value("task")), default=Value("subtask"), output_field=CharField()
    )


def qc_alerts_opened(scope: Scope) -> list[dict]:
    alerts = _in_ranges(QcAlert.objects.filter(tenant_id__in=scope.tenant_ids), "opened_at", scope)
    return list(
        alerts.annotate(grain=_grain_kind())
        .values("grain", "period")
        .annotate(n=Count("id"), open=Count("id", filter=Q(recovered_at__isnull=True)))
        .order_by("grain", "period")
    )


def qc_recoveries(scope: Scope) -> list[dict]:
    """Alerts that recovered in the range: how many, and the mean and median seconds to it."""
    alerts = _in_ranges(
        QcAlert.objects.filter(tenant_id__in=scope.tenant_ids), "recovered_at", scope
    )
    return list(
        alerts.annotate(grain=_grain_kind(), seconds=sql.Seconds("recovered_at", "opened_at"))
        .values("grain", "period")
        .annotate(n=Count("id"), mean=Avg("seconds"), median=sql.Percentile("seconds", 0.5))
        .order_by("grain", "period")
    )


# --- 7. Rollback after approval -------------------------------------------------------------------
def change_set_rollbacks(scope: Scope, *, days: int) -> list[dict]:
    """Per approval (a person, or the guardrails alone) and period: agent change sets applied
    in the range, and those an applied rollback reverted within `days` days."""
    rolled_back = ChangeSet.objects.filter(
        reverts=OuterRef("pk"),
        status=ChangeSetStatus.APPLIED,
        applied_at__lte=OuterRef("applied_at") + timedelta(days=days),
    )
    applied = _in_ranges(
        ChangeSet.objects.filter(
            tenant_id__in=scope.tenant_ids,
            kind=ChangeSetKind.AGENT,
            status=ChangeSetStatus.APPLIED,
        ),
        "applied_at",
        scope,
    )
    return list(
        applied.annotate(
            by_person=Case(
                When(ticket="", then=Value(0)), default=Value(1), output_field=IntegerField()
            ),
            rolled_back=Exists(rolled_back),
        )
        .values("by_person", "period")
        .annotate(n=Count("id"), rolled_back=Count("id", filter=Q(rolled_back=True)))
        .order_by("by_person", "period")
    )


def version_reverts(scope: Scope, *, days: int) -> list[dict]:
    """Per period: versions approved in the range that replaced an earlier one, and those whose
    successor, approved within `days` days, brought back the payload they replaced."""
    reverted = PlanVersion.objects.filter(
        parent=OuterRef("pk"),
        approved_at__isnull=False,
        approved_at__lte=OuterRef("approved_at") + timedelta(days=days),
        payload_hash=OuterRef("parent__payload_hash"),
    )
    versions = _in_ranges(
        PlanVersion.objects.filter(tenant_id__in=scope.tenant_ids, parent__isnull=False),
        "approved_at",
        scope,
    )
    return list(
        versions.annotate(reverted=Exists(reverted))
        .values("period")
        .annotate(n=Count("id"), reverted=Count("id", filter=Q(reverted=True)))
        .order_by("period")
    )


# --- 8. Manual overrides over time ----------------------------------------------------------------
def overrides_over_time(scope: Scope, *, bucket: str) -> list[dict]:
    """Per bucket (day, week or month on the range's wall clock) and period: A6 overrides."""
    overrides = _in_ranges(
        Ticket.objects.filter(tenant_id__in=scope.tenant_ids, type=TicketType.A6),
        "created_at",
        scope,
    )
    return list(
        overrides.annotate(bucket=Trunc("created_at", bucket, tzinfo=scope.ranges.zone))
        .values("bucket", "period")
        .annotate(n=Count("id"))
        .order_by("bucket")
    )


# --- 9. SLA breaches, by type and by the role that had not approved -------------------------------
def _breached(now: datetime) -> Q:
    return Q(resolved_at__gt=F("sla_due_at")) | Q(resolved_at__isnull=True, sla_due_at__lt=now)


def sla_breaches_by_type(scope: Scope) -> list[dict]:
    tickets = _in_ranges(
        Ticket.objects.filter(tenant_id__in=scope.tenant_ids, sla_due_at__isnull=False),
        "created_at",
        scope,
    ).exclude(status=TicketStatus.CANCELLED)
    return list(
        tickets.values("type", "period")
        .annotate(n=Count("id"), breached=Count("id", filter=_breached(scope.now)))
        .order_by("type", "period")
    )


def sla_breaches_by_role(scope: Scope) -> list[dict]:
    """Per approval slot ("planner", "operator/admin") and period: tickets that needed it
    (approved or still open), and breached ones where it was not filled by the due time."""
    tenants, params = sql.in_ids("t.tenant_id", scope.tenant_ids)
    now = _moment(scope.now)
    decisions = TicketDecision._meta.db_table
    # Only a breached ticket looks for its slot's approval (by its ticket_id index).
    query = f"""
        SELECT e.value AS slot, {_period_sql("t.created_at")} AS period, COUNT(*),
               SUM(CASE WHEN COALESCE(t.resolved_at, %s) <= t.sla_due_at THEN 0
                        WHEN EXISTS (
                            SELECT 1 FROM {decisions} d
                            WHERE d.ticket_id = t.id AND d.slot = e.value AND d.verdict = %s
                              AND d.created_at <= t.sla_due_at
                        ) THEN 0 ELSE 1 END)
        FROM {Ticket._meta.db_table} t
        CROSS JOIN {sql.json_text_elements("t.required_roles", "e")}
        WHERE {tenants} AND t.sla_due_at IS NOT NULL AND t.status IN (%s, %s)
          AND t.created_at >= %s AND t.created_at < %s
        GROUP BY e.value, {_period_sql("t.created_at")}
        ORDER BY slot
    """
    rows = sql.fetch(
        query,
        [
            _moment(scope.split),
            now,
            Verdict.APPROVE.value,
            *params,
            TicketStatus.OPEN.value,
            TicketStatus.APPROVED.value,
            _moment(scope.since),
            _moment(scope.until),
            _moment(scope.split),
        ],
    )
    return [
        {"slot": slot, "period": period, "n": n, "breached": breached or 0}
        for slot, period, n, breached in rows
    ]


# --- 10. Spend at risk ----------------------------------------------------------------------------
def spend_at_risk(scope: Scope) -> list[dict]:
    """Per track: change sets waiting for a person now, the daily budget they hold and since
    when the oldest waits; and per range, change sets sent for approval, the mean hours they
    waited (until decided, or now) and the budget-days they held (daily budget × days waited)."""
    tenants, params = sql.in_ids("cs.tenant_id", scope.tenant_ids)
    change_sets = ChangeSet._meta.db_table
    items = ChangeSetItem._meta.db_table
    pending = ChangeSetStatus.PENDING_APPROVAL.value
    moved = f"ABS({sql.json_number('i.after')} - {sql.json_number('i.before')})"
    waited = sql.seconds_between("COALESCE(h.decided_at, %s)", "h.created_at")
    current = "h.created_at >= %s AND h.created_at < %s"
    previous = "h.created_at >= %s AND h.created_at < %s"
    query = f"""
        WITH held AS (
            SELECT cs.id, cs.tenant_id, cs.track_id, cs.status, cs.created_at, cs.decided_at,
                   (SELECT COALESCE(SUM({moved}), 0) FROM {items} i
                    WHERE i.change_set_id = cs.id AND i.field = 'daily_budget') AS daily
            FROM {change_sets} cs
            WHERE {tenants} AND cs.ticket <> '' AND cs.status <> %s
              AND (cs.status = %s OR (cs.created_at >= %s AND cs.created_at < %s))
        )
        SELECT tn.slug, tr.key, {sql.json_text("v.payload", "currency")},
               SUM(CASE WHEN h.status = %s THEN 1 ELSE 0 END),
               SUM(CASE WHEN h.status = %s THEN h.daily ELSE 0 END),
               MIN(CASE WHEN h.status = %s THEN h.created_at END),
               SUM(CASE WHEN {current} THEN 1 ELSE 0 END),
               AVG(CASE WHEN {current} THEN {waited} END),
               SUM(CASE WHEN {current} THEN h.daily * {waited} ELSE 0 END) / 86400.0,
               SUM(CASE WHEN {previous} THEN 1 ELSE 0 END),
               AVG(CASE WHEN {previous} THEN {waited} END),
               SUM(CASE WHEN {previous} THEN h.daily * {waited} ELSE 0 END) / 86400.0
        FROM held h
        JOIN {Tenant._meta.db_table} tn ON tn.id = h.tenant_id
        JOIN {Track._meta.db_table} tr ON tr.id = h.track_id
        LEFT JOIN {PlanVersion._meta.db_table} v ON v.id = tr.current_version_id
        GROUP BY tn.slug, tr.key, {sql.json_text("v.payload", "currency")}
        ORDER BY tn.slug, tr.key
    """
    now = _moment(scope.now)
    split, since, until = _moment(scope.split), _moment(scope.since), _moment(scope.until)
    rows = sql.fetch(
        query,
        [
            *params,
            ChangeSetStatus.BLOCKED.value,
            pending,
            since,
            until,
            pending,
            pending,
            pending,
            split,
            until,
            split,
            until,
            now,
            split,
            until,
            now,
            since,
            split,
            since,
            split,
            now,
            since,
            split,
            now,
        ],
    )
    keys = (
        "tenant",
        "track",
        "currency",
        "waiting",
        "held",
        "oldest",
        "sent",
        "mean_wait",
        "budget_days",
        "sent_previous",
        "mean_wait_previous",
        "budget_days_previous",
    )
    found = [dict(zip(keys, row, strict=True)) for row in rows]
    for row in found:
        row["oldest"] = _as_moment(row["oldest"])
    return found


def _as_moment(value) -> datetime | None:
    """A moment a raw query handed back: SQLite gives text, in UTC."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


# --- 11. A3s a looser auto-approve threshold would have let through -------------------------------
def a3_what_if(scope: Scope, *, thresholds: list) -> list[dict]:
    """Per period: A3s opened in the range, and for each threshold the A3s that would have
    applied by themselves under it (every channel within the drift bound, no first launch, the
    largest move at most the threshold), with how many of those people then rejected."""
    tenants, params = sql.in_ids("cs.tenant_id", scope.tenant_ids)
    move = sql.json_number("ch.value", "move_pct")
    columns, column_params = [], []
    for threshold in thresholds:
        would = "a.drift_ok = 1 AND a.measurable = 1 AND a.launches = 0 AND a.needed <= %s"
        columns.append(f"SUM(CASE WHEN {would} THEN 1 ELSE 0 END)")
        columns.append(f"SUM(CASE WHEN {would} AND a.status = %s THEN 1 ELSE 0 END)")
        # A float: SQLite compares a number with text as text; PostgreSQL casts it either way.
        column_params += [float(threshold), float(threshold), ChangeSetStatus.REJECTED.value]
    query = f"""
        WITH a AS (
            SELECT cs.id, cs.status, {_period_sql("cs.created_at")} AS period,
                   MAX({move}) AS needed,
                   MIN({sql.json_flag("ch.value", "drift_ok")}) AS drift_ok,
                   MIN(CASE WHEN {move} IS NULL THEN 0 ELSE 1 END) AS measurable,
                   MAX({sql.json_length("cs.guardrails", "first_launches")}) AS launches
            FROM {ChangeSet._meta.db_table} cs
            JOIN {Ticket._meta.db_table} t ON t.public_id = cs.ticket AND t.type = %s,
                 {sql.json_object_elements("cs.guardrails", "channels", "ch")}
            WHERE {tenants} AND cs.created_at >= %s AND cs.created_at < %s
            GROUP BY cs.id, cs.status, {_period_sql("cs.created_at")}
        )
        SELECT a.period, COUNT(*), {", ".join(columns)}
        FROM a GROUP BY a.period
    """
    rows = sql.fetch(
        query,
        [
            _moment(scope.split),
            TicketType.A3.value,
            *params,
            _moment(scope.since),
            _moment(scope.until),
            _moment(scope.split),
            *column_params,
        ],
    )
    result = []
    for row in rows:
        period, total, counts = row[0], row[1], row[2:]
        result.append(
            {
                "period": period,
                "a3s": total,
                "through": [counts[i] or 0 for i in range(0, len(counts), 2)],
                "rejected": [counts[i] or 0 for i in range(1, len(counts), 2)],
            }
        )
    return result
