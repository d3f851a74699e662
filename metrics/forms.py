from __future__ import annotations

from django import forms

from config.query import FilterDateField
from metrics.board import ROLLBACK_DAYS_DEFAULT, ROLLBACK_DAYS_MAX
from metrics.selectors import QC_DIMENSIONS


class RangeForm(forms.Form):
    """The metrics page's filters: a date range (the range before it is the comparison), the QC
    first-pass grouping and the rollback window. All optional; the page shows a bad value's
    message and uses the default instead, a CSV export refuses it (400)."""

    start = FilterDateField(label="From", required=False)
    end = FilterDateField(label="To", required=False)
    by = forms.ChoiceField(
        label="QC first pass by", choices=list(QC_DIMENSIONS.items()), required=False
    )
    days = forms.IntegerField(
        label="Rollback within (days)",
        min_value=1,
        max_value=ROLLBACK_DAYS_MAX,
        required=False,
        widget=forms.NumberInput(attrs={"class": "num"}),
    )

    def values(self) -> dict:
        """The cleaned values, with the defaults where a field is empty or invalid."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "start": data.get("start"),
            "end": data.get("end"),
            "by": data.get("by") or "main_task_id",
            "days": data.get("days") or ROLLBACK_DAYS_DEFAULT,
        }


class WeekForm(forms.Form):
    week = FilterDateField(label="Week of", required=False)
