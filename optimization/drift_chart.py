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

from config.charts import (
    Scale,
    Tick,
    TimeScale,
    ceil_to,
    day_ticks,
    floor_to,
    nice_step,
    value_ticks,
)
from config.formatting import percent

WIDTH = 480
HEIGHT = 250
# Room for the y labels on the left and the x labels below; the threshold label sits inside.
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 14, 30
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


def _line(series: Series, index: int, *, x: TimeScale, y: Scale) -> Line:
    """One channel's step line from 0 at the window's start to its last value at the end."""
    colour, dash = STROKES[index % len(STROKES)]
    points = [(x(x.first), y(Decimal("0")))]
    current = Decimal("0")
    for change in series.steps:
        points.append((x(change.at), y(current)))
        current = change.pct
        points.append((x(change.at), y(current)))
    points.append((x(x.last), y(current)))
    return Line(
        channel=series.channel,
        points=" ".join(f"{px:g},{py:g}" for px, py in points),
        colour=colour,
        dash=dash,
        end_x=points[-1][0],
        end_y=points[-1][1],
        end_pct=current,
    )


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
    step = nice_step(top_value - bottom_value, 4, smallest=Decimal("1"))
    # Round the range out to whole ticks, with a little headroom above the highest line.
    high, low = ceil_to(top_value, step), floor_to(bottom_value, step)
    if high <= top_value:
        high += step
    if low >= bottom_value:
        low -= step

    top, bottom = TOP, height - BOTTOM
    x = TimeScale(first=start, last=end, start=LEFT, end=width - RIGHT)
    y = Scale(low=low, high=high, start=bottom, end=top)
    return Chart(
        width=width,
        height=height,
        left=x.start,
        right=x.end,
        top=top,
        bottom=bottom,
        lines=tuple(_line(line, index, x=x, y=y) for index, line in enumerate(series)),
        y_ticks=value_ticks(low, high, step, at=y, label=percent),
        x_ticks=day_ticks(x, tz, 4),
        zero_y=y(Decimal("0")),
        upper_y=y(threshold),
        lower_y=y(-threshold),
        threshold_label=f"±{percent(threshold)} threshold",
    )
