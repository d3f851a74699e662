"""The plan pages' presentation helpers: money, changes and percentages as a client reads them,
times in the tenant's zone, statuses and paths as labels with words."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from plans.templatetags.plans_ui import (
    dash,
    local_time,
    money,
    path_label,
    payload_total,
    pct,
    signed_money,
    status_label,
)


@pytest.mark.parametrize(
    ("value", "currency", "shown"),
    [
        pytest.param(46000, "EUR", "€46,000.00", id="euro symbol and grouping"),
        pytest.param("1234.5", "usd", "$1,234.50", id="currency code in any case"),
        pytest.param(Decimal("-1000"), "GBP", "−£1,000.00", id="minus sign before the symbol"),
        pytest.param(500, "CHF", "500.00 CHF", id="code after the amount without a symbol"),
        pytest.param(None, "EUR", "—", id="no value"),
        pytest.param("n/a", "EUR", "n/a", id="text shown as it is"),
    ],
)
def test_money_reads_the_way_a_client_reads_it(value, currency, shown):
    assert money(value, currency) == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param(4800, "+€4,800.00", id="up"),
        pytest.param(-1000, "−€1,000.00", id="down"),
        pytest.param(0, "±0", id="unchanged"),
        pytest.param(None, "—", id="no value"),
    ],
)
def test_a_budget_change_carries_its_sign(value, shown):
    assert signed_money(value, "EUR") == shown


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param(12, "+12.0%", id="up"),
        pytest.param("-7.5", "−7.5%", id="down"),
        pytest.param(0, "±0%", id="unchanged"),
        pytest.param(None, "new", id="no base to compare with"),
    ],
)
def test_a_percentage_change_carries_its_sign_or_says_new(value, shown):
    assert pct(value) == shown


def test_a_time_is_shown_in_the_tenants_zone():
    moment = datetime(2026, 11, 21, 13, 5, tzinfo=UTC)
    assert local_time(moment, "Europe/Berlin") == "21 Nov 2026 14:05 CET"
    assert local_time(None, "Europe/Berlin") == "—"


def test_statuses_and_paths_are_labels_with_words():
    assert status_label("pending_approval") == (
        '<span class="label label-warn" data-status="pending_approval">Pending approval</span>'
    )
    assert status_label("draft", "Draft") == '<span class="label" data-status="draft">Draft</span>'
    assert path_label("replan") == '<span class="label label-warn" data-path="replan">replan</span>'


def test_lists_are_joined_and_empty_values_are_a_dash():
    assert dash(["AT", "DE"]) == "AT, DE"
    assert dash([]) == "—"
    assert dash("purchases") == "purchases"


def test_a_payload_total_sums_the_channel_budgets_as_decimals():
    payload = {"channels": [{"budget": "40000.10"}, {"budget": 0.2}, {"budget": None}]}
    assert payload_total(payload) == Decimal("40000.30")
    assert payload_total(None) == Decimal("0")
