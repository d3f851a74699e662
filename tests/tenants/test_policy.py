"""tenants/policy.py: the keys, defaults and ceilings, without the database."""

from decimal import Decimal

import pytest

from tenants.policy import DEFAULTS, FLAT_DEFAULTS, policy_errors
from tests.tenants.ceilings import LOOSER_VALUES, STRICTER_VALUES

# Seed 003 "Configuration per tenant" and docs/rules.md "Tenant and policy", value by value.
SEED_DEFAULTS = [
    ("approval_policy", "first_launch_requires_human", True),
    ("approval_policy", "auto_approve_optimization_under_pct", Decimal("10")),
    ("approval_policy", "client_must_approve_budget_increase", True),
    ("approval_policy", "client_budget_increase_threshold_pct", Decimal("0")),
    ("approval_policy", "vertical_compliance_profile", "standard"),
    ("approval_policy", "client_approves_creative_themes", None),
    ("loop_policy", "qc_correction_max", 2),
    ("loop_policy", "tool_rounds_max", 5),
    ("loop_policy", "orchestrator_retry_max", 1),
    ("loop_policy", "global_steps_per_run_id_max", 8),
    ("loop_policy", "on_exhaustion", "red_flag_a8"),
    ("cost_guard_policy", "trip_multiplier", Decimal("3.0")),
    ("cost_guard_policy", "block_on_trip", True),
    ("qc_threshold_policy", "success_floor", Decimal("0.80")),
    ("qc_threshold_policy", "window_hours", 24),
    ("qc_threshold_policy", "min_sample_global", 20),
    ("revise_triggers", "drift_pct", Decimal("15")),
    ("revise_triggers", "drift_window_days", 30),
    ("revise_triggers", "guardrail_approvals_max", 5),
    ("revise_triggers", "guardrail_approvals_window_days", 14),
    ("revise_triggers", "kpi_miss_days", 21),
    ("revise_triggers", "structural_block_max", 2),
    ("revise_triggers", "seasonality_lead_days", 14),
    ("sla", "sla_revise_draft_days", 1),
    ("sla", "sla_replan_draft_days", 2),
    ("sla", "sla_approval_days", 2),
]


@pytest.mark.parametrize(("section", "key", "default"), SEED_DEFAULTS, ids=lambda v: str(v))
def test_every_seed_key_has_its_default_in_its_section(section, key, default):
    assert DEFAULTS[section][key] == default


def test_the_defaults_themselves_break_no_rule():
    assert policy_errors(FLAT_DEFAULTS) == {}


@pytest.mark.parametrize(("key", "looser", "message"), LOOSER_VALUES)
def test_a_looser_value_is_refused_naming_the_key_and_the_ceiling(key, looser, message):
    errors = policy_errors({**FLAT_DEFAULTS, key: looser})
    assert list(errors) == [key]
    assert message in errors[key]


@pytest.mark.parametrize(("key", "stricter"), STRICTER_VALUES)
def test_a_stricter_value_is_allowed(key, stricter):
    assert policy_errors({**FLAT_DEFAULTS, key: stricter}) == {}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        pytest.param("trip_multiplier", Decimal("0.5"), "at least 1.0", id="multiplier-below-1"),
        pytest.param("tool_rounds_max", -1, "at least 0", id="negative-rounds"),
        pytest.param("success_floor", Decimal("1.2"), "between 0 and 1", id="floor-above-1"),
        pytest.param("sla_approval_days", 4, "1, 2 or 3 business days", id="approval-sla-4"),
        pytest.param("sla_approval_days", 0, "1, 2 or 3 business days", id="approval-sla-0"),
        pytest.param("working_hours_end", 8, "start < end", id="hours-end-before-start"),
    ],
)
def test_values_out_of_range_are_refused(key, value, message):
    errors = policy_errors({**FLAT_DEFAULTS, key: value})
    assert message in errors[key]
