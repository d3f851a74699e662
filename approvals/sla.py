"""SLA due times in business days (pure, no database).

A business day is a weekday that is not a public holiday of the tenant's country (the `holidays`
package), worked between `start_hour` and `end_hour` in the tenant's time zone. "N business days"
is N full working days of working time: opened Monday 11:00 with one day → due Tuesday 11:00;
opened after hours, on a weekend or a holiday, the clock starts at the next working morning.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays


@lru_cache(maxsize=256)
def _holidays(country: str, year: int) -> frozenset[date]:
    try:
        calendar = holidays.country_holidays(country, years=year)
    except NotImplementedError:
        # A country the package does not know: weekends still count, no public holidays.
        return frozenset()
    return frozenset(calendar.keys())


def is_business_day(day: date, country: str) -> bool:
    return day.weekday() < 5 and day not in _holidays(country.upper(), day.year)


def _at_hour(day: date, hour: int, zone: ZoneInfo) -> datetime:
    # hour may be 24 (end of day): combine midnight and add, instead of time(24).
    return datetime.combine(day, time(0), tzinfo=zone) + timedelta(hours=hour)


def business_due_at(
    *,
    opened_at: datetime,
    business_days: int,
    country: str,
    time_zone: str,
    start_hour: int,
    end_hour: int,
) -> datetime:
    """When `business_days` of working time after `opened_at` run out (aware, in UTC)."""
    if business_days < 0:
        raise ValueError("business_days >= 0")
    return business_hours_due_at(
        opened_at=opened_at,
        hours=(end_hour - start_hour) * business_days,
        country=country,
        time_zone=time_zone,
        start_hour=start_hour,
        end_hour=end_hour,
    )


def business_hours_due_at(
    *,
    opened_at: datetime,
    hours: int,
    country: str,
    time_zone: str,
    start_hour: int,
    end_hour: int,
) -> datetime:
    """When `hours` of working time after `opened_at` run out (aware, in UTC): 24 business hours
    with a 9–18 working day are two full days and six hours."""
    if opened_at.tzinfo is None:
        raise ValueError("opened_at must be time-zone aware")
    if hours < 0 or not 0 <= start_hour < end_hour <= 24:
        raise ValueError("hours >= 0 and 0 <= start_hour < end_hour <= 24")
    zone = ZoneInfo(time_zone)
    local = opened_at.astimezone(zone)
    remaining = timedelta(hours=hours)
    day = local.date()
    cursor = local
    while True:
        if is_business_day(day, country):
            day_start, day_end = _at_hour(day, start_hour, zone), _at_hour(day, end_hour, zone)
            start = max(cursor, day_start)
            if start < day_end:
                available = day_end - start
                if remaining <= available:
                    return (start + remaining).astimezone(ZoneInfo("UTC"))
                remaining -= available
        day += timedelta(days=1)
        cursor = _at_hour(day, 0, zone)


def tenant_due_at(*, opened_at: datetime, business_days: int, tenant, policy) -> datetime:
    """business_due_at on `tenant`'s calendar (its country's holidays, its time zone) within
    `policy`'s working hours: every due time the product computes (an SLA, an A3's lapse)."""
    return business_due_at(
        opened_at=opened_at,
        business_days=business_days,
        country=tenant.country,
        time_zone=tenant.time_zone,
        start_hour=policy.working_hours_start,
        end_hour=policy.working_hours_end,
    )


def tenant_hours_due_at(*, opened_at: datetime, hours: int, tenant, policy) -> datetime:
    """business_hours_due_at on `tenant`'s calendar within `policy`'s working hours."""
    return business_hours_due_at(
        opened_at=opened_at,
        hours=hours,
        country=tenant.country,
        time_zone=tenant.time_zone,
        start_hour=policy.working_hours_start,
        end_hour=policy.working_hours_end,
    )


def days_for_kind(
    kind: str,
    *,
    approval_days: int,
    revise_days: int,
    replan_days: int,
    revise_approval_days: int | None = None,
) -> int:
    """docs/rules.md "sla": revise draft 1, replan draft 2, approval 1–3 (the tenant's choice),
    a revise's approval lighter (1 by default, up to 3; the approval days when not given)."""
    return {
        "approval": approval_days,
        "revise_approval": approval_days if revise_approval_days is None else revise_approval_days,
        "revise_draft": revise_days,
        "replan_draft": replan_days,
    }[kind]
