"""Reading daily rollups where days are whole (issue 21.5): the plumbing every app's rollups share.

A range [since, until) of one tenant splits into the rollup days that lie wholly inside it (local
midnight to local midnight in the tenant's time zone, and before `complete_until`, the last
refresh less a margin) and the raw moments around them: the range's edges that are not local
midnights, today, and whatever came after the last refresh. The apps' rollup readers
(agents/rollups.py, optimization/rollups.py) turn these pieces into one FROM item each.

Shared plumbing: imports no domain app (the caller hands in the tenants' time zones)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection

from config import sql
from config.sql import CURRENT, PREVIOUS, ComparedRanges


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)


def _midnight_on_or_after(moment: datetime, zone: ZoneInfo) -> datetime:
    local = moment.astimezone(zone).date()
    midnight = _midnight(local, zone)
    return midnight if midnight >= moment else _midnight(local + timedelta(days=1), zone)


def _midnight_on_or_before(moment: datetime, zone: ZoneInfo) -> datetime:
    return _midnight(moment.astimezone(zone).date(), zone)


def pieces(
    *, zones: dict[int, str], ranges: ComparedRanges, complete_until: datetime | None
) -> tuple[list[tuple], list[tuple]]:
    """Per tenant (`zones`: id → time zone) and period: the rollup days [first, end) to read
    (with the moments they span), and the raw [since, until) moments around them."""
    days, raw = [], []
    for tenant_id in sorted(zones):
        zone = ZoneInfo(zones[tenant_id])
        for period, start, end in (
            (PREVIOUS, ranges.since, ranges.split),
            (CURRENT, ranges.split, ranges.until),
        ):
            if start >= end:
                continue
            low = _midnight_on_or_after(start, zone)
            high = _midnight_on_or_before(min(end, complete_until), zone) if complete_until else low
            if high <= low:
                raw.append((tenant_id, period, start, end))
                continue
            first, end_day = low.astimezone(zone).date(), high.astimezone(zone).date()
            days.append((tenant_id, period, first, end_day, low, high))
            if start < low:
                raw.append((tenant_id, period, start, low))
            if high < end:
                raw.append((tenant_id, period, high, end))
    return days, raw


def values(rows: list[tuple], casts: tuple[str, ...]) -> tuple[str, list]:
    """A VALUES list of `rows`, each column cast, and its parameters."""
    row = "(" + ", ".join(f"CAST(%s AS {cast})" for cast in casts) + ")"
    params = [
        sql.moment(value) if isinstance(value, datetime) else value for r in rows for value in r
    ]
    return "VALUES " + ", ".join([row] * len(rows)), params


DAY_CASTS = ("bigint", "text", "date", "date", "timestamptz", "timestamptz")
RAW_CASTS = ("bigint", "text", "timestamptz", "timestamptz")


def days_values(days: list[tuple]) -> tuple[str, list]:
    """The rollup days as a FROM item p(tenant_id, period, first_day, end_day, since, until)."""
    found, params = values(days, DAY_CASTS)
    return f"({found}) AS p(tenant_id, period, first_day, end_day, since, until)", params


def raw_values(raw: list[tuple]) -> tuple[str, list]:
    """The raw moments as a FROM item p(tenant_id, period, since, until)."""
    found, params = values(raw, RAW_CASTS)
    return f"({found}) AS p(tenant_id, period, since, until)", params


def touched_span(local_days: list[date]) -> tuple[datetime, datetime]:
    """UTC moments that hold every one of `local_days` in any time zone (a day either side)."""
    return (
        datetime.combine(min(local_days) - timedelta(days=1), time(), tzinfo=UTC),
        datetime.combine(max(local_days) + timedelta(days=2), time(), tzinfo=UTC),
    )


def facts_sql(
    metric: str,
    *,
    zones: dict[int, str],
    ranges: ComparedRanges,
    complete_until: datetime | None,
    days_table: str,
    day_columns: str,
    raw_table: str,
    anchor: str,
    state_sql: Callable[..., str],
    sources: int = 1,
    state_params: Sequence = (),
    never_rolled_up: str = "",
) -> tuple[str, list]:
    """A parenthesised SELECT (tenant_id, bucket: the period, then `day_columns`, each `d.`) of
    `metric` over both ranges, from the rollup days of `days_table` where whole and raw rows for
    the rest, and its parameters.

    The raw rows: `raw_table` (as "table alias") whose `anchor` column falls in a raw piece,
    turned into the metric's state by the app's `state_sql(metric, bucket=, source=, extra=)`,
    which names its source `sources` times and takes `state_params` after the source's.
    `never_rolled_up`: conditions of the rows a rollup day never holds, read raw on the rollup
    days too."""
    alias = raw_table.split()[-1]

    def raw_state(found: str, found_params: list, extra: str = "") -> tuple[str, list]:
        source = (
            f"{raw_table} JOIN {found} ON {alias}.tenant_id = p.tenant_id "
            f"AND {alias}.{anchor} >= p.since AND {alias}.{anchor} < p.until"
        )
        found_sql = state_sql(metric, bucket="p.period", source=source, extra=extra)
        return found_sql, [*(found_params * sources), *state_params]

    days, raw = pieces(zones=zones, ranges=ranges, complete_until=complete_until)
    parts, params = [], []
    if days:
        found, found_params = days_values(days)
        parts.append(
            f"""SELECT d.tenant_id, p.period AS bucket, {day_columns}
                FROM {found} JOIN {days_table} d ON d.tenant_id = p.tenant_id AND d.metric = %s
                 AND d.day >= p.first_day AND d.day < p.end_day"""
        )
        params += [*found_params, metric]
        if never_rolled_up:
            part, part_params = raw_state(found, found_params, never_rolled_up)
            parts.append(part)
            params += part_params
    if raw:
        part, part_params = raw_state(*raw_values(raw))
        parts.append(part)
        params += part_params
    if not parts:
        return (
            f"(SELECT d.tenant_id, '' AS bucket, {day_columns} FROM {days_table} d WHERE 1 = 0)",
            [],
        )
    return "(" + " UNION ALL ".join(f"({part})" for part in parts) + ")", params


def recount_days(
    touched_days: Callable[[Any], list[tuple]],
    *,
    days_table: str,
    columns: str,
    states: Callable[[list[int], datetime, datetime], Iterable[tuple[str, str, list]]],
) -> int:
    """Recount the rollup days of `days_table` that `touched_days(cursor)` names as (tenant id,
    local day) rows: delete them, then insert each metric's state anew. `states(tenant_ids,
    since, until)` yields (metric, state SQL, its parameters) per metric, each state a SELECT
    of `columns` (tenant_id, bucket: the local day, then the table's own columns) over the
    tenants' rows in [since, until), the span that holds every touched day. Returns how many
    days were recounted."""
    with connection.cursor() as cursor:
        # As the metrics' reads (config.sql.read_session): JSON arrays expanded are guessed at
        # 100 rows a row, which trips the JIT threshold, and compiling costs seconds.
        cursor.execute("SET LOCAL jit = off")
        touched = touched_days(cursor)
        if not touched:
            return 0
        tenant_ids, local_days = [row[0] for row in touched], [row[1] for row in touched]
        cursor.execute(
            f"""DELETE FROM {days_table} d
                USING unnest(%s::bigint[], %s::date[]) AS x(tenant_id, day)
                WHERE d.tenant_id = x.tenant_id AND d.day = x.day""",
            [tenant_ids, local_days],
        )
        own = [name.strip() for name in columns.split(",")][2:]  # after tenant_id, bucket
        since, until = touched_span(local_days)
        for metric, state, params in states(sorted(set(tenant_ids)), since, until):
            cursor.execute(
                f"""INSERT INTO {days_table} (tenant_id, day, metric, {", ".join(own)})
                    SELECT g.tenant_id, g.bucket, %s, {", ".join("g." + name for name in own)}
                    FROM ({state}) AS g({columns})
                    JOIN (SELECT DISTINCT * FROM unnest(%s::bigint[], %s::date[]))
                      AS x(tenant_id, day) ON x.tenant_id = g.tenant_id AND x.day = g.bucket""",
                [metric, *params, tenant_ids, local_days],
            )
    return len(touched)
