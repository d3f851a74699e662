"""The ticket figures of the ops metrics (time to approve, SLA breaches by type and by role)
from daily rollups where days are whole, raw tickets for the rest (issue 21.5).

`STATES` holds one SQL statement per metric that turns tickets into the metric's additive state
per tenant and *bucket*: a local day when the refresh writes TicketDay (approvals/services/
rollups.py), a period when the page reads raw tickets. Medians and percentiles do not add up, so
`time` keeps every approval's seconds (exact numbers) and the page takes the percentile over
them; what depends on `now` (an undecided ticket breaches once its due time passes) keeps the
due moments and is compared with `now` when read. So the page's figures equal the raw
aggregates' exactly (tests/approvals/test_rollups.py proves it for random ranges).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from approvals.models import Ticket, TicketDay, TicketDecision, TicketRollupMark, TicketStatus
from approvals.types import TicketType
from config import rollups, sql
from config.sql import ComparedRanges
from tenants.models import Tenant

TICKETS = Ticket._meta.db_table
DAYS = TicketDay._meta.db_table
COLUMNS = "tenant_id, bucket, key, n, m, figures"
ANCHORS = {"time": "resolved_at", "sla": "created_at", "slot": "created_at", "a6": "created_at"}
APPROVED = TicketStatus.APPROVED.value
_APPROVED_BY_DUE = f"""EXISTS (
    SELECT 1 FROM {TicketDecision._meta.db_table} d
    WHERE d.ticket_id = t.id AND d.slot = e.value AND d.verdict = 'approve'
      AND d.created_at <= t.sla_due_at)"""

# Each: the state of the tickets in `<source>` (alias t, `<extra>` conditions) per tenant and
# `<bucket>`, as COLUMNS.
STATES = {
    "time": f"""
        SELECT t.tenant_id, <bucket> AS bucket, t.type AS key, COUNT(*) AS n, 0 AS m,
               jsonb_agg(EXTRACT(EPOCH FROM (t.resolved_at - t.created_at))) AS figures
        FROM <source>
        WHERE t.status = '{APPROVED}' AND t.type <> '{TicketType.A6.value}' <extra>
        GROUP BY t.tenant_id, <bucket>, t.type""",
    "sla": f"""
        SELECT t.tenant_id, <bucket> AS bucket, t.type AS key, COUNT(*) AS n,
               COUNT(*) FILTER (WHERE t.resolved_at > t.sla_due_at) AS m,
               COALESCE(jsonb_agg(EXTRACT(EPOCH FROM t.sla_due_at))
                        FILTER (WHERE t.resolved_at IS NULL), '[]'::jsonb) AS figures
        FROM <source>
        WHERE t.sla_due_at IS NOT NULL AND t.status <> '{TicketStatus.CANCELLED.value}' <extra>
        GROUP BY t.tenant_id, <bucket>, t.type""",
    "slot": f"""
        SELECT t.tenant_id, <bucket> AS bucket, e.value AS key, COUNT(*) AS n,
               SUM(CASE WHEN t.resolved_at IS NULL OR t.resolved_at <= t.sla_due_at THEN 0
                        WHEN {_APPROVED_BY_DUE} THEN 0 ELSE 1 END) AS m,
               COALESCE(jsonb_agg(EXTRACT(EPOCH FROM t.sla_due_at))
                        FILTER (WHERE t.resolved_at IS NULL AND NOT {_APPROVED_BY_DUE}),
                        '[]'::jsonb) AS figures
        FROM <source> CROSS JOIN <roles>
        WHERE t.sla_due_at IS NOT NULL
          AND t.status IN ('{TicketStatus.OPEN.value}', '{APPROVED}') <extra>
        GROUP BY t.tenant_id, <bucket>, e.value""",
    "a6": f"""
        SELECT t.tenant_id, <bucket> AS bucket, '' AS key, COUNT(*) AS n, 0 AS m,
               '[]'::jsonb AS figures
        FROM <source> WHERE t.type = '{TicketType.A6.value}' <extra>
        GROUP BY t.tenant_id, <bucket>""",
}


def state_sql(metric: str, *, bucket: str, source: str, extra: str = "") -> str:
    # Replaced, not str.format(): the SQL holds braces of its own (JSON).
    found = STATES[metric].replace("<roles>", sql.json_text_elements("t.required_roles", "e"))
    found = found.replace("<bucket>", bucket).replace("<source>", source)
    return found.replace("<extra>", extra)


def _complete_until() -> datetime | None:
    return TicketRollupMark.objects.values_list("complete_until", flat=True).first()


def ready() -> bool:
    """Whether a refresh has run: before it, the selectors read the raw aggregates."""
    return _complete_until() is not None


def facts_sql(metric: str, *, tenant_ids: Sequence[int], ranges: ComparedRanges):
    """A parenthesised SELECT of COLUMNS (bucket: the period) over both ranges, from rollup days
    where whole and raw tickets for the rest, and its parameters."""
    return rollups.facts_sql(
        metric,
        zones=dict(Tenant.objects.filter(id__in=tenant_ids).values_list("id", "time_zone")),
        ranges=ranges,
        complete_until=_complete_until(),
        days_table=DAYS,
        day_columns="d.key, d.n, d.m, d.figures",
        raw_table=f"{TICKETS} t",
        anchor=ANCHORS[metric],
        state_sql=state_sql,
    )


def approval_times(*, tenant_ids: Sequence[int], ranges: ComparedRanges) -> list[dict]:
    # PERCENTILE_CONT sorts double precision: the raw aggregate casts its numeric seconds, and
    # PostgreSQL casts numeric to float8 through its text, the very text the JSON holds; sorting
    # float8 straight from that text is the same order at a third of the cost.
    facts, params = facts_sql("time", tenant_ids=tenant_ids, ranges=ranges)
    rows = sql.fetch(
        f"""SELECT f.key, f.bucket, COUNT(*), AVG(v.x::numeric),
                   PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY v.x::float8),
                   PERCENTILE_CONT(0.9) WITHIN GROUP (ORDER BY v.x::float8)
            FROM {facts} f CROSS JOIN jsonb_array_elements_text(f.figures) v(x)
            GROUP BY f.key, f.bucket ORDER BY f.key, f.bucket""",
        params,
    )
    return [
        {"type": key, "period": period, "n": n, "mean": float(mean), "median": p50, "p90": p90}
        for key, period, n, mean, p50, p90 in rows
    ]


def _breaches(metric: str, key: str, *, tenant_ids, ranges, now: datetime) -> list[dict]:
    facts, params = facts_sql(metric, tenant_ids=tenant_ids, ranges=ranges)
    rows = sql.fetch(
        f"""SELECT f.key, f.bucket, SUM(f.n)::bigint,
                   (SUM(f.m) + SUM((SELECT COUNT(*) FROM jsonb_array_elements_text(f.figures) v(x)
                                    WHERE v.x::numeric < EXTRACT(EPOCH FROM %s::timestamptz)))
                   )::bigint
            FROM {facts} f GROUP BY f.key, f.bucket ORDER BY f.key, f.bucket""",
        [sql.moment(now), *params],
    )
    return [{key: k, "period": period, "n": n, "breached": b} for k, period, n, b in rows]


def sla_breaches_by_type(*, tenant_ids, ranges: ComparedRanges, now: datetime) -> list[dict]:
    return _breaches("sla", "type", tenant_ids=tenant_ids, ranges=ranges, now=now)


def sla_breaches_by_slot(*, tenant_ids, ranges: ComparedRanges, now: datetime) -> list[dict]:
    return _breaches("slot", "slot", tenant_ids=tenant_ids, ranges=ranges, now=now)


def overrides_by_bucket(
    *, tenant_ids: Sequence[int], ranges: ComparedRanges, bucket: str, zone: ZoneInfo
) -> list[dict] | None:
    """Per bucket (day, week or month on `zone`'s wall clock) and period: A6 overrides, from the
    rollup days where whole. None when a tenant's days are not `zone`'s (its local day would
    straddle two buckets): the caller reads the raw aggregate."""
    if bucket not in ("day", "week", "month"):
        raise ValueError("a bucket is a day, a week or a month")
    zones = dict(Tenant.objects.filter(id__in=tenant_ids).values_list("id", "time_zone"))
    if any(name != zone.key for name in zones.values()):
        return None
    days, raw = rollups.pieces(zones=zones, ranges=ranges, complete_until=_complete_until())
    parts, params = [], []
    if days:
        found, found_params = rollups.days_values(days)
        parts.append(
            f"""SELECT DATE_TRUNC('{bucket}', d.day::timestamp) AS bucket, p.period, d.n
                FROM {found} JOIN {DAYS} d ON d.tenant_id = p.tenant_id AND d.metric = 'a6'
                 AND d.day >= p.first_day AND d.day < p.end_day"""
        )
        params += found_params
    if raw:
        found, found_params = rollups.raw_values(raw)
        parts.append(
            f"""SELECT DATE_TRUNC('{bucket}', t.created_at AT TIME ZONE %s) AS bucket, p.period,
                       1 AS n
                FROM {TICKETS} t JOIN {found} ON t.tenant_id = p.tenant_id
                 AND t.created_at >= p.since AND t.created_at < p.until
                WHERE t.type = '{TicketType.A6.value}'"""
        )
        params += [zone.key, *found_params]
    if not parts:
        return []
    rows = sql.fetch(
        f"""SELECT f.bucket, f.period, SUM(f.n)::bigint
            FROM ({" UNION ALL ".join(parts)}) f GROUP BY f.bucket, f.period
            ORDER BY f.bucket, f.period""",
        params,
    )
    # As Django's Trunc hands it back: the wall-clock moment in `zone`.
    return [
        {"bucket": timezone.make_aware(moment, zone), "period": period, "n": n}
        for moment, period, n in rows
    ]
