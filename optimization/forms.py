"""Forms of the optimization pages. They shape what a person typed; the services keep the rules
(a smaller move lies between before and asked, a calendar channel is one of the approved plan's)
and their refusals land beside the field they name."""

from __future__ import annotations

import re

from django import forms

from config.errors import DomainError
from config.text import REASON_MAX, StorableTextField

ITEM_FIELD = re.compile(r"^items\[(\d+)\]")
ITEM_PREFIX = re.compile(r"^items\[\d+\]\.after: ")
DATE_INPUT = forms.DateInput(attrs={"type": "date"})


class HoldForm(forms.Form):
    """Pause all spend: a reason, then a confirmation that says what it stops (nothing is
    written by the first press)."""

    reason = StorableTextField(
        label="Reason (required; recorded on the hold, its change set and the audit log)",
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why all spend stops: the reason is kept with the hold."},
    )
    confirm = forms.BooleanField(required=False, widget=forms.HiddenInput)


class RollbackForm(forms.Form):
    reason = StorableTextField(
        label="Reason (optional)",
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class SeasonalChangeForm(forms.Form):
    channel = forms.ChoiceField(label="Channel")
    starts_on = forms.DateField(label="Flight starts", widget=DATE_INPUT)
    ends_on = forms.DateField(label="Flight ends", widget=DATE_INPUT)
    budget = forms.DecimalField(
        label="Flight budget",
        min_value=0,
        max_digits=14,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "class": "num"}),
    )
    note = StorableTextField(label="Note (optional)", required=False, max_length=200)

    def __init__(self, *args, channels: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].choices = [(c, c) for c in channels]

    def add_domain_error(self, error: DomainError) -> None:
        """A service's refusal beside the field it names (or above the form): its whole sentence
        when it names one field, each field's problem when it names several."""
        if len(error.fields) <= 1:
            name = next(iter(error.fields), None)
            self.add_error(name if name in self.fields else None, error.message)
            return
        for name, problems in error.fields.items():
            target = name if name in self.fields else None
            for problem in problems:
                self.add_error(target, problem if target else f"{name}: {problem}")


def smaller_move_errors(error: DomainError) -> tuple[dict[int, str], str]:
    """A refused smaller move as the sentence beside the item it names (`items[0].after`), or
    as one sentence above the form when it names no item."""
    by_item: dict[int, str] = {}
    sentence = ITEM_PREFIX.sub("", error.message)
    sentence = sentence[:1].upper() + sentence[1:]
    for name in error.fields:
        found = ITEM_FIELD.match(name)
        if found:
            by_item[int(found.group(1))] = sentence
    return by_item, "" if by_item else error.message
