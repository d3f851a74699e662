"""Chart geometry for the metrics pages (pure: no database, no Django), written by templates as
hand-made SVG with presentation attributes only (the CSP allows no inline style or script), the
way optimization/drift_chart.py draws the drift chart.

Two kinds, both narrow enough to stay legible on a 390 px phone (the viewBox is about as wide as
the phone's column, so a 14-unit label reads as ~13 px there; the stylesheet caps how wide a
chart grows on a desktop at the viewBox's own width, so it reads 14 px there):
- bars: one row per category, the range shown as a thick bar with the range before it as a thin
  bar under it, the label above and the value at the bar's end;
- columns: one column per day, week or month of the range, for counts over time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from config.charts import Tick, ceil_to, nice_step, px, value_ticks

WIDTH = 360
CURRENT_COLOUR = "#2f5fd0"
PREVIOUS_COLOUR = "#9fb0d6"
TEXT_COLOUR = "#1d2126"
MUTED_COLOUR = "#5f6873"
GRID_COLOUR = "#e3e6ea"
MAX_BARS = 10

# Bars: a label line, the current bar, the previous bar, a gap.
LABEL_HEIGHT = 19
CURRENT_BAR = 14
PREVIOUS_BAR = 6
ROW_GAP = 12
ROW_HEIGHT = LABEL_HEIGHT + CURRENT_BAR + 2 + PREVIOUS_BAR + ROW_GAP
VALUE_ROOM = 86  # right of the longest bar, for its value


@dataclass(frozen=True)
class BarInput:
    label: str
    current: float | Decimal | None
    previous: float | Decimal | None = None


@dataclass(frozen=True)
class Bar:
    label: str
    label_y: float
    current_y: float
    current_width: float
    current_text: str
    previous_y: float
    previous_width: float
    previous_text: str
    value_x: float
    value_y: float


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    current_colour: str = CURRENT_COLOUR
    previous_colour: str = PREVIOUS_COLOUR
    current_bar: int = CURRENT_BAR
    previous_bar: int = PREVIOUS_BAR
    hidden: int = 0  # categories past MAX_BARS, left to the table
    is_columns: bool = False


def _number(value) -> float:
    return float(value) if value is not None else 0.0


def bar_chart(
    rows: Sequence[BarInput],
    *,
    text: Callable[[object], str],
    width: int = WIDTH,
    scale_max: float | None = None,
) -> BarChart | None:
    """Horizontal bars of the first MAX_BARS rows (the caller orders them); `text` writes a
    value; `scale_max` fixes the full length (100 for percentages). None: nothing to draw."""
    shown = list(rows[:MAX_BARS])
    if not shown:
        return None
    largest = max(
        [_number(row.current) for row in shown] + [_number(row.previous) for row in shown]
    )
    full = scale_max if scale_max else largest
    room = width - VALUE_ROOM
    bars = []
    for index, row in enumerate(shown):
        top = index * ROW_HEIGHT
        current = _number(row.current)
        previous = _number(row.previous)
        current_width = px(room * current / full) if full else 0
        previous_width = px(room * previous / full) if full else 0
        current_y = top + LABEL_HEIGHT
        bars.append(
            Bar(
                label=row.label,
                label_y=top + LABEL_HEIGHT - 4,
                current_y=current_y,
                current_width=max(current_width, 1 if row.current is not None else 0),
                current_text=text(row.current),
                previous_y=current_y + CURRENT_BAR + 2,
                previous_width=previous_width,
                previous_text=text(row.previous),
                value_x=px(max(current_width, previous_width) + 6),
                value_y=current_y + CURRENT_BAR - 3,
            )
        )
    return BarChart(
        width=width,
        height=len(shown) * ROW_HEIGHT - ROW_GAP + 2,
        bars=tuple(bars),
        hidden=max(len(rows) - MAX_BARS, 0),
    )


# --- Columns over time ----------------------------------------------------------------------------
COLUMN_HEIGHT = 170
LEFT, BOTTOM, TOP = 34, 26, 10


@dataclass(frozen=True)
class Column:
    label: str
    x: float
    y: float
    width: float
    height: float
    value: object
    value_text: str


@dataclass(frozen=True)
class ColumnChart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    columns: tuple[Column, ...]
    y_ticks: tuple[Tick, ...]
    x_ticks: tuple[Tick, ...]
    colour: str = CURRENT_COLOUR
    is_columns: bool = True


def column_chart(
    buckets: Sequence[tuple[str, float | int | Decimal | None]],
    *,
    text: Callable[[object], str] = str,
    width: int = WIDTH,
    height: int = COLUMN_HEIGHT,
    max_labels: int = 6,
) -> ColumnChart | None:
    """One column per (label, value), oldest first; at most `max_labels` labels under the axis."""
    if not buckets:
        return None
    left, right, top, bottom = LEFT, width - 6, TOP, height - BOTTOM
    largest = max(_number(value) for _label, value in buckets)
    # Counts: whole steps, and the highest column reaches the top tick (no headroom).
    step = nice_step(Decimal(str(largest)), 4, whole=True)
    high = float(ceil_to(Decimal(str(largest)), step) if largest else step * 4)
    slot = (right - left) / len(buckets)
    gap = min(slot * 0.25, 6)
    columns = []
    for index, (label, value) in enumerate(buckets):
        size = (bottom - top) * _number(value) / high
        columns.append(
            Column(
                label=label,
                x=px(left + index * slot + gap / 2),
                y=px(bottom - size),
                width=px(max(slot - gap, 1)),
                height=px(size),
                value=value,
                value_text=text(value),
            )
        )
    y_ticks = value_ticks(
        Decimal(0),
        Decimal(str(high)),
        step,
        at=lambda tick: px(bottom - (bottom - top) * float(tick) / high),
        label=lambda tick: text(_tidy(tick)),
    )
    every = max(1, -(-len(buckets) // max_labels))
    x_ticks = tuple(
        Tick(px(left + (index + 0.5) * slot), label)
        for index, (label, _value) in enumerate(buckets)
        if index % every == 0
    )
    return ColumnChart(
        width=width,
        height=height,
        left=left,
        right=right,
        top=top,
        bottom=bottom,
        columns=tuple(columns),
        y_ticks=y_ticks,
        x_ticks=x_ticks,
    )


def _tidy(value: Decimal):
    return int(value) if value == value.to_integral_value() else float(value)
