"""The tenant policy form of the dashboard. Its values are checked by the model's clean(), which
calls tenants.policy.policy_errors — the same rules the service and the admin apply."""

from __future__ import annotations

from django import forms

from tenants.models import TenantPolicy
from tenants.policy import CEILINGS, DEFAULTS, FLAT_DEFAULTS, ON_EXHAUSTION_ALLOWED

SECTION_TITLES = {
    "approval_policy": "Approval policy",
    "loop_policy": "Loop policy (hard ceilings: a tenant may be stricter, never looser)",
    "cost_guard_policy": "Cost Guard",
    "qc_threshold_policy": "QC thresholds",
    "revise_triggers": "Revise triggers",
    "reconciliation": "Reconciliation (what the platforms run against the manifest)",
    "sla": "SLAs (business days, in the tenant's time zone)",
}

_RANGE_HELP = {
    "success_floor": "Share of QC passes, 0 to 1.",
    "sla_approval_days": "1, 2 or 3 business days.",
    "sla_revise_approval_days": "1, 2 or 3 business days; lighter than a first plan's.",
    "working_hours_start": "Hour of the day, 0 to 23.",
    "working_hours_end": "Hour of the day, after the start, up to 24.",
    "auto_approve_optimization_under_pct": "Percent of a channel's live daily budget.",
    "drift_pct": "Percent of the approved plan's daily budget.",
    "a3_lapse_days": "Business days after an A3's SLA before it lapses unapplied.",
    "reconciliation_tolerance_pct": "Percent of the manifest's daily budget; beyond it an A6.",
    "alignment_sla_hours": "Business hours after a version's approval to align the live entities.",
}
_CEILING_OF = {ceiling.key: ceiling.maximum for ceiling in CEILINGS}
# Each key in words; the page shows the seed's key beside it as a hint.
LABELS = {
    "first_launch_requires_human": "A person confirms every first launch (A2)",
    "auto_approve_optimization_under_pct": "Agents change a channel's budget alone up to (%)",
    "client_must_approve_budget_increase": "The client approves budget increases",
    "client_budget_increase_threshold_pct": "… above an increase of (%)",
    "vertical_compliance_profile": "Compliance profile",
    "client_approves_creative_themes": "The client approves creative themes",
    "separation_of_duties": "Four eyes: nobody approves their own work",
    "qc_correction_max": "QC corrections per run",
    "tool_rounds_max": "Tool rounds per run",
    "orchestrator_retry_max": "Orchestrator retries per run",
    "global_steps_per_run_id_max": "Steps per run in all",
    "on_exhaustion": "When a run hits a limit",
    "trip_multiplier": "Cost Guard trips at (× the estimate)",
    "block_on_trip": "A tripped Cost Guard blocks the run",
    "success_floor": "QC success floor",
    "window_hours": "QC window (hours)",
    "min_sample_global": "QC results needed before an alert",
    "drift_pct": "Drift that recommends a revise (%)",
    "drift_window_days": "Drift window (days)",
    "guardrail_approvals_max": "Guardrail approvals before a revise is suggested",
    "guardrail_approvals_window_days": "… within (days)",
    "kpi_miss_days": "Days the KPI may miss its target",
    "structural_block_max": "Structural blocks before a replan draft",
    "seasonality_lead_days": "Days ahead a seasonal change is pre-drafted",
    "sla_revise_draft_days": "Revise draft due in (business days)",
    "sla_replan_draft_days": "Replan draft due in (business days)",
    "sla_approval_days": "Approvals of a first plan due in (business days)",
    "sla_revise_approval_days": "Approvals of a revise due in (business days)",
    "working_hours_start": "Working day starts at (hour)",
    "working_hours_end": "Working day ends at (hour)",
    "a3_lapse_days": "Unanswered A3s lapse after their SLA by (business days)",
    "alignment_sla_hours": "Live entities aligned with an approved version within (business hours)",
    "reconciliation_tolerance_pct": "A platform may differ from the manifest by up to (%)",
}
# Values no tenant may change (seed 003: never infinite retry; the Cost Guard always blocks):
# shown as fixed text, posted as hidden inputs so that a crafted POST still meets the rule.
FIXED = {
    "on_exhaustion": "Always a red flag (A8): the run waits for a person, never retries alone",
    "block_on_trip": "Always on",
}


def _help_text(key: str) -> str:
    default = FLAT_DEFAULTS[key]
    if key in _CEILING_OF:
        return f"At most {_CEILING_OF[key]} (hard ceiling). Lower is stricter."
    if key == "client_approves_creative_themes":
        return "Unknown: as the compliance profile says (yes for health and finance)."
    if key == "on_exhaustion":
        return "Always a red flag (A8): a run that hits a loop limit is never retried alone."
    if key == "block_on_trip":
        return "Always on: a tripped Cost Guard blocks the run."
    if key in _RANGE_HELP:
        return f"{_RANGE_HELP[key]} Default {default}."
    if isinstance(default, bool):
        return f"Default {'on' if default else 'off'}."
    return f"Default {default}."


class TenantPolicyForm(forms.ModelForm):
    class Meta:
        model = TenantPolicy
        fields = list(FLAT_DEFAULTS)
        # A select that offers only what is allowed; the field stays a plain CharField so a
        # crafted POST (infinite_retry) still gets the ceiling message from the model's clean().
        widgets = {
            "on_exhaustion": forms.Select(choices=[(v, v) for v in ON_EXHAUSTION_ALLOWED]),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for key, field in self.fields.items():
            field.label = LABELS.get(key, key)
            field.help_text = _help_text(key)
            if key in FIXED:
                field.widget = forms.HiddenInput()
                field.fixed_text = FIXED[key]

    def sections(self) -> list[tuple[str, str, list[forms.BoundField]]]:
        """(seed key, title, bound fields) in seed 003's order, for the template."""
        return [
            (section, SECTION_TITLES[section], [self[key] for key in keys])
            for section, keys in DEFAULTS.items()
        ]

    def changes(self) -> dict:
        return {key: self.cleaned_data[key] for key in self.changed_data}
