"""The change-set metrics of the ops metrics from daily rollups where days are whole, raw change
sets for the rest (issue 21.5).

Four metrics read change sets: auto-approved by track (by created_at), rollback after approval
(by applied_at), spend held (by created_at) and the A3 what-if (by created_at). For each,
`STATES` holds one SQL statement that turns change sets into the metric's additive state
(counts, exact numeric sums, lists of exact numbers) per tenant and *bucket*: a local day when
the refresh writes ChangeSetDay (optimization/services/rollups.py), a period ("current" /
"previous") when the page reads raw change sets. The page then sums rollup days and raw states
alike (config/rollups.py cuts each range into whole rollup days and raw edges), so its figures
equal the raw aggregate's exactly (tests/optimization/test_rollups.py proves it for random
ranges).

What is not final is never rolled up: a change set sent to a person and not decided yet (its
wait grows with `now`) is read raw on rollup days too, through an index of its own; a change set
waiting for a person now is always read raw. What changes after its day (decided, applied,
rolled back) is re-counted by the next refresh, which recounts every day its log touched: until
then (at most one refresh interval, 5 minutes, plus the margin) a past day's figure can lag.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from approvals.models import Ticket
from approvals.types import TicketType
from config import rollups, sql
from config.sql import CURRENT, PREVIOUS, ComparedRanges
from optimization.models import (
    ChangeSet,
    ChangeSetDay,
    ChangeSetItem,
    ChangeSetKind,
    ChangeSetRollupMark,
    ChangeSetStatus,
)
from plans.models import PlanVersion, Track
from tenants.models import Tenant

CS = ChangeSet._meta.db_table
DAYS = ChangeSetDay._meta.db_table
AGENT = ChangeSetKind.AGENT.value
APPLIED = ChangeSetStatus.APPLIED.value
BLOCKED = ChangeSetStatus.BLOCKED.value
PENDING = ChangeSetStatus.PENDING_APPROVAL.value
REJECTED = ChangeSetStatus.REJECTED.value

# The day (or period) each metric files a change set under.
ANCHORS = {"auto": "created_at", "rollback": "applied_at", "held": "created_at", "a3": "created_at"}
COLUMNS = "tenant_id, bucket, track_id, key, n, m, totals, figures, others"


def _moved() -> str:
    return f"ABS({sql.json_number('i.after')} - {sql.json_number('i.before')})"


def _move() -> str:
    return sql.json_number("ch.value", "move_pct")


# Each: the state of the change sets in `<source>` (an alias cs, with `<extra>` conditions) per
# tenant and `<bucket>`, as the columns COLUMNS names. `held` takes one parameter (now) after
# the source's.
STATES = {
    "auto": f"""
        SELECT cs.tenant_id, <bucket> AS bucket, cs.track_id, '' AS key, COUNT(*) AS n,
               COUNT(*) FILTER (WHERE cs.ticket = '' AND cs.status = '{APPLIED}') AS m,
               '[]'::jsonb AS totals, '[]'::jsonb AS figures, '[]'::jsonb AS others
        FROM <source>
        WHERE cs.kind = '{AGENT}' AND cs.status <> '{BLOCKED}' <extra>
        GROUP BY cs.tenant_id, <bucket>, cs.track_id""",
    "rollback": f"""
        SELECT cs.tenant_id, <bucket> AS bucket, NULL::bigint AS track_id,
               CASE WHEN cs.ticket = '' THEN '0' ELSE '1' END AS key, COUNT(*) AS n, 0 AS m,
               '[]'::jsonb AS totals,
               COALESCE(jsonb_agg(x.delay) FILTER (WHERE x.delay IS NOT NULL), '[]'::jsonb)
                 AS figures,
               '[]'::jsonb AS others
        FROM <source>
        CROSS JOIN LATERAL (
            SELECT MIN(EXTRACT(EPOCH FROM (rb.applied_at - cs.applied_at))) AS delay
            FROM {CS} rb WHERE rb.reverts_id = cs.id AND rb.status = '{APPLIED}'
        ) x
        WHERE cs.kind = '{AGENT}' AND cs.status = '{APPLIED}' <extra>
        GROUP BY cs.tenant_id, <bucket>, CASE WHEN cs.ticket = '' THEN '0' ELSE '1' END""",
    "held": f"""
        SELECT cs.tenant_id, <bucket> AS bucket, cs.track_id, '' AS key, COUNT(*) AS n, 0 AS m,
               jsonb_build_array(SUM(x.waited), SUM(x.daily * x.waited)) AS totals,
               '[]'::jsonb AS figures, '[]'::jsonb AS others
        FROM <source>
        CROSS JOIN LATERAL (
            SELECT EXTRACT(EPOCH FROM (COALESCE(cs.decided_at, %s) - cs.created_at)) AS waited,
                   (SELECT COALESCE(SUM({_moved()}), 0) FROM {ChangeSetItem._meta.db_table} i
                    WHERE i.change_set_id = cs.id AND i.field = 'daily_budget') AS daily
        ) x
        WHERE cs.ticket <> '' AND cs.status <> '{BLOCKED}' <extra>
        GROUP BY cs.tenant_id, <bucket>, cs.track_id""",
    "a3": f"""
        SELECT a.tenant_id, a.bucket, NULL::bigint AS track_id, '' AS key, COUNT(*) AS n,
               0 AS m, '[]'::jsonb AS totals,
               COALESCE(jsonb_agg(a.needed) FILTER (WHERE a.eligible), '[]'::jsonb) AS figures,
               COALESCE(jsonb_agg(a.needed) FILTER (WHERE a.eligible AND a.status = '{REJECTED}'),
                        '[]'::jsonb) AS others
        FROM (
            SELECT cs.tenant_id, <bucket> AS bucket, cs.id, cs.status, MAX({_move()}) AS needed,
                   (MIN({sql.json_flag("ch.value", "drift_ok")}) = 1
                    AND MIN(CASE WHEN {_move()} IS NULL THEN 0 ELSE 1 END) = 1
                    AND MAX({sql.json_length("cs.guardrails", "first_launches")}) = 0) AS eligible
            FROM <source>
            JOIN {Ticket._meta.db_table} t
              ON t.public_id = cs.ticket AND t.type = '{TicketType.A3.value}',
                 {sql.json_object_elements("cs.guardrails", "channels", "ch")}
            WHERE TRUE <extra>
            GROUP BY cs.tenant_id, <bucket>, cs.id, cs.status
        ) a
        GROUP BY a.tenant_id, a.bucket""",
}


def state_sql(metric: str, *, bucket: str, source: str, extra: str = "") -> str:
    # Replaced, not str.format(): the SQL holds braces of its own (JSON paths).
    found = STATES[metric].replace("<bucket>", bucket).replace("<source>", source)
    return found.replace("<extra>", extra)


def mark() -> tuple[datetime | None, int]:
    """How far the rollups hold every change set (None: no rollups), and the last id read."""
    found = ChangeSetRollupMark.objects.values_list("complete_until", "seen_id").first()
    return found if found else (None, 0)


def ready() -> bool:
    """Whether a refresh has run: before it, the selectors read the raw aggregates."""
    return mark()[0] is not None


def _facts(metric: str, *, tenant_ids: Sequence[int], ranges: ComparedRanges, now: datetime):
    """A parenthesised SELECT of COLUMNS (bucket: the period) over both ranges, from rollup days
    where whole and raw change sets for the rest, and its parameters."""
    complete_until, _ = mark()
    return rollups.facts_sql(
        metric,
        zones=dict(Tenant.objects.filter(id__in=tenant_ids).values_list("id", "time_zone")),
        ranges=ranges,
        complete_until=complete_until,
        days_table=DAYS,
        day_columns="d.track_id, d.key, d.n, d.m, d.totals, d.figures, d.others",
        raw_table=f"{CS} cs",
        anchor=ANCHORS[metric],
        state_sql=state_sql,
        state_params=[sql.moment(now)] if metric == "held" else [],
        # Not decided yet: never rolled up (its wait grows with `now`).
        never_rolled_up="AND cs.decided_at IS NULL" if metric == "held" else "",
    )


def auto_applied_by_track(*, tenant_ids: Sequence[int], ranges: ComparedRanges) -> list[dict]:
    facts, params = _facts("auto", tenant_ids=tenant_ids, ranges=ranges, now=ranges.until)
    rows = sql.fetch(
        f"""SELECT tn.slug, tr.key, f.bucket, SUM(f.n)::bigint, SUM(f.m)::bigint
            FROM {facts} f
            JOIN {Tenant._meta.db_table} tn ON tn.id = f.tenant_id
            JOIN {Track._meta.db_table} tr ON tr.id = f.track_id
            GROUP BY tn.slug, tr.key, f.bucket
            ORDER BY tn.slug, tr.key, f.bucket""",
        params,
    )
    keys = ("tenant__slug", "track__key", "period", "total", "auto")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def change_sets_rolled_back(
    *, tenant_ids: Sequence[int], ranges: ComparedRanges, days: int
) -> list[dict]:
    facts, params = _facts("rollback", tenant_ids=tenant_ids, ranges=ranges, now=ranges.until)
    rows = sql.fetch(
        f"""SELECT f.key::int, f.bucket, SUM(f.n)::bigint,
                   SUM((SELECT COUNT(*) FROM jsonb_array_elements_text(f.figures) v(x)
                        WHERE v.x::numeric <= %s))::bigint
            FROM {facts} f
            GROUP BY f.key, f.bucket
            ORDER BY f.key, f.bucket""",
        [Decimal(days * 86400), *params],
    )
    keys = ("by_person", "period", "n", "rolled_back")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def spend_held_by_track(
    *, tenant_ids: Sequence[int], ranges: ComparedRanges, now: datetime, keys: tuple[str, ...]
) -> list[dict]:
    """Change sets waiting now (always raw, by their index) and the range's states per track."""
    facts, params = _facts("held", tenant_ids=tenant_ids, ranges=ranges, now=now)
    tenants, tenant_params = sql.in_ids("cs.tenant_id", tenant_ids)
    items = ChangeSetItem._meta.db_table
    currency = sql.json_text("v.payload", "currency")
    per = {
        period: (
            f"SUM(f.n) FILTER (WHERE f.bucket = '{period}')",
            f"SUM((f.totals ->> 0)::numeric) FILTER (WHERE f.bucket = '{period}')",
            f"SUM((f.totals ->> 1)::numeric) FILTER (WHERE f.bucket = '{period}')",
        )
        for period in (CURRENT, PREVIOUS)
    }
    figures = []
    for period in (CURRENT, PREVIOUS):
        n, waited, held = per[period]
        figures += [
            f"COALESCE({n}, 0)::bigint",
            f"{waited} / {n}",
            f"COALESCE({held}, 0) / 86400.0",
        ]
    query = f"""
        WITH waiting AS (
            SELECT cs.tenant_id, cs.track_id, COUNT(*) AS n, MIN(cs.created_at) AS oldest,
                   SUM((SELECT COALESCE(SUM({_moved()}), 0) FROM {items} i
                        WHERE i.change_set_id = cs.id AND i.field = 'daily_budget')) AS held
            FROM {CS} cs
            WHERE {tenants} AND cs.status = '{PENDING}' AND cs.ticket <> ''
            GROUP BY cs.tenant_id, cs.track_id
        ), ranged AS (
            SELECT f.tenant_id, f.track_id, {", ".join(figures)}
            FROM {facts} f GROUP BY f.tenant_id, f.track_id
        )
        SELECT tn.slug, tr.key, {currency}, COALESCE(w.n, 0), COALESCE(w.held, 0), w.oldest,
               r.tenant_id IS NULL, r.*
        FROM waiting w FULL JOIN ranged r ON r.tenant_id = w.tenant_id AND r.track_id = w.track_id
        JOIN {Tenant._meta.db_table} tn ON tn.id = COALESCE(w.tenant_id, r.tenant_id)
        JOIN {Track._meta.db_table} tr ON tr.id = COALESCE(w.track_id, r.track_id)
        LEFT JOIN {PlanVersion._meta.db_table} v ON v.id = tr.current_version_id
        ORDER BY tn.slug, tr.key
    """
    found = []
    for row in sql.fetch(query, [*tenant_params, *params]):
        slug, track, cur, waiting, held, oldest, no_range, *rest = row
        ranged = [0, None, Decimal(0), 0, None, Decimal(0)] if no_range else rest[2:]
        values = [slug, track, cur, waiting, held, oldest, *ranged]
        found.append(dict(zip(keys, values, strict=True)))
    return found


