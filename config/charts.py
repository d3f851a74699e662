"""Chart axes, shared by the hand-made SVG charts (agents/cost_chart.py, optimization/drift_chart.py
and metrics/charts.py): a tick, round steps, linear scales for values and moments, and ticks on
the tenant's wall clock. Pure: no database, no Django; shared plumbing that imports no domain
app (pyproject.toml's contracts).

Positions are rounded to a tenth of a unit (`px`): the SVG stays short and reads the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from zoneinfo import ZoneInfo

from config.formatting import date_text

NICE_MANTISSAS = (Decimal("1"), Decimal("2"), Decimal("2.5"), Decimal("5"), Decimal("10"))
TIME_STEPS = tuple(
    timedelta(minutes=m)
    for m in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 20160)
)


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


def px(value: float) -> float:
    return round(value, 1)


# --- Values ---------------------------------------------------------------------------------------
def nice_step(
    span: Decimal, ticks: int, *, smallest: Decimal | None = None, whole: bool = False
) -> Decimal:
    """The smallest round step (1, 2, 2.5 or 5 × a power of ten) cutting `span` into at most
    `ticks` parts; at least `smallest`; `whole`: whole numbers only (counts: 1 at least, and
    never 2.5)."""
    if span <= 0:
        return smallest or Decimal("1")
    raw = Decimal(span) / ticks
    power = Decimal(1).scaleb(raw.adjusted())
    step = NICE_MANTISSAS[-1] * power
    for mantissa in NICE_MANTISSAS:
        candidate = mantissa * power
        if candidate >= raw and not (whole and candidate != candidate.to_integral_value()):
            step = candidate
            break
    if whole and step < 1:
        step = Decimal("1")
    return max(step, smallest) if smallest is not None else step


def ceil_to(value: Decimal, step: Decimal) -> Decimal:
    """The smallest multiple of `step` at or above `value`."""
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


def floor_to(value: Decimal, step: Decimal) -> Decimal:
    """The largest multiple of `step` at or below `value`."""
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


@dataclass(frozen=True)
class Scale:
    """Values from `low` to `high` onto positions from `start` to `end` (a y axis runs from the
    plot's bottom up to its top)."""

    low: Decimal
    high: Decimal
    start: float
    end: float

    def __call__(self, value: Decimal) -> float:
        share = float((value - self.low) / (self.high - self.low))
        return px(self.start - share * (self.start - self.end))


def value_ticks(
    low: Decimal, high: Decimal, step: Decimal, *, at: Callable, label: Callable
) -> tuple[Tick, ...]:
    """A tick at every multiple of `step` from `low` to `high`, placed by `at`, named by
    `label`."""
    ticks = []
    value = low
    while value <= high:
        ticks.append(Tick(at(value), label(value)))
        value += step
    return tuple(ticks)


# --- Moments --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TimeScale:
    """Moments from `first` to `last` onto positions from `start` to `end`; a moment outside
    sits at the nearer edge."""

    first: datetime
    last: datetime
    start: float
    end: float

    def __call__(self, at: datetime) -> float:
        at = min(max(at, self.first), self.last)
        seconds = (self.last - self.first).total_seconds()
        return px(
            self.start + (at - self.first).total_seconds() / seconds * (self.end - self.start)
        )


def time_step(span: timedelta, ticks: int) -> timedelta:
    """The smallest round step (minutes, hours, days, weeks) cutting `span` into at most
    `ticks` parts."""
    for step in TIME_STEPS:
        if span / step <= ticks:
            return step
    return TIME_STEPS[-1] * (int(span / TIME_STEPS[-1] / ticks) + 1)


def _first_tick(start: datetime, step: timedelta, tz: ZoneInfo) -> datetime:
    """The first whole step at or after `start`, counted on the tenant's wall clock (so hourly
    ticks fall on the hour there, also in a zone half an hour off UTC)."""
    local = start.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if step >= timedelta(days=1):
        first = midnight if midnight >= local else midnight + timedelta(days=1)
        return first.astimezone(start.tzinfo)
    elapsed = local - midnight
    steps = -(-elapsed // step)
    return (midnight + steps * step).astimezone(start.tzinfo)


def _time_label(at: datetime, tz: ZoneInfo, *, span: timedelta, step: timedelta) -> str:
    local = at.astimezone(tz)
    if step >= timedelta(days=1):
        return date_text(local.date(), year=False)
    if span > timedelta(days=1):
        return f"{date_text(local.date(), year=False)} {local:%H:%M}"
    return f"{local:%H:%M}"


def time_ticks(scale: TimeScale, tz: ZoneInfo, ticks: int) -> tuple[Tick, ...]:
    """At most about `ticks` ticks on round wall-clock moments in `tz` (whole minutes, hours or
    days), labelled with the time, the day, or both, as the span needs."""
    span = scale.last - scale.first
    every = time_step(span, ticks)
    found = []
    moment = _first_tick(scale.first, every, tz)
    while moment <= scale.last:
        found.append(Tick(scale(moment), _time_label(moment, tz, span=span, step=every)))
        moment += every
    return tuple(found)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def day_ticks(scale: TimeScale, tz: ZoneInfo, ticks: int) -> tuple[Tick, ...]:
    """A tick at midnight in `tz` every few days (at most about `ticks` + 1), from the first
    whole day of the scale, labelled with the day."""
    first, last = scale.first.astimezone(tz).date(), scale.last.astimezone(tz).date()
    every = max(1, -(-max((last - first).days, 1) // ticks))
    found = []
    day = first
    if _midnight(day, tz) < scale.first:
        day += timedelta(days=1)
    while _midnight(day, tz) <= scale.last:
        found.append(Tick(scale(_midnight(day, tz)), date_text(day, year=False)))
        day += timedelta(days=every)
    return tuple(found)
