"""config/formatting.py: one way to write money, changes, percentages, dates and times, so the
same figure reads the same on every page, summary and the portal (no database)."""

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from config.formatting import (
    date_text,
    figure,
    local_time,
    money,
    money_change,
    number,
    percent,
    percent_change,
    to_decimal,
)


@pytest.mark.parametrize(
    ("value", "currency", "text"),
    [
        pytest.param(40000, "EUR", "€40,000", id="symbol-and-grouping-no-cents-when-whole"),
        pytest.param("44800.00", "EUR", "€44,800", id="money-as-json-string"),
        pytest.param("44800.5", "EUR", "€44,800.50", id="cents-show-as-two-digits"),
        pytest.param(Decimal("3.75"), "usd", "$3.75", id="code-in-any-case"),
        pytest.param(Decimal("0.5"), "GBP", "£0.50", id="below-one"),
        pytest.param(1200, "CHF", "CHF 1,200", id="code-before-the-amount-without-a-symbol"),
        pytest.param("1200.10", "chf", "CHF 1,200.10", id="code-upper-cased"),
        pytest.param(4800000, "JPY", "¥4,800,000", id="yen"),
        pytest.param(-1000, "GBP", "−£1,000", id="true-minus-before-the-symbol"),
        pytest.param(-1200, "CHF", "−CHF 1,200", id="true-minus-before-the-code"),
        pytest.param("1.005", "EUR", "€1.01", id="rounded-half-up-to-the-cent"),
        pytest.param("99.999", "EUR", "€100", id="rounding-to-whole-drops-the-cents"),
        pytest.param("-0.001", "EUR", "€0", id="rounding-to-zero-has-no-sign"),
        pytest.param(0, "EUR", "€0", id="zero"),
        pytest.param(46000, "", "46,000", id="no-currency"),
        pytest.param(0.1, "EUR", "€0.10", id="a-float-by-its-text"),
        pytest.param(None, "EUR", "—", id="nothing"),
        pytest.param("", "EUR", "—", id="empty"),
        pytest.param("n/a", "EUR", "n/a", id="text-as-it-is"),
        pytest.param(True, "EUR", "True", id="a-boolean-is-not-money"),
        pytest.param("NaN", "EUR", "NaN", id="not-a-number-is-text"),
    ],
)
def test_money(value, currency, text):
    assert money(value, currency) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(4800, "+€4,800", id="up"),
        pytest.param("-6000.00", "−€6,000", id="down"),
        pytest.param("0.00", "€0", id="no-change-has-no-sign"),
        pytest.param("0.004", "€0", id="a-change-that-rounds-to-nothing"),
        pytest.param("12.5", "+€12.50", id="cents"),
        pytest.param(None, "—", id="nothing"),
    ],
)
def test_a_money_change_carries_its_sign(value, text):
    assert money_change(value, "EUR") == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(12, "12%", id="whole"),
        pytest.param("12.0", "12%", id="zero-decimal-dropped"),
        pytest.param("6.94", "6.9%", id="one-decimal"),
        pytest.param("16.65", "16.7%", id="rounded-half-up"),
        pytest.param(Decimal("100"), "100%", id="hundred"),
        pytest.param("-20.0", "−20%", id="true-minus"),
        pytest.param(0, "0%", id="zero"),
        pytest.param(None, "—", id="nothing"),
        pytest.param("n/a", "n/a", id="text-as-it-is"),
    ],
)
def test_percent(value, text):
    assert percent(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param("12.0", "+12%", id="up"),
        pytest.param("2.9", "+2.9%", id="up-with-a-decimal"),
        pytest.param("-7.5", "−7.5%", id="down"),
        pytest.param("0.0", "0%", id="no-change-has-no-sign"),
        pytest.param("0.04", "0%", id="a-change-that-rounds-to-nothing"),
        pytest.param(None, "new", id="from-nothing"),
        pytest.param("added", "added", id="text-as-it-is"),
    ],
)
def test_a_percentage_change_carries_its_sign_or_says_new(value, text):
    assert percent_change(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param("40000.00", "40,000", id="zero-fraction-dropped"),
        pytest.param(Decimal("1234.5"), "1,234.5", id="decimals-kept"),
        pytest.param("1234.50", "1,234.50", id="decimals-kept-as-given"),
        pytest.param(44800, "44,800", id="integer"),
        pytest.param("-0.50", "−0.50", id="true-minus-below-one"),
        pytest.param("2026-11-01", "2026-11-01", id="a-date-stays-text"),
        pytest.param(None, "—", id="nothing"),
    ],
)
def test_number(value, text):
    assert number(value) == text


