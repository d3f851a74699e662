"""The drift chart's geometry (optimization/drift_chart.py): pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from optimization.drift_chart import HEIGHT, WIDTH, Series, Step, drift_chart

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
END = START + timedelta(days=9)


def points(line) -> list[tuple[float, float]]:
    return [tuple(map(float, pair.split(","))) for pair in line.points.split()]


def test_a_line_is_a_step_from_zero_at_the_start_to_its_last_value_at_the_end():
    chart = drift_chart(
        series=[
            Series(
                "search",
                (
                    Step(START + timedelta(days=2), Decimal("10")),
                    Step(START + timedelta(days=5), Decimal("20")),
                ),
            )
        ],
        start=START,
        end=END,
        threshold=Decimal("15"),
        tz=BERLIN,
    )
    (line,) = chart.lines
    drawn = points(line)
    assert drawn[0] == (chart.left, chart.zero_y)
    assert drawn[-1][0] == chart.right
    # Flat, then straight up at each change: x repeats, y moves.
    assert drawn[1][0] == drawn[2][0] and drawn[1][1] == chart.zero_y
    assert drawn[3][0] == drawn[4][0] and drawn[3][1] == drawn[2][1]
    assert line.end_pct == Decimal("20")
    # 20% is above the +15% line: smaller y is higher on the screen.
    assert line.end_y < chart.upper_y < chart.zero_y < chart.lower_y


def test_both_threshold_lines_show_even_when_nothing_drifted():
    chart = drift_chart(
        series=[Series("search", ())], start=START, end=END, threshold=Decimal("15"), tz=BERLIN
    )
    assert chart.top < chart.upper_y < chart.zero_y < chart.lower_y < chart.bottom
    assert chart.threshold_label == "±15% threshold"
    labels = [tick.label for tick in chart.y_ticks]
    assert "0%" in labels and labels[0].startswith("−")


def test_every_point_stays_inside_the_plot_whatever_the_values():
    chart = drift_chart(
        series=[
            Series("search", (Step(START + timedelta(days=1), Decimal("-140")),)),
            Series("social", (Step(START + timedelta(days=3), Decimal("61.5")),)),
        ],
        start=START,
        end=END,
        threshold=Decimal("15"),
        tz=BERLIN,
    )
    for line in chart.lines:
        for x, y in points(line):
            assert chart.left <= x <= chart.right
            assert chart.top <= y <= chart.bottom
    assert [line.dash for line in chart.lines][0] != [line.dash for line in chart.lines][1]
    assert (chart.width, chart.height) == (WIDTH, HEIGHT)


def test_the_x_axis_is_dated_in_the_tenants_time_zone_with_a_few_ticks():
    chart = drift_chart(
        series=[], start=START, end=START + timedelta(days=30), threshold=Decimal("15"), tz=BERLIN
    )
    assert 3 <= len(chart.x_ticks) <= 6
    assert chart.x_ticks[0].label == "2 Nov"
    positions = [tick.position for tick in chart.x_ticks]
    assert positions == sorted(positions)


def test_a_window_of_no_length_still_draws():
    chart = drift_chart(
        series=[Series("search", (Step(START, Decimal("28")),))],
        start=START,
        end=START,
        threshold=Decimal("15"),
        tz=BERLIN,
    )
    assert chart.lines[0].end_pct == Decimal("28")
    assert chart.right > chart.left
