"""The System Ops run page's actions: clear a red flag or end the run, always with a reason."""

from __future__ import annotations

from django import forms

from config.text import REASON_MAX, StorableTextField

CLEAR_A8 = "clear_a8"
CLEAR_A9 = "clear_a9"
END_RUN = "end"
ACTIONS = [
    (CLEAR_A8, "Clear the loop limit (A8)"),
    (CLEAR_A9, "Clear the Cost Guard (A9) with a raised estimate"),
    (END_RUN, "End the run"),
]


class RunActionForm(forms.Form):
    action = forms.ChoiceField(choices=ACTIONS)
    reason = StorableTextField(
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why: the reason goes on the ticket and the audit trail."},
    )
    # Checked by the service against the run's current estimate (one rule, one message).
    estimated_cost_usd = forms.CharField(required=False, max_length=40, strip=True)

    def clean(self):
        data = super().clean()
        if data.get("action") == CLEAR_A9 and not data.get("estimated_cost_usd"):
            self.add_error(
                "estimated_cost_usd",
                "Give the raised estimate in USD: the run's next calls are measured against it.",
            )
        return data
