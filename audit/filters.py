"""The audit page's filters: who, what, which resource, when (days in the tenant's time zone)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from audit.models import AuditEvent
from config.query import FilterDate


class AuditEventForm(forms.Form):
    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(
                f"The range is inverted: From ({start}) is after To ({end}). Swap them."
            )
        return data


class AuditEventFilter(django_filters.FilterSet):
    actor = django_filters.CharFilter(
        method="filter_actor", label="Actor", help_text="name or id, e.g. alice or key:3"
    )
    action = django_filters.ChoiceFilter(label="Action", empty_label="Any action")
    resource_type = django_filters.ChoiceFilter(label="Resource type", empty_label="Any type")
    resource_id = django_filters.CharFilter(label="Resource id")
    date_from = FilterDate(method="filter_date_from", label="From")
    date_to = FilterDate(method="filter_date_to", label="To")

    class Meta:
        model = AuditEvent
        fields: list[str] = []
        form = AuditEventForm

    def __init__(self, data=None, *, tenant, queryset: QuerySet[AuditEvent]):
        super().__init__(data, queryset=queryset)
        self.tenant_zone = ZoneInfo(tenant.time_zone)
        # Choices are what this tenant's log holds: an index scan each, never another tenant's.
        tenant_events = AuditEvent.objects.filter(tenant=tenant).order_by()
        for name in ("action", "resource_type"):
            values = tenant_events.values_list(name, flat=True).distinct().order_by(name)
            self.filters[name].extra["choices"] = [(v, v) for v in values]

    def filter_actor(self, queryset, name, value):
        """Part of a name ("ali" finds alice) or an exact id ("key:3")."""
        value = value.strip()
        return (
            queryset.filter(Q(actor_label__icontains=value) | Q(actor_id=value))
            if value
            else queryset
        )

    @property
    def qs(self):
        # An inverted range matches nothing, and the form says why (is_valid is False).
        return super().qs if self.form.is_valid() or not self.is_bound else self.queryset.none()

    def _day_start(self, day) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.tenant_zone)

    def filter_date_from(self, queryset, name, value):
        return queryset.filter(created_at__gte=self._day_start(value))

    def filter_date_to(self, queryset, name, value):
        return queryset.filter(created_at__lt=self._day_start(value + timedelta(days=1)))
