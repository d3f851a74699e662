"""Reads of agent runs for the API and the System Ops pages, and the QC aggregates of the ops
metrics."""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Avg, Case, CharField, Count, F, IntegerField, Q, Value, When

from agents import rollups_runs
from agents.models import CEILING_OF, COUNTER_NAMES, AgentRun, QcAlert, QcLoop
from agents.rollups import qc_facts_sql
from approvals.models import Ticket, TicketStatus
from config import sql
from config.sql import ComparedRanges
from tenants.models import TenantPolicy


def run_block_reason(run: AgentRun) -> str:
    """What blocks the run, in the gate's words ("loop_limit:tool_round", "cost_guard")."""
    if run.ended:
        return "run_ended"
    if run.loop_block:
        return f"loop_limit:{COUNTER_NAMES[run.loop_block]}"
    if run.cost_block:
        return "cost_guard"
    return ""


def run_ceilings(policy: TenantPolicy) -> dict[str, int]:
    return {COUNTER_NAMES[column]: getattr(policy, key) for column, key in CEILING_OF.items()}


def run_tickets(run: AgentRun):
    return Ticket.objects.filter(
        tenant_id=run.tenant_id, subject_type="agent_run", subject_id=run.run_id
    ).order_by("created_at")


def run_view(run: AgentRun) -> dict:
    """A run as GET /api/v1/runs/{run_id} answers it."""
    policy = TenantPolicy.objects.get(tenant_id=run.tenant_id)
    calls = list(run.gate_calls.order_by("-at", "-id")[:20])
    return {
        "run_id": run.run_id,
        "main_task_id": run.main_task_id,
        "agent": run.agent,
        "model": run.model,
        "state": run.state,
        "block_reason": run_block_reason(run),
        "counts": run.counts,
        "ceilings": run_ceilings(policy),
        "estimated_cost_usd": str(run.estimated_cost_usd),
        "actual_cost_usd": str(run.actual_cost_usd),
        "reserved_usd": str(run.reserved_usd),
        "trip_line_usd": str(run.estimated_cost_usd * policy.trip_multiplier),
        "input_tokens": run.input_tokens,
        "output_tokens": run.output_tokens,
        "open_tickets": [
            {"ticket": t.public_id, "type": t.type, "status": t.status}
            for t in run_tickets(run).filter(status=TicketStatus.OPEN)
        ],
        "recent_gate_calls": [
            {
                "kind": c.kind,
                "allowed": c.allowed,
                "reason": c.reason,
                "global": c.global_steps,
                "at": c.at.isoformat(),
            }
            for c in reversed(calls)
        ],
        "created_at": run.created_at,
    }


# --- What the ops metrics read (metrics/selectors.py) ---------------------------------------------
# Aggregates over the tenants in `tenant_ids` and both of `ranges` at once, grouped by a `period`
# column; the indexes they range over are QcResult.Meta.indexes.
QC_GROUPINGS = ("main_task_id", "agent", "model")
DEPTH_CAP = 4  # loops of 4 attempts or more are counted together
ALL_RUNS = "*"  # a8_runs_by_failure_code's row of every run
NO_FAILURE = ""  # ... and of the runs that met no failure code


def qc_first_attempts(*, tenant_ids: Sequence[int], ranges: ComparedRanges, by: str) -> list[dict]:
    """Per main task, agent or model (`by`, as `key`) and period: QC results of a subtask's
    first attempt, and those that passed (from the daily rollups where whole, agents/rollups.py)."""
    if by not in QC_GROUPINGS:
        raise ValueError(f"first pass by one of {', '.join(QC_GROUPINGS)}")
    facts, params = qc_facts_sql(tenant_ids=tenant_ids, ranges=ranges)
    rows = sql.fetch(
        f"""SELECT f.{by}, f.period, SUM(f.first_attempts), SUM(f.first_passed)
            FROM {facts} f
            GROUP BY f.{by}, f.period HAVING SUM(f.first_attempts) > 0
            ORDER BY f.{by}, f.period""",
        params,
    )
    return [
        {"key": key, "period": period, "n": int(n), "passed": int(passed)}
        for key, period, n, passed in rows
    ]


def _run_filter(alias: str, tenant_ids: Sequence[int], ranges: ComparedRanges) -> tuple[str, list]:
    tenants, params = sql.in_ids(f"{alias}.tenant_id", tenant_ids)
    return (
        f"{tenants} AND {alias}.created_at >= %s AND {alias}.created_at < %s",
        [*params, sql.moment(ranges.since), sql.moment(ranges.until)],
    )


def qc_failure_codes_raw(*, tenant_ids: Sequence[int], ranges: ComparedRanges) -> list[dict]:
    """Per failure code and period: the correction loops of runs started in the range that met
    it, how deep they went on average and how many ended passing; most met first."""
    where, params = _run_filter("r", tenant_ids, ranges)
    query = f"""
        SELECT e.value AS code, {sql.period_sql("r.created_at")} AS period, COUNT(*) AS loops,
               AVG(l.attempts) AS depth, SUM(CASE WHEN l.passed THEN 1 ELSE 0 END) AS passed
        FROM {QcLoop._meta.db_table} l
        JOIN {AgentRun._meta.db_table} r ON r.id = l.run_id,
             {sql.json_text_elements("l.failure_codes", "e")}
        WHERE {where}
        GROUP BY e.value, {sql.period_sql("r.created_at")}
        ORDER BY loops DESC, code
    """
    split = sql.moment(ranges.split)
    rows = sql.fetch(query, [split, *params, split])
    return [
        {"code": code, "period": period, "loops": loops, "depth": depth, "passed": passed}
        for code, period, loops, depth, passed in rows
    ]


