"""The drift chart's geometry (pure: no database, no Django): each channel's cumulative drift over
the drift window as a step line against the ± threshold, as coordinates a template writes into
hand-made SVG with presentation attributes only (the CSP allows no inline style or script).

Drift moves only when a change applies, so each line is a step: flat until a change, then up or
down by that change's share of the planned daily budget. The y axis always shows both threshold
lines; the x axis runs from the window's start (the approval of the current version, or
`drift_window_days` ago, whichever is later) to now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from config.formatting import date_text, percent

WIDTH = 480
HEIGHT = 250
# Room for the y labels on the left and the x labels below; the threshold label sits inside.
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 14, 30
NICE_STEPS = tuple(
    Decimal(s) for s in ("1", "2", "2.5", "5", "10", "20", "25", "50", "100", "200", "250", "500")
)
# One colour and one dash pattern per channel: the pattern tells lines apart without colour.
STROKES = (
    ("#2f5fd0", ""),
    ("#9a5b00", "7 4"),
    ("#1f7a4d", "2 4"),
    ("#7a3fb0", "10 4 2 4"),
    ("#1d2126", "4 2"),
)
THRESHOLD_COLOUR = "#b42318"


@dataclass(frozen=True)
class Step:
    at: datetime
    pct: Decimal  # the cumulative drift after this change


@dataclass(frozen=True)
class Series:
    channel: str
    steps: tuple[Step, ...]  # oldest first; the line starts at 0 at the window's start


@dataclass(frozen=True)
class Line:
    channel: str
    points: str  # "x,y x,y …" for <polyline points>
    colour: str
    dash: str
    end_x: float
    end_y: float
    end_pct: Decimal


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    lines: tuple[Line, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    zero_y: float
    upper_y: float  # +threshold
    lower_y: float  # −threshold
    threshold_label: str

    @property
    def plot_width(self) -> float:
        return self.right - self.left

    @property
    def plot_height(self) -> float:
        return self.bottom - self.top


def _nice_step(span: Decimal, ticks: int = 4) -> Decimal:
    """The smallest round step that cuts `span` into at most `ticks` parts."""
    raw = span / ticks
    for step in NICE_STEPS:
        if step >= raw:
            return step
    return NICE_STEPS[-1] * ((raw / NICE_STEPS[-1]).to_integral_value() + 1)


def _midnight(day, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz)


def _round(value: float) -> float:
    return round(value, 1)


def drift_chart(
    *,
    series: list[Series],
    start: datetime,
    end: datetime,
    threshold: Decimal,
    tz: ZoneInfo,
    width: int = WIDTH,
    height: int = HEIGHT,
) -> Chart:
    """The geometry of the chart: every line a step from 0 at `start` to its last value at
    `end`, both threshold lines inside the y range, a few dated ticks."""
    end = max(end, start + timedelta(minutes=1))
    values = [step.pct for line in series for step in line.steps] + [Decimal("0")]
    threshold = abs(threshold)
    top_value = max(max(values), threshold)
    bottom_value = min(min(values), -threshold)
    step = _nice_step(top_value - bottom_value)
    # Round the range out to whole ticks, with a little headroom above the highest line.
    high = (top_value / step).to_integral_value(rounding="ROUND_CEILING") * step
    low = (bottom_value / step).to_integral_value(rounding="ROUND_FLOOR") * step
    if high <= top_value:
        high += step
    if low >= bottom_value:
        low -= step

    left, right, top, bottom = LEFT, width - RIGHT, TOP, height - BOTTOM
    seconds = (end - start).total_seconds()

    def x(at: datetime) -> float:
        at = min(max(at, start), end)
        return _round(left + (at - start).total_seconds() / seconds * (right - left))

    def y(value: Decimal) -> float:
        return _round(bottom - float((value - low) / (high - low)) * (bottom - top))

    lines = []
    for index, line in enumerate(series):
        colour, dash = STROKES[index % len(STROKES)]
        points = [(x(start), y(Decimal("0")))]
        current = Decimal("0")
        for change in line.steps:
            points.append((x(change.at), y(current)))
            current = change.pct
            points.append((x(change.at), y(current)))
        points.append((x(end), y(current)))
        lines.append(
            Line(
                channel=line.channel,
                points=" ".join(f"{px:g},{py:g}" for px, py in points),
                colour=colour,
                dash=dash,
                end_x=points[-1][0],
                end_y=points[-1][1],
                end_pct=current,
            )
        )

    y_ticks = []
    value = low
    while value <= high:
        y_ticks.append(Tick(y(value), percent(value)))
        value += step

    days = max((end.astimezone(tz).date() - start.astimezone(tz).date()).days, 1)
    every = max(1, -(-days // 4))  # at most about five dated ticks
    x_ticks = []
    day = start.astimezone(tz).date()
    if _midnight(day, tz) < start:
        day += timedelta(days=1)  # the first whole day in the window
    while _midnight(day, tz) <= end:
        x_ticks.append(Tick(x(_midnight(day, tz)), date_text(day, year=False)))
        day += timedelta(days=every)

    return Chart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        lines=tuple(lines),
        y_ticks=tuple(y_ticks),
        x_ticks=tuple(x_ticks),
        zero_y=y(Decimal("0")),
        upper_y=y(threshold),
        lower_y=y(-threshold),
        threshold_label=f"±{percent(threshold)} threshold",
    )
