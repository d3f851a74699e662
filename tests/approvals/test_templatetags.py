"""approvals_ui filters: how diff cells, preview budget tables and red-flag figures read."""

from __future__ import annotations

from decimal import Decimal

import pytest

from approvals.templatetags.approvals_ui import (
    cost_ratio,
    diff_cell,
    is_number,
    preview_cell,
    preview_column_class,
    verdict_button_class,
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        pytest.param(None, "—", id="missing"),
        pytest.param(True, "yes", id="boolean"),
        pytest.param(44800, "44,800", id="integer"),
        pytest.param(Decimal("1234.5"), "1,234.5", id="decimal"),
        pytest.param("40000.00", "40,000", id="money-as-json-string-as-money-reads"),
        pytest.param("-0.50", "−0.50", id="negative-below-one"),
        pytest.param("1e3", "1e3", id="only-plain-numbers-are-numbers"),
        pytest.param("2026-11-01", "2026-11-01", id="a-date-stays-a-date"),
        pytest.param(["DE", "AT"], "DE, AT", id="list"),
        pytest.param({"cpa": 40}, '{"cpa": 40}', id="object-as-json"),
    ],
)
def test_a_diff_cell_reads_plainly(value, text):
    assert diff_cell(value) == text


PLAN_TABLE = {
    "currency": "EUR",
    "columns": ["Channel", "Platform", "Before", "After", "Change", "Change %"],
    "formats": ["text", "text", "money", "money", "money_change", "percent_change"],
}


@pytest.mark.parametrize(
    ("index", "cell", "total", "html"),
    [
        pytest.param(0, "Search", False, "<td>Search</td>", id="text"),
        pytest.param(2, "40000.00", False, '<td class="num">€40,000</td>', id="money"),
        pytest.param(4, "4800.00", False, '<td class="num">+€4,800</td>', id="money-change"),
        pytest.param(4, "0.00", False, '<td class="num">€0</td>', id="no-change"),
        pytest.param(5, "12.0", False, '<td class="num">+12%</td>', id="percent-change"),
        pytest.param(5, None, False, '<td class="num">new</td>', id="from-nothing"),
        pytest.param(5, "added", False, '<td class="num">added</td>', id="older-previews-words"),
        pytest.param(0, "Total", True, '<th scope="row">Total</th>', id="totals-head"),
    ],
)
def test_a_preview_table_writes_each_column_by_its_figure_kind(index, cell, total, html):
    assert preview_cell(PLAN_TABLE, index, cell, total=total) == html


@pytest.mark.parametrize(
    ("index", "cell", "total", "html"),
    [
        pytest.param(1, 40000, False, '<td class="num">€40,000</td>', id="a-number-is-money"),
        pytest.param(3, "+18%", False, "<td>+18%</td>", id="text-as-it-is"),
        pytest.param(0, "Total", True, '<th scope="row">Total</th>', id="totals-head"),
    ],
)
def test_a_preview_table_without_formats_writes_numbers_as_money(index, cell, total, html):
    table = {"currency": "EUR", "columns": ["Channel", "Before", "After", "Change"]}
    assert preview_cell(table, index, cell, total=total) == html


def test_an_agents_malformed_formats_are_ignored():
    table = {"currency": "EUR", "formats": "money"}
    assert preview_cell(table, 1, 500) == '<td class="num">€500</td>'
    assert preview_cell({"formats": [None, {"x": 1}]}, 1, 5) == "<td>5</td>"
    assert preview_column_class({"formats": [None, {"x": 1}]}, 1) == ""


def test_columns_of_figures_are_right_aligned():
    assert [preview_column_class(PLAN_TABLE, i) for i in range(6)] == [
        "",
        "",
        "num",
        "num",
        "num",
        "num",
    ]
    assert [preview_column_class({"columns": ["a", "b"]}, i) for i in range(2)] == ["", "num"]


def test_a_boolean_is_not_a_number():
    assert not is_number(True) and is_number("12.5") and not is_number("12%")


def test_approve_and_reject_buttons_are_told_apart():
    assert verdict_button_class("approve") == "btn-primary"
    assert verdict_button_class("reject") == "btn-danger"
    assert verdict_button_class("request_changes") == ""


def test_the_cost_ratio_says_how_many_times_the_estimate_was_spent():
    assert cost_ratio({"estimated_usd": "1.20", "actual_usd": "3.75"}) == "3.1×"
    assert cost_ratio({"estimated_usd": "2", "actual_usd": "6.50"}) == "3.3×"  # half up
    assert cost_ratio({"estimated_usd": "0", "actual_usd": "3.75"}) == ""
    assert cost_ratio(None) == ""
