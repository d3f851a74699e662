"""Every hard ceiling of the tenant policy with a looser value and the message it must produce
(seed 003 "Configuration per tenant", docs/rules.md "Tenant and policy"). Shared by the service,
admin, page and database tests."""

from decimal import Decimal

import pytest

LOOSER_VALUES = [
    pytest.param(
        "qc_correction_max", 3, "loop_policy.qc_correction_max may not exceed 2", id="qc-3"
    ),
    pytest.param("tool_rounds_max", 6, "loop_policy.tool_rounds_max may not exceed 5", id="tool-6"),
    pytest.param(
        "orchestrator_retry_max",
        2,
        "loop_policy.orchestrator_retry_max may not exceed 1",
        id="retry-2",
    ),
    pytest.param(
        "global_steps_per_run_id_max",
        9,
        "loop_policy.global_steps_per_run_id_max may not exceed 8",
        id="steps-9",
    ),
    pytest.param(
        "on_exhaustion",
        "infinite_retry",
        "loop_policy.on_exhaustion must be red_flag_a8",
        id="exhaustion-infinite-retry",
    ),
    pytest.param(
        "trip_multiplier",
        Decimal("3.5"),
        "cost_guard_policy.trip_multiplier may not exceed 3.0",
        id="multiplier-3.5",
    ),
    pytest.param(
        "block_on_trip",
        False,
        "cost_guard_policy.block_on_trip must stay true",
        id="block-on-trip-off",
    ),
]

# Stricter values a tenant may choose.
STRICTER_VALUES = [
    pytest.param("qc_correction_max", 1, id="qc-1"),
    pytest.param("tool_rounds_max", 3, id="tool-3"),
    pytest.param("orchestrator_retry_max", 0, id="retry-0"),
    pytest.param("global_steps_per_run_id_max", 8, id="steps-8-at-ceiling"),
    pytest.param("trip_multiplier", Decimal("2.50"), id="multiplier-2.5"),
]


def form_data(policy, **overrides) -> dict:
    """POST data for a form over every policy key: the current values with `overrides`.
    A checkbox that is off is left out, as a browser does."""
    values = {**policy.values(), **overrides}
    data = {}
    for key, value in values.items():
        if value is True:
            data[key] = "on"
        elif value is not False:
            data[key] = str(value)
    return data
