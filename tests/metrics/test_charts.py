"""The chart geometry and the ranges (pure: no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from metrics import charts
from metrics.periods import bucket_for, bucket_starts, ranges_for

BERLIN = ZoneInfo("Europe/Berlin")


def test_bars_scale_to_the_largest_value_and_leave_room_for_it():
    chart = charts.bar_chart(
        [charts.BarInput("a", 50, 100), charts.BarInput("b", 25, None)], text=str
    )
    room = charts.WIDTH - charts.VALUE_ROOM
    assert [bar.current_width for bar in chart.bars] == [room / 2, room / 4]
    assert chart.bars[0].previous_width == room
    assert chart.bars[1].previous_width == 0
    assert chart.bars[0].value_x == room + 6


def test_percentages_fill_their_bar_at_100():
    (bar,) = charts.bar_chart([charts.BarInput("x", Decimal("25"))], text=str, scale_max=100).bars
    assert bar.current_width == (charts.WIDTH - charts.VALUE_ROOM) / 4


def test_only_the_first_ten_categories_are_drawn_the_rest_are_counted():
    chart = charts.bar_chart([charts.BarInput(str(i), i) for i in range(13)], text=str)
    assert len(chart.bars) == 10 and chart.hidden == 3
    assert chart.height == 10 * charts.ROW_HEIGHT - charts.ROW_GAP + 2


def test_nothing_to_draw_is_no_chart():
    assert charts.bar_chart([], text=str) is None
    assert charts.column_chart([]) is None


def test_columns_over_time_with_round_ticks_and_a_few_labels():
    chart = charts.column_chart([(f"d{i}", i % 4) for i in range(28)], text=str)
    assert len(chart.columns) == 28
    assert [tick.label for tick in chart.y_ticks] == ["0", "1", "2", "3"]
    assert len(chart.x_ticks) <= 6
    tallest = max(chart.columns, key=lambda c: c.height)
    assert tallest.y == chart.top


def test_the_range_before_has_as_many_days_and_ends_the_day_before():
    ranges = ranges_for(
        first=date(2026, 3, 23), last=date(2026, 4, 5), today=date(2026, 4, 5), zone=BERLIN
    )
    assert (ranges.previous.first, ranges.previous.last) == (date(2026, 3, 9), date(2026, 3, 22))
    # Across Berlin's change to summer time on 29 March: 14 days of 24 hours but one of 23.
    assert ranges.current.end - ranges.current.start == timedelta(days=14, hours=-1)
    assert ranges.current.start == datetime(2026, 3, 22, 23, 0, tzinfo=UTC)
    assert ranges.current.end == datetime(2026, 4, 5, 22, 0, tzinfo=UTC)


def test_dates_given_backwards_are_put_in_order_and_a_range_is_capped_at_two_years():
    ranges = ranges_for(
        first=date(2026, 3, 10), last=date(2026, 3, 1), today=date(2026, 3, 20), zone=BERLIN
    )
    assert (ranges.current.first, ranges.current.last) == (date(2026, 3, 1), date(2026, 3, 10))
    long = ranges_for(
        first=date(2020, 1, 1), last=date(2026, 1, 1), today=date(2026, 1, 1), zone=BERLIN
    )
    assert long.current.days == 732


def test_a_chart_over_time_cuts_by_day_week_or_month():
    short = ranges_for(first=None, last=date(2026, 3, 31), today=date(2026, 3, 31), zone=BERLIN)
    assert bucket_for(short.current) == "day" and len(bucket_starts(short.current, "day")) == 28
    quarter = ranges_for(
        first=date(2026, 1, 1), last=date(2026, 3, 31), today=date(2026, 3, 31), zone=BERLIN
    )
    assert bucket_for(quarter.current) == "week"
    assert bucket_starts(quarter.current, "week")[0] == date(2025, 12, 29)  # a Monday
    year = ranges_for(
        first=date(2025, 4, 1), last=date(2026, 3, 31), today=date(2026, 3, 31), zone=BERLIN
    )
    assert bucket_for(year.current) == "month" and len(bucket_starts(year.current, "month")) == 12
