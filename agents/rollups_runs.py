"""The run figures of the ops metrics (failure codes, loop depth, A8 by QC pattern) from daily
rollups where days are whole, raw runs for the rest (issue 21.5).

All three count the runs started in a range (by the run's created_at, which never moves) with
their correction loops. `STATES` holds one SQL statement per metric that turns runs into the
metric's additive state (counts and sums) per tenant and *bucket*: a local day when the refresh
writes RunDay (agents/services/rollups.py), a period when the page reads raw runs. The page sums
rollup days and raw states alike (config/rollups.py cuts the ranges), so its figures equal the
raw aggregates' exactly (tests/agents/test_run_rollups.py proves it for random ranges).

A run's loops and its A8 change after its day while it runs; the refresh recounts a run's day
when it sees a new QC result of the run (the QC service updates the loop in the same
transaction) or a new A8 ticket about it, so until that refresh (one interval, 5 minutes, plus
the margin) a past day's figure can lag. Today is always read raw.
"""

from __future__ import annotations

from collections.abc import Sequence

from agents.models import AgentRun, QcLoop, RollupWatermark, RunDay
from config import rollups, sql
from config.sql import ComparedRanges
from tenants.models import Tenant

RUNS = AgentRun._meta.db_table
LOOPS = QcLoop._meta.db_table
DAYS = RunDay._meta.db_table
RUNS_WATERMARK = "agents.runs"
COLUMNS = "tenant_id, bucket, key, n, m, attempts"


def _codes() -> str:
    return sql.json_text_elements("l.failure_codes", "e")


# Each: the state of the runs in `<source>` (alias r, `<extra>` conditions) per tenant and
# `<bucket>`, as COLUMNS; `a8` names its source three times.
STATES = {
    "code": f"""
        SELECT r.tenant_id, <bucket> AS bucket, e.value AS key, COUNT(*) AS n,
               SUM(CASE WHEN l.passed THEN 1 ELSE 0 END) AS m, SUM(l.attempts) AS attempts
        FROM <source> JOIN {LOOPS} l ON l.run_id = r.id, <codes>
        WHERE TRUE <extra>
        GROUP BY r.tenant_id, <bucket>, e.value""",
    "depth": f"""
        SELECT r.tenant_id, <bucket> AS bucket, LEAST(l.attempts, 4)::text AS key, COUNT(*) AS n,
               SUM(CASE WHEN l.passed THEN 1 ELSE 0 END) AS m, 0 AS attempts
        FROM <source> JOIN {LOOPS} l ON l.run_id = r.id
        WHERE TRUE <extra>
        GROUP BY r.tenant_id, <bucket>, LEAST(l.attempts, 4)""",
    "a8": f"""
        SELECT r.tenant_id, <bucket> AS bucket, e.value AS key, COUNT(DISTINCT r.id) AS n,
               COUNT(DISTINCT CASE WHEN r.loop_ticket <> '' THEN r.id END) AS m, 0 AS attempts
        FROM <source> JOIN {LOOPS} l ON l.run_id = r.id, <codes>
        WHERE TRUE <extra>
        GROUP BY r.tenant_id, <bucket>, e.value
        UNION ALL
        SELECT r.tenant_id, <bucket>, '', COUNT(*),
               SUM(CASE WHEN r.loop_ticket <> '' THEN 1 ELSE 0 END), 0
        FROM <source>
        WHERE NOT EXISTS (
            SELECT 1 FROM {LOOPS} l
            WHERE l.run_id = r.id AND <length> > 0
        ) <extra>
        GROUP BY r.tenant_id, <bucket>
        UNION ALL
        SELECT r.tenant_id, <bucket>, '*', COUNT(*),
               SUM(CASE WHEN r.loop_ticket <> '' THEN 1 ELSE 0 END), 0
        FROM <source> WHERE TRUE <extra>
        GROUP BY r.tenant_id, <bucket>""",
}
SOURCES = {"code": 1, "depth": 1, "a8": 3}  # how often each names its source


def state_sql(metric: str, *, bucket: str, source: str, extra: str = "") -> str:
    # Replaced, not str.format(): the SQL holds braces of its own (JSON paths).
    found = STATES[metric].replace("<codes>", _codes())
    found = found.replace("<length>", sql.json_length("l.failure_codes"))
    found = found.replace("<bucket>", bucket).replace("<source>", source)
    return found.replace("<extra>", extra)


def _complete_until():
    return (
        RollupWatermark.objects.filter(name=RUNS_WATERMARK)
        .values_list("complete_until", flat=True)
        .first()
    )


def ready() -> bool:
    """Whether a refresh has run: before it, the selectors read the raw aggregates."""
    return _complete_until() is not None


def facts_sql(metric: str, *, tenant_ids: Sequence[int], ranges: ComparedRanges):
    """A parenthesised SELECT of COLUMNS (bucket: the period) over both ranges, from rollup days
    where whole and raw runs for the rest, and its parameters."""
    return rollups.facts_sql(
        metric,
        zones=dict(Tenant.objects.filter(id__in=tenant_ids).values_list("id", "time_zone")),
        ranges=ranges,
        complete_until=_complete_until(),
        days_table=DAYS,
        day_columns="d.key, d.n, d.m, d.attempts",
        raw_table=f"{RUNS} r",
        anchor="created_at",
        state_sql=state_sql,
        sources=SOURCES[metric],
    )


def failure_codes(*, tenant_ids: Sequence[int], ranges: ComparedRanges) -> list[dict]:
    facts, params = facts_sql("code", tenant_ids=tenant_ids, ranges=ranges)
    rows = sql.fetch(
        f"""SELECT f.key, f.bucket, SUM(f.n)::bigint AS loops, SUM(f.attempts) / SUM(f.n),
                   SUM(f.m)::bigint
            FROM {facts} f GROUP BY f.key, f.bucket ORDER BY loops DESC, f.key, f.bucket""",
        params,
    )
    keys = ("code", "period", "loops", "depth", "passed")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def loop_depths(*, tenant_ids: Sequence[int], ranges: ComparedRanges) -> list[dict]:
    facts, params = facts_sql("depth", tenant_ids=tenant_ids, ranges=ranges)
    rows = sql.fetch(
        f"""SELECT f.key::int, f.bucket, SUM(f.n)::bigint, SUM(f.m)::bigint
            FROM {facts} f GROUP BY f.key, f.bucket ORDER BY f.key::int, f.bucket""",
        params,
    )
    keys = ("depth", "period", "n", "passed")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def a8_runs(*, tenant_ids: Sequence[int], ranges: ComparedRanges) -> list[dict]:
    facts, params = facts_sql("a8", tenant_ids=tenant_ids, ranges=ranges)
    rows = sql.fetch(
        f"""SELECT f.key, f.bucket, SUM(f.n)::bigint, SUM(f.m)::bigint
            FROM {facts} f GROUP BY f.key, f.bucket ORDER BY f.key, f.bucket""",
        params,
    )
    return [{"code": code, "period": period, "runs": n, "a8": a8} for code, period, n, a8 in rows]
