"""The run's cost chart as geometry (pure: no database, no Django): the cumulative actual cost
from the spend reports against the estimate and the Cost Guard's trip line, with each report's
tokens as bars in a band below, as coordinates a template writes into hand-made SVG with
presentation attributes only (the CSP allows no inline style or script).

Spend only moves when a report arrives, so the actual cost is a step line: flat, then up by the
report's cost. The estimate is a step line too (an operator may raise it when clearing an A9),
and the trip line follows it at `trip_multiplier` × the estimate. The y axis always shows the
trip line, so "how close to the line" reads at a glance. Times on the x axis are in the
tenant's time zone.

The same geometry is drawn twice, wide and narrow (a phone gets its own layout rather than a
wide chart shrunk until its labels are unreadable).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from config.charts import Scale, Tick, TimeScale, ceil_to, nice_step, px, time_ticks, value_ticks
from config.formatting import money, number

MAX_POINTS = 400  # more reports than this are thinned (the last one is always kept)
MIN_SPAN = timedelta(minutes=1)

ACTUAL_COLOUR = "#2f5fd0"
ESTIMATE_COLOUR = "#5f6873"
TRIP_COLOUR = "#b42318"
TOKENS_COLOUR = "#b8c6ea"


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    left: int  # room for the money labels
    right: int
    top: int
    tokens_band: int  # the height of the token bars' band under the cost plot
    gap: int
    bottom: int  # room for the time labels
    font_size: int
    x_ticks: int
    y_ticks: int


WIDE = Layout(720, 330, 64, 124, 16, 56, 14, 30, 13, 6, 5)
NARROW = Layout(360, 300, 54, 12, 16, 48, 12, 28, 12, 3, 4)


@dataclass(frozen=True)
class Report:
    at: datetime
    actual_after: Decimal  # the run's actual cost after this report
    tokens: int


@dataclass(frozen=True)
class EstimateStep:
    at: datetime
    estimate: Decimal


@dataclass(frozen=True)
class EndLabel:
    """A line's name and value at its right end, moved apart from the others when they meet."""

    y: float
    text: str
    colour: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    layout: Layout
    left: float
    right: float
    top: float
    bottom: float  # of the cost plot
    band_top: float
    band_bottom: float
    actual_points: str  # "x,y x,y …" for <polyline points>
    estimate_points: str
    trip_points: str
    actual_end: tuple[float, float]
    estimate_end_y: float
    trip_end_y: float
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    bars: tuple[Bar, ...]
    end_labels: tuple[EndLabel, ...]  # empty when the layout has no room right of the plot
    tokens_max: int
    actual: Decimal
    estimate: Decimal
    trip_line: Decimal

    @property
    def width(self) -> int:
        return self.layout.width

    @property
    def height(self) -> int:
        return self.layout.height

    @property
    def plot_width(self) -> float:
        return self.right - self.left

    @property
    def plot_height(self) -> float:
        return self.bottom - self.top

    @property
    def tokens_label(self) -> str:
        return number(self.tokens_max)

    @property
    def band_height(self) -> float:
        return self.band_bottom - self.band_top


def labels_inside(layout: Layout) -> bool:
    """A layout without room right of the plot (a phone's) names its lines in the legend only."""
    return layout.right < 60


