"""The inbox filters (django-filter). They narrow the inbox only; the red-flag lane ignores them."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone

from approvals.inbox import SLA_STATES, waiting_for, with_sla_state
from approvals.models import TicketStatus
from approvals.types import TYPE_CHOICES

QUEUE_MINE = "mine"
# On PostgreSQL each has a trigram index on UPPER(field) (migration 0007), which is what lets the
# OR of icontains below skip the tickets that can't match: a field added here needs its index too.
SEARCH_FIELDS = ("public_id", "title", "summary", "run_id", "change_set_id", "subject_id")


class InboxFilter(django_filters.FilterSet):
    queue = django_filters.ChoiceFilter(
        choices=[(QUEUE_MINE, "My queue")],
        empty_label="All tickets",
        method="filter_queue",
        widget=forms.HiddenInput,
    )
    q = django_filters.CharFilter(method="filter_search", label="Search")
    type = django_filters.ChoiceFilter(choices=TYPE_CHOICES, empty_label="Any type")
    status = django_filters.ChoiceFilter(choices=TicketStatus.choices, empty_label="Any status")
    tenant = django_filters.ModelChoiceFilter(
        queryset=None, to_field_name="slug", empty_label="Any tenant"
    )
    platform = django_filters.CharFilter(lookup_expr="iexact", label="Platform")
    requesting_agent = django_filters.CharFilter(lookup_expr="icontains", label="Requested by")
    sla = django_filters.ChoiceFilter(
        choices=SLA_STATES, empty_label="Any SLA", method="filter_sla", label="SLA"
    )

    def __init__(self, *args, tenants=(), memberships=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.memberships = memberships
        # Only the tenants the person works in, so the menu reveals no other tenant's name.
        self.filters["tenant"].queryset = tenants
        self.form.fields["tenant"].queryset = tenants

    def filter_queue(self, queryset, name, value):
        if value == QUEUE_MINE:
            return waiting_for(queryset, user=self.request.user, memberships=self.memberships)
        return queryset

    def filter_search(self, queryset, name, value):
        words = value.split()
        for word in words[:5]:
            match = Q()
            for field in SEARCH_FIELDS:
                match |= Q(**{f"{field}__icontains": word})
            queryset = queryset.filter(match)
        return queryset

    def filter_sla(self, queryset, name, value):
        return with_sla_state(queryset, value, now=timezone.now())