def qc_loop_depths_raw(*, tenant_ids: Sequence[int], ranges: ComparedRanges) -> list[dict]:
    """Per depth (attempts; DEPTH_CAP and more together) and period: the correction loops of
    runs started in the range, and those that ended passing."""
    loops = ranges.filter(QcLoop.objects.filter(run__tenant_id__in=tenant_ids), "run__created_at")
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


def a8_runs_by_failure_code_raw(*, tenant_ids: Sequence[int], ranges: ComparedRanges) -> list[dict]:
    """Per QC failure code met on a run (NO_FAILURE: runs that met none; ALL_RUNS: every run)
    and period: runs started in the range, and those that raised an A8."""
    where, params = _run_filter("r", tenant_ids, ranges)
    runs = AgentRun._meta.db_table
    loops = QcLoop._meta.db_table
    # A run keeps the id of the last A8 it raised in loop_ticket (clearing it resumes the run
    # but leaves the id), so "raised an A8" needs no look into the tickets.
    a8 = "CASE WHEN r.loop_ticket <> '' THEN 1 ELSE 0 END"
    period = sql.period_sql("r.created_at")
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
    split = sql.moment(ranges.split)
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


# The page reads the three run figures from daily rollups where days are whole
# (agents/rollups_runs.py); the *_raw aggregates above are the definition, read on SQLite and
# held against the rollups by tests/agents/test_run_rollups.py.
def qc_failure_codes(*, tenant_ids: Sequence[int], ranges: ComparedRanges) -> list[dict]:
    """Per failure code and period: the correction loops of runs started in the range that met
    it, how deep they went on average and how many ended passing; most met first."""
    if not (sql.is_postgres() and rollups_runs.ready()):
        return qc_failure_codes_raw(tenant_ids=tenant_ids, ranges=ranges)
    return rollups_runs.failure_codes(tenant_ids=tenant_ids, ranges=ranges)


def qc_loop_depths(*, tenant_ids: Sequence[int], ranges: ComparedRanges) -> list[dict]:
    """Per depth (attempts; DEPTH_CAP and more together) and period: the correction loops of
    runs started in the range, and those that ended passing."""
    if not (sql.is_postgres() and rollups_runs.ready()):
        return qc_loop_depths_raw(tenant_ids=tenant_ids, ranges=ranges)
    return rollups_runs.loop_depths(tenant_ids=tenant_ids, ranges=ranges)


def a8_runs_by_failure_code(*, tenant_ids: Sequence[int], ranges: ComparedRanges) -> list[dict]:
    """Per QC failure code met on a run (NO_FAILURE: runs that met none; ALL_RUNS: every run)
    and period: runs started in the range, and those that raised an A8."""
    if not (sql.is_postgres() and rollups_runs.ready()):
        return a8_runs_by_failure_code_raw(tenant_ids=tenant_ids, ranges=ranges)
    return rollups_runs.a8_runs(tenant_ids=tenant_ids, ranges=ranges)


def qc_grains_under_floor(*, tenant_ids: Sequence[int], ranges: ComparedRanges) -> list[dict]:
    """Per grain kind (task / subtask) and period: grains with QC results, those with enough
    results to judge (the tenant's min_sample_global) and those whose pass rate is under its
    success_floor."""
    facts, params = qc_facts_sql(tenant_ids=tenant_ids, ranges=ranges)
    policies = TenantPolicy._meta.db_table
    # One pass over the counts (rollup days and raw results, agents/rollups.py): the subtask
    # grains, then each task as the sum of its subtasks.
    query = f"""
        WITH subtasks AS (
            SELECT f.tenant_id, f.main_task_id, f.period,
                   SUM(f.results) AS sample, SUM(f.passed) AS passed
            FROM {facts} f
            GROUP BY f.tenant_id, f.main_task_id, f.subtask_id, f.period
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
    rows = sql.fetch(query, params)
    return [
        {"grain": grain, "period": period, "grains": n, "measured": measured, "under": under}
        for grain, period, n, measured, under in rows
    ]


def _grain_kind() -> Case:
    return Case(
        When(subtask_id="", then=Value("task")), default=Value("subtask"), output_field=CharField()
    )


def qc_alerts_opened(*, tenant_ids: Sequence[int], ranges: ComparedRanges) -> list[dict]:
    """Per grain kind and period: QC alerts opened in the range, and those still open."""
    alerts = ranges.filter(QcAlert.objects.filter(tenant_id__in=tenant_ids), "opened_at")
    return list(
        alerts.annotate(grain=_grain_kind())
        .values("grain", "period")
        .annotate(n=Count("id"), open=Count("id", filter=Q(recovered_at__isnull=True)))
        .order_by("grain", "period")
    )


def qc_alert_recoveries(*, tenant_ids: Sequence[int], ranges: ComparedRanges) -> list[dict]:
    """Per grain kind and period: QC alerts that recovered in the range, and the mean and
    median seconds to it."""
    alerts = ranges.filter(QcAlert.objects.filter(tenant_id__in=tenant_ids), "recovered_at")
    return list(
        alerts.annotate(grain=_grain_kind(), seconds=sql.Seconds("recovered_at", "opened_at"))
        .values("grain", "period")
        .annotate(n=Count("id"), mean=Avg("seconds"), median=sql.Percentile("seconds", 0.5))
        .order_by("grain", "period")
    )
