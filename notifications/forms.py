from __future__ import annotations

from django import forms

from notifications.kinds import Delivery
from notifications.models import WatchMode, WatchTarget


class WatchForm(forms.Form):
    tenant = forms.SlugField()
    target_type = forms.ChoiceField(choices=WatchTarget.choices)
    target_id = forms.CharField(max_length=100)
    mode = forms.ChoiceField(choices=[*WatchMode.choices, ("none", "Neither")])
    next = forms.CharField(required=False, max_length=500)


class AwayForm(forms.Form):
    tenant = forms.SlugField()
    away_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    away_until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    stand_in = forms.CharField(required=False, max_length=150)


DELIVERY_CHOICES = Delivery.choices
