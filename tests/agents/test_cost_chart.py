"""The cost chart's geometry (agents/cost_chart.py): pure, no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from agents.cost_chart import NARROW, WIDE, EstimateStep, Report, cost_chart, spread, thin
from config.charts import nice_step, time_step

START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def points(text: str) -> list[tuple[float, float]]:
    return [tuple(float(v) for v in pair.split(",")) for pair in text.split()]


def chart(reports, estimates=None, multiplier="3", end=None, layout=WIDE, tz=BERLIN):
    return cost_chart(
        reports=reports,
        estimates=estimates or [EstimateStep(START, Decimal("2"))],
        trip_multiplier=Decimal(multiplier),
        start=START,
        end=end or (reports[-1].at if reports else START),
        tz=tz,
        layout=layout,
    )


TRIPPED = [
    Report(at(5), Decimal("1.25"), 1500),
    Report(at(12), Decimal("3.25"), 3000),
    Report(at(20), Decimal("6.50"), 6000),
]


@pytest.mark.parametrize(
    ("span", "ticks", "step"),
    [
        ("6", 5, "2"),
        ("6.5", 5, "2"),
        ("10", 5, "2"),
        ("0.9", 4, "0.25"),
        ("180", 4, "50"),
        ("0.03", 5, "0.01"),
        ("0", 5, "1"),
    ],
)
def test_a_nice_step_is_round_and_cuts_the_span_into_few_parts(span, ticks, step):
    assert nice_step(Decimal(span), ticks) == Decimal(step)


@pytest.mark.parametrize(
    ("span", "step"),
    [
        (timedelta(minutes=3), timedelta(minutes=1)),
        (timedelta(minutes=20), timedelta(minutes=5)),
        (timedelta(hours=5), timedelta(hours=1)),
        (timedelta(days=3), timedelta(hours=12)),
        (timedelta(days=5), timedelta(days=1)),
    ],
)
def test_the_time_step_gives_at_most_the_asked_ticks(span, step):
    assert time_step(span, 6) == step


def test_the_actual_cost_is_a_step_line_from_zero_to_its_total():
    drawn = chart(TRIPPED)
    line = points(drawn.actual_points)

    assert line[0] == (drawn.left, drawn.bottom)  # $0 at the run's start
    assert line[-1][0] == drawn.right
    ys = [y for _x, y in line]
    assert ys == sorted(ys, reverse=True)  # never down: spend only adds up
    # Flat, then straight up at each report: every step is a vertical and a horizontal move.
    assert all(a[0] == b[0] or a[1] == b[1] for a, b in zip(line, line[1:], strict=False))
    assert drawn.actual == Decimal("6.50")


def test_the_trip_line_is_always_on_the_chart_with_headroom_above_the_highest_line():
    calm = chart([Report(at(1), Decimal("0.10"), 100)])
    [trip] = {y for _x, y in points(calm.trip_points)}
    [estimate] = {y for _x, y in points(calm.estimate_points)}

    assert calm.top < trip < estimate < calm.bottom
    assert calm.y_ticks[0].label == "$0"
    assert calm.y_ticks[-1].label == "$8"  # the $6 line, rounded up to a whole step, plus one
    assert calm.trip_line == Decimal("6")


def test_the_estimate_and_the_trip_line_step_up_when_the_estimate_is_raised():
    raised = [EstimateStep(START, Decimal("2")), EstimateStep(at(25), Decimal("4.5"))]
    drawn = chart(TRIPPED, estimates=raised, end=at(30))
    estimate = points(drawn.estimate_points)
    trip = points(drawn.trip_points)

    assert estimate[0][1] > estimate[-1][1]  # higher on screen: a smaller y
    assert trip[-1][1] < trip[0][1]
    assert drawn.trip_line == Decimal("13.5")
    assert drawn.y_ticks[-1].label == "$15"


def test_the_end_labels_never_overprint_when_lines_end_together():
    # Tripped exactly on the line: the actual cost and the trip line end at the same height.
    drawn = chart([Report(at(10), Decimal("6"), 500)])
    ys = sorted(label.y for label in drawn.end_labels)

    assert [label.text for label in drawn.end_labels] == [
        "trip $6",
        "estimate $2",
        "actual $6",
    ]
    assert all(b - a >= WIDE.font_size + 3 for a, b in zip(ys, ys[1:], strict=False))
    assert all(drawn.top <= y <= drawn.bottom for y in ys)


def test_a_phone_layout_names_its_lines_in_the_legend_only():
    drawn = chart(TRIPPED, layout=NARROW)
    assert drawn.end_labels == ()
    assert drawn.right == NARROW.width - NARROW.right
    assert len(drawn.x_ticks) <= NARROW.x_ticks + 1


def test_time_ticks_fall_on_the_tenants_wall_clock():
    drawn = chart(TRIPPED, end=at(200), tz=ZoneInfo("Asia/Kolkata"))  # UTC+05:30
    labels = [tick.label for tick in drawn.x_ticks]

    # Hourly ticks on the hour in Kolkata, not on the UTC hour (which is half past there).
    assert labels and all(label.endswith(":00") for label in labels)
    assert labels[0] == "15:00"  # the run started at 09:00 UTC, 14:30 in Kolkata
    positions = [tick.position for tick in drawn.x_ticks]
    assert all(drawn.left <= x <= drawn.right for x in positions)


def test_a_run_over_days_labels_its_ticks_with_the_day():
    drawn = chart([Report(at(60 * 24 * 5), Decimal("1"), 10)])
    assert [tick.label for tick in drawn.x_ticks][:2] == ["21 Nov", "22 Nov"]


def test_token_bars_are_scaled_to_the_largest_call_in_the_band():
    drawn = chart(TRIPPED)
    heights = [bar.height for bar in drawn.bars]

    assert heights == [14.0, 28.0, 56.0]
    assert all(bar.y + bar.height == drawn.band_bottom for bar in drawn.bars)
    assert drawn.tokens_label == "6,000"
    assert drawn.band_top > drawn.bottom


def test_all_reports_in_one_moment_still_draw_a_readable_span():
    drawn = chart([Report(START, Decimal("1"), 10), Report(START, Decimal("2"), 10)], end=START)
    assert drawn.right - drawn.left > 0
    assert points(drawn.actual_points)[-1][0] == drawn.right


def test_thousands_of_reports_are_thinned_keeping_the_total():
    many = [Report(at(i / 10), Decimal(i) / 100, 10) for i in range(1, 5001)]
    kept = thin(many, 400)

    assert len(kept) <= 401
    assert kept[-1] is many[-1]
    assert chart(many).actual == Decimal("50")


def test_spread_moves_close_labels_apart_and_keeps_them_in_range():
    assert spread([50, 50, 50], gap=10, low=0, high=100) == [50, 60, 70]
    assert spread([98, 99, 100], gap=10, low=0, high=100) == [80, 90, 100]
    assert spread([10, 80], gap=10, low=0, high=100) == [10, 80]