def a3s_within_thresholds(
    *, tenant_ids: Sequence[int], ranges: ComparedRanges, thresholds: Sequence[Decimal]
) -> list[dict]:
    facts, params = _facts("a3", tenant_ids=tenant_ids, ranges=ranges, now=ranges.until)
    columns, column_params = [], []
    for threshold in thresholds:
        for column in ("figures", "others"):
            columns.append(
                f"""SUM((SELECT COUNT(*) FROM jsonb_array_elements_text(f.{column}) v(x)
                        WHERE v.x::numeric <= %s))::bigint"""
            )
            column_params.append(float(threshold))
    rows = sql.fetch(
        f"""SELECT f.bucket, SUM(f.n)::bigint{"".join(", " + c for c in columns)}
            FROM {facts} f GROUP BY f.bucket ORDER BY f.bucket""",
        [*column_params, *params],
    )
    return a3_figures(rows)


def a3_figures(rows) -> list[dict]:
    """Rows of (period, A3s, then per threshold: through, rejected) as the A3 what-if's dicts
    (the raw aggregate's too, optimization/selectors.py)."""
    return [
        {
            "period": period,
            "a3s": total,
            "through": [counts[i] or 0 for i in range(0, len(counts), 2)],
            "rejected": [counts[i] or 0 for i in range(1, len(counts), 2)],
        }
        for period, total, *counts in rows
    ]
