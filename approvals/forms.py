from django import forms

from approvals.types import Verdict
from config.text import COMMENT_MAX, REASON_MAX, StorableTextField


class DecisionForm(forms.Form):
    verdict = forms.ChoiceField(choices=Verdict.choices)
    comment = StorableTextField(
        required=False,
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Comment (optional)",
    )
    # Set by the second button of a decision that asks first (reject; a request for changes that
    # withdraws other tickets): the first press only shows what it will do.
    confirm = forms.BooleanField(required=False)


class CommentForm(forms.Form):
    body = StorableTextField(
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Add a comment",
        error_messages={"required": "Write something before posting."},
    )


class PortalDecisionForm(forms.Form):
    """A client approves, or rejects with a reason (seed 003: "reject proposed replans")."""

    verdict = forms.ChoiceField(choices=[(Verdict.APPROVE, "Approve"), (Verdict.REJECT, "Reject")])
    reason = StorableTextField(
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Reason",
    )
    # A rejection is confirmed on a second step, which asks for the reason.
    confirm = forms.BooleanField(required=False)

    def clean(self):
        data = super().clean()
        if (
            data.get("verdict") == Verdict.REJECT
            and data.get("confirm")
            and not (data.get("reason") or "").strip()
        ):
            self.add_error("reason", "Please tell us why you reject it.")
        return data