def thin(reports: list[Report], limit: int = MAX_POINTS) -> list[Report]:
    """At most `limit` reports, evenly spread, the last one always kept (it is the total)."""
    if len(reports) <= limit:
        return reports
    stride = -(-len(reports) // (limit - 1))
    kept = reports[::stride]
    if kept[-1] is not reports[-1]:
        kept.append(reports[-1])
    return kept


def spread(positions: list[float], *, gap: float, low: float, high: float) -> list[float]:
    """`positions` moved apart to at least `gap` each, kept within [low, high], order kept
    (labels of lines that end close together must not overprint each other)."""
    order = sorted(range(len(positions)), key=lambda i: positions[i])
    placed = [positions[i] for i in order]
    for k in range(1, len(placed)):
        placed[k] = max(placed[k], placed[k - 1] + gap)
    overflow = placed[-1] - high if placed else 0
    if overflow > 0:
        placed = [p - overflow for p in placed]
        for k in range(len(placed) - 2, -1, -1):
            placed[k] = min(placed[k], placed[k + 1] - gap)
    placed = [max(p, low) for p in placed]
    result = [0.0] * len(positions)
    for k, i in enumerate(order):
        result[i] = px(placed[k])
    return result


def _steps(
    changes: list[tuple[datetime, Decimal]], first: Decimal, *, x: TimeScale, y: Scale
) -> list[tuple[float, float]]:
    """A step line's points: flat at `first` from the start, then at each change up or down to
    its value, flat again to the end."""
    points = [(x(x.first), y(first))]
    current = first
    for at, value in changes:
        points.append((x(at), y(current)))
        points.append((x(at), y(value)))
        current = value
    points.append((x(x.last), y(current)))
    return points


def _points_text(points: list[tuple[float, float]]) -> str:
    return " ".join(f"{px_},{py}" for px_, py in points)


def _token_bars(reports: list[Report], *, x: TimeScale, layout: Layout) -> tuple[Bar, ...]:
    """Each report's tokens as a bar in the band under the cost plot, its height relative to the
    largest report's."""
    tokens_max = max((r.tokens for r in reports), default=0)
    left, right = x.start, x.end
    band_bottom = layout.height - layout.bottom
    bar_width = px(max(2.0, min(10.0, (right - left) / max(len(reports), 1) * 0.6)))
    bars = []
    for report in reports:
        if not tokens_max or not report.tokens:
            continue
        height = px(max(1.0, report.tokens / tokens_max * layout.tokens_band))
        centre = x(report.at)
        bars.append(
            Bar(
                x=px(min(max(centre - bar_width / 2, left), right - bar_width)),
                y=px(band_bottom - height),
                width=bar_width,
                height=height,
            )
        )
    return tuple(bars)


def _end_labels(
    ends: list[tuple[float, str, str]], *, layout: Layout, top: float, bottom: float
) -> tuple[EndLabel, ...]:
    """The lines' (end y, text, colour) as labels right of the plot, moved apart; none where the
    layout has no room there."""
    if labels_inside(layout):
        return ()
    ys = spread(
        [position for position, _text, _colour in ends],
        gap=layout.font_size + 3,
        low=top + layout.font_size / 2,
        high=bottom,
    )
    return tuple(
        EndLabel(label_y, text, colour)
        for label_y, (_position, text, colour) in zip(ys, ends, strict=True)
    )


def _money_axis(highest: Decimal, ticks: int) -> tuple[Decimal, Decimal]:
    """The y axis's step and top: whole steps above the highest line, with headroom (the
    highest line never sits on the frame)."""
    step = nice_step(highest, ticks)
    high = ceil_to(highest, step)
    return step, high + step if high <= highest else high


def cost_chart(
    *,
    reports: list[Report],
    estimates: list[EstimateStep],
    trip_multiplier: Decimal,
    start: datetime,
    end: datetime,
    tz: ZoneInfo,
    layout: Layout = WIDE,
) -> Chart:
    """The geometry: the actual cost from 0 at `start` stepping up at each report to `end`, the
    estimate and the trip line as steps, money ticks that always include the trip line, a few
    time ticks in `tz`, and the tokens of each report as a bar in the band below."""
    # Long on purpose: the chart's geometry built in drawing order (steps, estimate, trip line,
    # ticks, token bars) over one set of scales from config/charts.py.
    # Over 60 lines only by the Chart's 21 fields, set in one place; the parts are the helpers.
    if not estimates:
        raise ValueError("a run always has an estimate")
    reports = thin(sorted(reports, key=lambda r: r.at))
    estimates = sorted(estimates, key=lambda e: e.at)
    end = max(end, *(r.at for r in reports), *(e.at for e in estimates), start + MIN_SPAN)
    actual = reports[-1].actual_after if reports else Decimal("0")
    estimate = estimates[-1].estimate
    trip_line = estimate * trip_multiplier

    highest = max(
        [
            actual,
            *(r.actual_after for r in reports),
            *(e.estimate * trip_multiplier for e in estimates),
        ]
    )
    step, high = _money_axis(highest, layout.y_ticks)

    band_bottom = layout.height - layout.bottom
    band_top = band_bottom - layout.tokens_band
    top, bottom = layout.top, band_top - layout.gap
    x = TimeScale(first=start, last=end, start=layout.left, end=layout.width - layout.right)
    y = Scale(low=Decimal("0"), high=high, start=bottom, end=top)

    actual_points = _steps([(r.at, r.actual_after) for r in reports], Decimal("0"), x=x, y=y)
    first = estimates[0].estimate
    estimate_points = _steps([(e.at, e.estimate) for e in estimates[1:]], first, x=x, y=y)
    trip_points = _steps(
        [(e.at, e.estimate * trip_multiplier) for e in estimates[1:]],
        first * trip_multiplier,
        x=x,
        y=y,
    )
    ends = [
        (trip_points[-1][1], f"trip {money(trip_line, 'USD')}", TRIP_COLOUR),
        (estimate_points[-1][1], f"estimate {money(estimate, 'USD')}", ESTIMATE_COLOUR),
        (actual_points[-1][1], f"actual {money(actual, 'USD')}", ACTUAL_COLOUR),
    ]
    return Chart(
        layout=layout,
        left=x.start,
        right=x.end,
        top=top,
        bottom=bottom,
        band_top=band_top,
        band_bottom=band_bottom,
        actual_points=_points_text(actual_points),
        estimate_points=_points_text(estimate_points),
        trip_points=_points_text(trip_points),
        actual_end=actual_points[-1],
        estimate_end_y=estimate_points[-1][1],
        trip_end_y=trip_points[-1][1],
        y_ticks=value_ticks(Decimal("0"), high, step, at=y, label=lambda v: money(v, "USD")),
        x_ticks=time_ticks(x, tz, layout.x_ticks),
        bars=_token_bars(reports, x=x, layout=layout),
        end_labels=_end_labels(ends, layout=layout, top=top, bottom=bottom),
        tokens_max=max((r.tokens for r in reports), default=0),
        actual=actual,
        estimate=estimate,
        trip_line=trip_line,
    )
