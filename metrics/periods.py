"""Date ranges of the metrics pages and the week of a report (pure: no database).

A range is whole days in one time zone, both ends included: 1–28 Mar is from local midnight of
1 Mar to local midnight of 29 Mar, however many hours the days between hold (a range across a
DST change is 23 or 25 hours off a multiple of 24, and counts every event of those days once).
The comparison is the range of the same number of days just before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_DAYS = 28
MAX_DAYS = 366 * 2


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """Midnight starting `day` in `zone`, as a UTC moment (so that subtracting two of them gives
    the hours that really passed: Python subtracts datetimes of one zone by their wall clocks)."""
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Period:
    first: date  # included
    last: date  # included
    zone: ZoneInfo

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def start(self) -> datetime:
        return local_midnight(self.first, self.zone)

    @property
    def end(self) -> datetime:
        """Exclusive: midnight after the last day."""
        return local_midnight(self.last + timedelta(days=1), self.zone)

    def before(self) -> Period:
        """The range of as many days just before this one."""
        return Period(
            self.first - timedelta(days=self.days), self.first - timedelta(days=1), self.zone
        )

    def label(self) -> str:
        from config.formatting import date_text

        if self.first == self.last:
            return date_text(self.first)
        if self.first.year == self.last.year:
            return f"{date_text(self.first, year=False)} – {date_text(self.last)}"
        return f"{date_text(self.first)} – {date_text(self.last)}"


@dataclass(frozen=True)
class Ranges:
    current: Period
    previous: Period

    @property
    def zone(self) -> ZoneInfo:
        return self.current.zone


def parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def ranges_for(*, first: date | None, last: date | None, today: date, zone: ZoneInfo) -> Ranges:
    """The range asked for (defaults: the DEFAULT_DAYS days ending today), put in order and
    capped at MAX_DAYS, and the range before it."""
    last = last or today
    first = first or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        first, last = last, first
    if (last - first).days + 1 > MAX_DAYS:
        first = last - timedelta(days=MAX_DAYS - 1)
    current = Period(first, last, zone)
    return Ranges(current=current, previous=current.before())


def bucket_for(period: Period) -> str:
    """How a chart over time cuts the range: by day up to five weeks, then by week, then month."""
    if period.days <= 35:
        return "day"
    if period.days <= 26 * 7:
        return "week"
    return "month"


def bucket_starts(period: Period, bucket: str) -> list[date]:
    """Every bucket's first day inside the range, oldest first (weeks start on Monday)."""
    if bucket == "day":
        return [period.first + timedelta(days=i) for i in range(period.days)]
    if bucket == "week":
        day = period.first - timedelta(days=period.first.weekday())
        starts = []
        while day <= period.last:
            starts.append(day)
            day += timedelta(days=7)
        return starts
    day = period.first.replace(day=1)
    starts = []
    while day <= period.last:
        starts.append(day)
        day = (day + timedelta(days=32)).replace(day=1)
    return starts


# --- The weekly report ----------------------------------------------------------------------------
REPORT_WEEKDAY = 0  # Monday
REPORT_HOUR = 8


def week_of(day: date) -> date:
    """The Monday starting the week that holds `day`."""
    return day - timedelta(days=day.weekday())


def last_full_week(today: date) -> date:
    """The Monday of the last week that has ended (Monday to Sunday) before `today`."""
    return week_of(today) - timedelta(days=7)


def report_due_at(week_start: date, zone: ZoneInfo) -> datetime:
    """When the report of the week starting `week_start` is built and sent: the Monday after
    it, at 08:00 on the tenant's wall clock (whatever its UTC offset that day)."""
    return datetime.combine(week_start + timedelta(days=7), time(REPORT_HOUR), tzinfo=zone)


def report_week_due(now: datetime, zone: ZoneInfo) -> date | None:
    """The week whose report is due at `now` in `zone`: the week that ended last Sunday once
    it is Monday 08:00 or later there; None before 08:00 on Monday (last week's was due a week
    ago, and has its own row). A cluster that was down on Monday still sends it later that week."""
    local = now.astimezone(zone)
    week = last_full_week(local.date())
    return week if now >= report_due_at(week, zone) else None
