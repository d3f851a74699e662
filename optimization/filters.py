"""The optimization log's filters (django-filter): agent, field, outcome, days in the tenant's
time zone. The CSV export reads the same filters, so it exports what the page shows."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import django_filters
from django.db.models import Exists, OuterRef, QuerySet

from config.query import FilterDate
from optimization.models import (
    STRUCTURAL_FIELDS,
    TACTICAL_FIELDS,
    ChangeSet,
    ChangeSetItem,
    ChangeSetStatus,
)

FIELD_CHOICES = [(name, name.replace("_", " ")) for name in TACTICAL_FIELDS + STRUCTURAL_FIELDS]


class ChangeSetLogFilter(django_filters.FilterSet):
    agent = django_filters.ChoiceFilter(label="Agent", empty_label="Any agent")
    field = django_filters.ChoiceFilter(
        choices=FIELD_CHOICES, method="filter_field", label="Field", empty_label="Any field"
    )
    outcome = django_filters.ChoiceFilter(
        field_name="status",
        choices=ChangeSetStatus.choices,
        label="Outcome",
        empty_label="Any outcome",
    )
    date_from = FilterDate(method="filter_date_from", label="From")
    date_to = FilterDate(method="filter_date_to", label="To")

    class Meta:
        model = ChangeSet
        fields: list[str] = []

    def __init__(self, data=None, *, agents: list[str], tz_name: str, queryset: QuerySet):
        super().__init__(data, queryset=queryset)
        self.tenant_zone = ZoneInfo(tz_name)
        self.filters["agent"].extra["choices"] = [(a, a or "—") for a in agents]

    def filter_field(self, queryset, name, value):
        return queryset.filter(
            Exists(ChangeSetItem.objects.filter(change_set=OuterRef("pk"), field=value))
        )

    def _day_start(self, day) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.tenant_zone)

    def filter_date_from(self, queryset, name, value):
        return queryset.filter(created_at__gte=self._day_start(value))

    def filter_date_to(self, queryset, name, value):
        return queryset.filter(created_at__lt=self._day_start(value + timedelta(days=1)))