@pytest.mark.parametrize(
    ("value", "year", "text"),
    [
        pytest.param(date(2026, 12, 1), True, "1 Dec 2026", id="a-date"),
        pytest.param("2027-01-31", True, "31 Jan 2027", id="an-iso-string"),
        pytest.param("2026-12-01", False, "1 Dec", id="inside-a-sentence"),
        pytest.param("soon", True, "soon", id="text-as-it-is"),
        pytest.param(None, True, "—", id="nothing"),
    ],
)
def test_date_text(value, year, text):
    assert date_text(value, year=year) == text


@pytest.mark.parametrize(
    ("moment", "tz_name", "seconds", "text"),
    [
        pytest.param(
            datetime(2026, 11, 21, 13, 5, tzinfo=UTC),
            "Europe/Berlin",
            False,
            "21 Nov 2026 14:05 CET",
            id="winter-time",
        ),
        pytest.param(
            datetime(2026, 7, 1, 8, 0, tzinfo=UTC),
            "Europe/Berlin",
            False,
            "1 Jul 2026 10:00 CEST",
            id="summer-time-and-no-leading-zero",
        ),
        pytest.param(
            datetime(2026, 11, 20, 15, 30, tzinfo=UTC),
            "America/New_York",
            False,
            "20 Nov 2026 10:30 EST",
            id="another-zone",
        ),
        pytest.param(
            datetime(2026, 3, 1, 23, 30, 9, tzinfo=UTC),
            "Europe/Berlin",
            True,
            "2 Mar 2026 00:30:09 CET",
            id="with-seconds-across-midnight",
        ),
        pytest.param(
            datetime(2026, 11, 21, 14, 5, tzinfo=timezone(timedelta(hours=1))),
            "",
            False,
            "21 Nov 2026 13:05 UTC",
            id="no-zone-is-utc",
        ),
        pytest.param(None, "Europe/Berlin", False, "—", id="nothing"),
    ],
)
def test_local_time(moment, tz_name, seconds, text):
    assert local_time(moment, tz_name, seconds=seconds) == text


@pytest.mark.parametrize(
    ("kind", "value", "text"),
    [
        pytest.param("money", "40000.00", "€40,000", id="money"),
        pytest.param("money_change", "4800.00", "+€4,800", id="money-change"),
        pytest.param("percent", "60.0", "60%", id="percent"),
        pytest.param("percent_change", None, "new", id="percent-change"),
    ],
)
def test_a_figure_is_written_by_the_rule_of_its_kind(kind, value, text):
    assert figure(kind, value, "EUR") == text


def test_the_same_figure_reads_the_same_as_a_cell_and_in_a_sentence():
    # The diff's JSON string, a Decimal and an int are one amount, written one way.
    assert money("44800.00", "EUR") == money(Decimal("44800"), "EUR") == money(44800, "EUR")
    assert percent_change("12.0") == f"+{percent('12.0')}"
    assert money_change("-6000.00", "EUR") == money("-6000.00", "EUR")


def test_only_finite_numbers_are_numbers():
    assert to_decimal(" 12.5 ") == Decimal("12.5")
    assert to_decimal("Infinity") is None
    assert to_decimal(False) is None
    assert to_decimal([1]) is None
