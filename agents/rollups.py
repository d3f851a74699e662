"""The QC results of a range as counts: rollup days where they are whole and complete, raw
results for the rest (issue 21.5).

The ops metrics' QC first pass and grains under the floor read 1 M raw results for a year. The
daily rollups (agents.models.QcResultDay, kept in step by agents.services.rollups) count them per
tenant, local day, grain, agent and model; `qc_facts_sql` hands the selectors one FROM item with
the same counts, built from the rollup days that lie wholly inside each tenant's part of each
period and before `complete_until` (the last refresh, less a margin for open transactions), and
from raw results for the rest: the start and end of a range that are not local midnights, today,
and whatever happened since the last refresh. So the figures equal the raw aggregate's exactly
(tests/agents/test_rollups.py proves it for random ranges) and a stale or missing rollup only
costs speed. Without PostgreSQL (SQLite) there are no rollups and everything is read raw.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from agents.models import QcResult, QcResultDay, RollupWatermark
from config import rollups, sql
from config.sql import ComparedRanges
from tenants.models import Tenant

QC_WATERMARK = "agents.qc_results"


def qc_watermark() -> tuple[datetime | None, int]:
    """How far the rollups hold every result (None: no rollups), and the highest id they read."""
    mark = (
        RollupWatermark.objects.filter(name=QC_WATERMARK)
        .values_list("complete_until", "seen_id")
        .first()
    )
    return mark if mark else (None, 0)


def qc_pieces(
    *, tenant_ids: Sequence[int], ranges: ComparedRanges, complete_until: datetime | None
) -> tuple[list[tuple], list[tuple]]:
    """Per tenant and period: the rollup days [first, end) to read (with the moments they span),
    and the raw [since, until) moments around them (config/rollups.py)."""
    zones = dict(Tenant.objects.filter(id__in=tenant_ids).values_list("id", "time_zone"))
    return rollups.pieces(zones=zones, ranges=ranges, complete_until=complete_until)


_RAW_COUNTS = """q.tenant_id, q.main_task_id, q.subtask_id, q.agent, q.model, {period} AS period,
    1 AS results, CASE WHEN q.passed THEN 1 ELSE 0 END AS passed,
    CASE WHEN q.attempt = 1 THEN 1 ELSE 0 END AS first_attempts,
    CASE WHEN q.attempt = 1 AND q.passed THEN 1 ELSE 0 END AS first_passed"""


_EMPTY = """0 AS tenant_id, '' AS main_task_id, '' AS subtask_id, '' AS agent, '' AS model,
    '' AS period, 0 AS results, 0 AS passed, 0 AS first_attempts, 0 AS first_passed WHERE 1 = 0"""


def qc_facts_sql(*, tenant_ids: Sequence[int], ranges: ComparedRanges) -> tuple[str, list]:
    """A parenthesised SELECT of tenant_id, main_task_id, subtask_id, agent, model, period,
    results, passed, first_attempts and first_passed (counts per tenant, grain, agent, model
    and period, not yet summed across days), and its parameters."""
    if not sql.is_postgres():
        tenants, params = sql.in_ids("q.tenant_id", tenant_ids)
        period = sql.period_sql("q.created_at")
        return (
            f"""(SELECT {_RAW_COUNTS.format(period=period)}
                FROM {QcResult._meta.db_table} q
                WHERE {tenants} AND q.created_at >= %s AND q.created_at < %s)""",
            [sql.moment(ranges.split), *params, sql.moment(ranges.since), sql.moment(ranges.until)],
        )
    complete_until, seen_id = qc_watermark()
    days, raw = qc_pieces(tenant_ids=tenant_ids, ranges=ranges, complete_until=complete_until)
    parts, params = [], []
    if days:
        values, values_params = rollups.values(days, rollups.DAY_CASTS)
        parts.append(
            f"""SELECT d.tenant_id, d.main_task_id, d.subtask_id, d.agent, d.model, p.period,
                       d.results, d.passed, d.first_attempts, d.first_passed
                FROM ({values}) AS p(tenant_id, period, first_day, end_day, since, until)
                JOIN {QcResultDay._meta.db_table} d ON d.tenant_id = p.tenant_id
                 AND d.day >= p.first_day AND d.day < p.end_day"""
        )
        # Results that arrived late, dated on a rolled-up day after its last count: added raw
        # until the next refresh counts them in (by id, the insertion order).
        parts.append(
            f"""SELECT {_RAW_COUNTS.format(period="p.period")}
                FROM ({values}) AS p(tenant_id, period, first_day, end_day, since, until)
                JOIN {QcResult._meta.db_table} q ON q.tenant_id = p.tenant_id
                 AND q.created_at >= p.since AND q.created_at < p.until AND q.id > %s"""
        )
        params += [*values_params, *values_params, seen_id]
    if raw:
        values, values_params = rollups.values(raw, rollups.RAW_CASTS)
        parts.append(
            f"""SELECT {_RAW_COUNTS.format(period="p.period")}
                FROM ({values}) AS p(tenant_id, period, since, until)
                JOIN {QcResult._meta.db_table} q ON q.tenant_id = p.tenant_id
                 AND q.created_at >= p.since AND q.created_at < p.until"""
        )
        params += values_params
    if not parts:
        return f"(SELECT {_EMPTY})", []
    return "(" + " UNION ALL ".join(parts) + ")", params
