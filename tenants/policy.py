"""The per-tenant policy keys, their defaults and their hard ceilings (pure, no database).

Seed 003 "Configuration per tenant" and docs/rules.md "Tenant and policy". The loop-policy defaults
are hard ceilings: a tenant may be stricter, never looser. The Cost Guard multiplier may only go
down and blocking on a trip can't be switched off. One function, `policy_errors`, says what is wrong
with a set of values; the model, every form, the admin and the services all call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Ceiling:
    key: str
    maximum: Any
    section: str

    def message(self, value: Any) -> str:
        return (
            f"{self.section}.{self.key} may not exceed {self.maximum} "
            f"(hard ceiling; {value} is looser)"
        )


LOOP_CEILINGS = {
    "qc_correction_max": 2,
    "tool_rounds_max": 5,
    "orchestrator_retry_max": 1,
    "global_steps_per_run_id_max": 8,
}
ON_EXHAUSTION_ALLOWED = ("red_flag_a8",)
TRIP_MULTIPLIER_CEILING = Decimal("3.0")

CEILINGS = [Ceiling(key, maximum, "loop_policy") for key, maximum in LOOP_CEILINGS.items()] + [
    Ceiling("trip_multiplier", TRIP_MULTIPLIER_CEILING, "cost_guard_policy"),
]

# Every key with its default, grouped as seed 003 groups them. The model's field defaults come
# from here so the two can never disagree.
DEFAULTS: dict[str, dict[str, Any]] = {
    "approval_policy": {
        "first_launch_requires_human": True,
        "auto_approve_optimization_under_pct": Decimal("10"),
        "client_must_approve_budget_increase": True,
        "client_budget_increase_threshold_pct": Decimal("0"),
        "vertical_compliance_profile": "standard",
        # None: as the compliance profile says (on for health_strict and finance_strict).
        "client_approves_creative_themes": None,
        # Four eyes: who drafted or last edited a version, or requested a ticket, never fills an
        # approval slot of it.
        "separation_of_duties": True,
    },
    "loop_policy": {**LOOP_CEILINGS, "on_exhaustion": "red_flag_a8"},
    "cost_guard_policy": {"trip_multiplier": TRIP_MULTIPLIER_CEILING, "block_on_trip": True},
    "qc_threshold_policy": {
        "success_floor": Decimal("0.80"),
        "window_hours": 24,
        "min_sample_global": 20,
    },
    "revise_triggers": {
        "drift_pct": Decimal("15"),
        "drift_window_days": 30,
        "guardrail_approvals_max": 5,
        "guardrail_approvals_window_days": 14,
        "kpi_miss_days": 21,
        "structural_block_max": 2,
        "seasonality_lead_days": 14,
    },
    # What the platforms run may differ from the manifest by this much (percent of the manifest's
    # daily budget) before `reconcile` opens an A6; any status difference opens one.
    "reconciliation": {"reconciliation_tolerance_pct": Decimal("2")},
    "sla": {
        "sla_revise_draft_days": 1,
        "sla_replan_draft_days": 2,
        "sla_approval_days": 2,
        # A revise's approval (A5): the seed's "lighter SLA for revise", also 1–3 business days.
        "sla_revise_approval_days": 1,
        "working_hours_start": 9,
        "working_hours_end": 18,
        # An A3 (spend guardrail breach) still open this many business days after its SLA lapses:
        # nothing is applied and the agent proposes again on the live state of then.
        "a3_lapse_days": 2,
        # After a version's approval, Execution aligns the live entities with it within this
        # many business hours (issue 16 item 5: `GET /api/v1/tracks/{track}/alignment`).
        "alignment_sla_hours": 24,
    },
}

FLAT_DEFAULTS: dict[str, Any] = {k: v for section in DEFAULTS.values() for k, v in section.items()}
SECTION_OF: dict[str, str] = {k: s for s, section in DEFAULTS.items() for k in section}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def policy_errors(values: dict[str, Any]) -> dict[str, str]:
    """Return {key: message} for every value that breaks a ceiling or a range; empty when fine."""
    errors: dict[str, str] = {}
    for ceiling in CEILINGS:
        value = values.get(ceiling.key)
        # Anything that is not a number yet (the field's own validation reports it) is skipped:
        # Model.full_clean() calls clean() even after a field failed to convert.
        if not _is_number(value):
            continue
        if value > ceiling.maximum:
            errors[ceiling.key] = ceiling.message(value)
        elif value < (Decimal("1") if ceiling.key == "trip_multiplier" else 0):
            errors[ceiling.key] = f"{ceiling.section}.{ceiling.key} must be at least " + (
                "1.0" if ceiling.key == "trip_multiplier" else "0"
            )
    on_exhaustion = values.get("on_exhaustion")
    if on_exhaustion is not None and on_exhaustion not in ON_EXHAUSTION_ALLOWED:
        errors["on_exhaustion"] = (
            f"loop_policy.on_exhaustion must be {' or '.join(ON_EXHAUSTION_ALLOWED)} "
            f"(hard ceiling; {on_exhaustion} would retry without a person)"
        )
    if values.get("block_on_trip") is False:
        errors["block_on_trip"] = (
            "cost_guard_policy.block_on_trip must stay true (hard ceiling; a tripped Cost Guard "
            "always blocks the run)"
        )
    floor = values.get("success_floor")
    if _is_number(floor) and not (Decimal("0") <= floor <= Decimal("1")):
        errors["success_floor"] = "qc_threshold_policy.success_floor must be between 0 and 1"
    approval_days = values.get("sla_approval_days")
    if _is_number(approval_days) and not 1 <= approval_days <= 3:
        errors["sla_approval_days"] = "sla.sla_approval_days must be 1, 2 or 3 business days"
    revise_days = values.get("sla_revise_approval_days")
    if _is_number(revise_days) and not 1 <= revise_days <= 3:
        errors["sla_revise_approval_days"] = (
            "sla.sla_revise_approval_days must be 1, 2 or 3 business days"
        )
    start, end = values.get("working_hours_start"), values.get("working_hours_end")
    if _is_number(start) and _is_number(end) and not 0 <= start < end <= 24:
        errors["working_hours_end"] = "sla working hours must satisfy 0 <= start < end <= 24"
    return errors
