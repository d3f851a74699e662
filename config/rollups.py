"""Reading daily rollups where days are whole (issue 21.5): the plumbing every app's rollups share.

A range [since, until) of one tenant splits into the rollup days that lie wholly inside it (local
midnight to local midnight in the tenant's time zone, and before `complete_until`, the last
refresh less a margin) and the raw moments around them: the range's edges that are not local
midnights, today, and whatever came after the last refresh. The apps' rollup readers
(agents/rollups.py, optimization/rollups.py) turn these pieces into one FROM item each.

Shared plumbing: imports no domain app (the caller hands in the tenants' time zones)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

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
    from datetime import UTC

    return (
        datetime.combine(min(local_days) - timedelta(days=1), time(), tzinfo=UTC),
        datetime.combine(max(local_days) + timedelta(days=2), time(), tzinfo=UTC),
    )
