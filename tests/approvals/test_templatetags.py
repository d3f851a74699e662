"""approvals_ui filters: how diff cells, money and red-flag figures read."""

from __future__ import annotations

from decimal import Decimal

import pytest

from approvals.templatetags.approvals_ui import cost_ratio, diff_cell, is_number, money


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(None, "—", id="missing"),
        pytest.param(True, "yes", id="boolean"),
        pytest.param(44800, "44,800", id="integer"),
        pytest.param(Decimal("1234.5"), "1,234.5", id="decimal"),
        pytest.param("40000.00", "40,000.00", id="money-as-json-string"),
        pytest.param("-0.50", "-0.50", id="negative-below-one"),
        pytest.param("2026-11-01", "2026-11-01", id="a-date-stays-a-date"),
        pytest.param(["DE", "AT"], "DE, AT", id="list"),
        pytest.param({"cpa": 40}, '{"cpa": 40}', id="object-as-json"),
    ],
)
def test_a_diff_cell_reads_plainly(value, text):
    assert diff_cell(value) == text


@pytest.mark.parametrize(
    ("value", "currency", "text"),
    [
        pytest.param(40000, "EUR", "€40,000.00", id="euro"),
        pytest.param("3.75", "USD", "$3.75", id="dollars-from-a-string"),
        pytest.param(-500, "EUR", "−€500.00", id="negative"),
        pytest.param(12, "CHF", "12.00 CHF", id="no-symbol"),
        pytest.param("n/a", "EUR", "n/a", id="not-a-number"),
    ],
)
def test_money_is_grouped_with_its_currency(value, currency, text):
    assert money(value, currency) == text


def test_a_boolean_is_not_a_number():
    assert not is_number(True) and is_number("12.5") and not is_number("12%")


def test_the_cost_ratio_says_how_many_times_the_estimate_was_spent():
    assert cost_ratio({"estimated_usd": "1.20", "actual_usd": "3.75"}) == "3.1×"
    assert cost_ratio({"estimated_usd": "0", "actual_usd": "3.75"}) == ""
    assert cost_ratio(None) == ""
