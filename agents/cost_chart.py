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
from decimal import ROUND_CEILING, Decimal
from zoneinfo import ZoneInfo

from config.formatting import date_text, money, number

NICE_MANTISSAS = (Decimal("1"), Decimal("2"), Decimal("2.5"), Decimal("5"), Decimal("10"))
TIME_STEPS = tuple(
    timedelta(minutes=m)
    for m in (1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 20160)
)
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
class Tick:
    position: float
    label: str


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


def nice_step(span: Decimal, ticks: int) -> Decimal:
    """The smallest round step (1, 2, 2.5 or 5 × a power of ten) cutting `span` into at most
    `ticks` parts."""
    if span <= 0:
        return Decimal("1")
    raw = span / ticks
    power = Decimal(1).scaleb(raw.adjusted())
    for mantissa in NICE_MANTISSAS:
        step = mantissa * power
        if step >= raw:
            return step
    return NICE_MANTISSAS[-1] * power


def time_step(span: timedelta, ticks: int) -> timedelta:
    for step in TIME_STEPS:
        if span / step <= ticks:
            return step
    return TIME_STEPS[-1] * (int(span / TIME_STEPS[-1] / ticks) + 1)


def thin(reports: list[Report], limit: int = MAX_POINTS) -> list[Report]:
    """At most `limit` reports, evenly spread, the last one always kept (it is the total)."""
    if len(reports) <= limit:
        return reports
    stride = -(-len(reports) // (limit - 1))
    kept = reports[::stride]
    if kept[-1] is not reports[-1]:
        kept.append(reports[-1])
    return kept


def _time_label(at: datetime, tz: ZoneInfo, *, span: timedelta, step: timedelta) -> str:
    local = at.astimezone(tz)
    if step >= timedelta(days=1):
        return date_text(local.date(), year=False)
    if span > timedelta(days=1):
        return f"{date_text(local.date(), year=False)} {local:%H:%M}"
    return f"{local:%H:%M}"


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


def _round(value: float) -> float:
    return round(value, 1)


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
        result[i] = _round(placed[k])
    return result


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
    if not estimates:
        raise ValueError("a run always has an estimate")
    reports = thin(sorted(reports, key=lambda r: r.at))
    estimates = sorted(estimates, key=lambda e: e.at)
    last_moment = max([end, *(r.at for r in reports), *(e.at for e in estimates)])
    end = max(last_moment, start + MIN_SPAN)
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
    step = nice_step(highest, layout.y_ticks)
    high = (highest / step).to_integral_value(rounding=ROUND_CEILING) * step
    if high <= highest:
        high += step  # headroom: the highest line never sits on the frame

    left = layout.left
    right = layout.width - layout.right
    top = layout.top
    band_bottom = layout.height - layout.bottom
    band_top = band_bottom - layout.tokens_band
    bottom = band_top - layout.gap
    seconds = (end - start).total_seconds()

    def x(at: datetime) -> float:
        at = min(max(at, start), end)
        return _round(left + (at - start).total_seconds() / seconds * (right - left))

    def y(value: Decimal) -> float:
        return _round(bottom - float(value / high) * (bottom - top))

    def steps(changes: list[tuple[datetime, Decimal]], first: Decimal) -> list[tuple]:
        points = [(x(start), y(first))]
        current = first
        for at, value in changes:
            points.append((x(at), y(current)))
            points.append((x(at), y(value)))
            current = value
        points.append((x(end), y(current)))
        return points

    def text(points: list[tuple]) -> str:
        return " ".join(f"{px},{py}" for px, py in points)

    actual_points = steps([(r.at, r.actual_after) for r in reports], Decimal("0"))
    first_estimate = estimates[0].estimate
    estimate_changes = [(e.at, e.estimate) for e in estimates[1:]]
    estimate_points = steps(estimate_changes, first_estimate)
    trip_points = steps(
        [(at, value * trip_multiplier) for at, value in estimate_changes],
        first_estimate * trip_multiplier,
    )

    y_ticks = []
    value = Decimal("0")
    while value <= high:
        y_ticks.append(Tick(y(value), money(value, "USD")))
        value += step

    span = end - start
    every = time_step(span, layout.x_ticks)
    x_ticks = []
    moment = _first_tick(start, every, tz)
    while moment <= end:
        x_ticks.append(Tick(x(moment), _time_label(moment, tz, span=span, step=every)))
        moment += every

    tokens_max = max((r.tokens for r in reports), default=0)
    bar_width = _round(max(2.0, min(10.0, (right - left) / max(len(reports), 1) * 0.6)))
    bars = []
    for report in reports:
        if not tokens_max or not report.tokens:
            continue
        height = _round(max(1.0, report.tokens / tokens_max * layout.tokens_band))
        centre = x(report.at)
        bars.append(
            Bar(
                x=_round(min(max(centre - bar_width / 2, left), right - bar_width)),
                y=_round(band_bottom - height),
                width=bar_width,
                height=height,
            )
        )

    end_labels: tuple[EndLabel, ...] = ()
    if not labels_inside(layout):
        named = [
            (trip_points[-1][1], f"trip {money(trip_line, 'USD')}", TRIP_COLOUR),
            (estimate_points[-1][1], f"estimate {money(estimate, 'USD')}", ESTIMATE_COLOUR),
            (actual_points[-1][1], f"actual {money(actual, 'USD')}", ACTUAL_COLOUR),
        ]
        ys = spread(
            [position for position, _text, _colour in named],
            gap=layout.font_size + 3,
            low=top + layout.font_size / 2,
            high=bottom,
        )
        end_labels = tuple(
            EndLabel(label_y, text, colour)
            for label_y, (_position, text, colour) in zip(ys, named, strict=True)
        )

    return Chart(
        layout=layout,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        band_top=band_top,
        band_bottom=band_bottom,
        actual_points=text(actual_points),
        estimate_points=text(estimate_points),
        trip_points=text(trip_points),
        actual_end=actual_points[-1],
        estimate_end_y=estimate_points[-1][1],
        trip_end_y=trip_points[-1][1],
        y_ticks=tuple(y_ticks),
        x_ticks=tuple(x_ticks),
        bars=tuple(bars),
        end_labels=end_labels,
        tokens_max=tokens_max,
        actual=actual,
        estimate=estimate,
        trip_line=trip_line,
    )
