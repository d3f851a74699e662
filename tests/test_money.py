"""One rule for amounts (config/money.py): what the column that keeps an amount can hold — its
precision and scale read from the model field, a positive minimum where the database requires
one — checked after the rounding the column applies."""

from __future__ import annotations

from decimal import Decimal

import pytest

from agents.models import AgentRun
from config.money import AmountInvalid, AmountRule, amount_clean
from optimization.models import PerformanceRow
from plans.models import MasterPlan

ESTIMATE = AmountRule.of(AgentRun._meta.get_field("estimated_cost_usd"), positive=True)
ENVELOPE = AmountRule.of(MasterPlan._meta.get_field("total_budget"))


def test_a_rule_reads_its_bounds_from_the_column():
    assert (ESTIMATE.least, ESTIMATE.most) == (Decimal("0.000001"), Decimal("99999999.999999"))
    assert (ENVELOPE.least, ENVELOPE.most) == (Decimal("0"), Decimal("999999999999.99"))
    spend = AmountRule.of(PerformanceRow._meta.get_field("spend"), at_most=Decimal("1e12"))
    assert spend.most == Decimal("1e12")


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("0.000001", "0.000001"),
        ("0.0000005", "0.000001"),  # half away from zero, as PostgreSQL rounds
        (1, "1.000000"),
        (0.1, "0.100000"),
        (" 2.5 ", "2.500000"),
        ("99999999.999999", "99999999.999999"),
        ("99999999.9999994", "99999999.999999"),
    ],
    ids=str,
)
def test_an_amount_the_column_keeps_comes_back_as_it_will_be_stored(value, kept):
    assert str(amount_clean(value, ESTIMATE)) == kept


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("lots", "must be an amount in USD"),
        (None, "must be an amount in USD"),
        (True, "must be an amount in USD"),
        ("NaN", "must be a finite amount of USD from 0.000001 to 99,999,999.999999"),
        ("-Infinity", "must be a finite amount of USD from 0.000001 to 99,999,999.999999"),
        ("0", "must be a finite amount of USD from 0.000001 to 99,999,999.999999"),
        ("-0.01", "must be a finite amount of USD from 0.000001 to 99,999,999.999999"),
        (
            "0.0000001",
            "must be a finite amount of USD from 0.000001 to 99,999,999.999999 "
            "(0.0000001 rounds to 0.000000 at 6 decimal places)",
        ),
        ("1e8", "must be a finite amount of USD from 0.000001 to 99,999,999.999999"),
        (
            "99999999.9999995",
            "must be a finite amount of USD from 0.000001 to 99,999,999.999999 "
            "(99999999.9999995 rounds to 100000000.000000 at 6 decimal places)",
        ),
        ("1e999999", "must be a finite amount of USD from 0.000001 to 99,999,999.999999"),
    ],
    ids=str,
)
def test_an_amount_the_column_cannot_keep_is_refused_saying_what_it_keeps(value, problem):
    with pytest.raises(AmountInvalid) as refused:
        amount_clean(value, ESTIMATE, currency="USD")
    assert str(refused.value) == problem


def test_an_envelope_of_1e12_does_not_fit_numeric_14_2():
    assert amount_clean("999999999999.99", ENVELOPE) == Decimal("999999999999.99")
    with pytest.raises(AmountInvalid, match="from 0 to 999,999,999,999.99"):
        amount_clean("1000000000000", ENVELOPE)
