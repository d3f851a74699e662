"""The inbox filters (django-filter). They narrow the inbox only; the red-flag lane ignores them."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import QuerySet, Value
from django.db.models.functions import StrIndex, Upper
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from approvals.inbox import SLA_STATES, waiting_for, with_sla_state
from approvals.models import Ticket, TicketStatus
from approvals.types import TYPE_CHOICES

QUEUE_MINE = "mine"
SEARCH_WORDS = 5  # a search reads its first five words
# The shortest word pg_trgm takes trigrams from (as LIKE '%word%'). A shorter one can't narrow
# the search through the trigram index; asked as LIKE beside a longer word, it can make the
# planner read the whole index. It is found with STRPOS among the rows the others leave.
TRIGRAM = 3


def search_tickets(queryset: QuerySet[Ticket], value: str) -> QuerySet[Ticket]:
    """Tickets with every word of `value` (the first five) somewhere in one of the searched
    fields (approvals.models.SEARCH_FIELDS), in any case: what the OR over the fields of
    UPPER(field) LIKE UPPER('%word%') finds, read from the one upper-cased column
    Ticket.search_text. Its trigram index serves the words of three characters or more."""
    for word in value.split()[:SEARCH_WORDS]:
        needle = Upper(Value(word))
        if len(word) >= TRIGRAM:
            queryset = queryset.filter(search_text__contains=needle)
        else:
            queryset = queryset.filter(GreaterThan(StrIndex("search_text", needle), 0))
    return queryset


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
        if memberships is not None:
            # The menu from the tenants the memberships carry (the same ones, by name), not a
            # query of its own; a chosen slug is still looked up in `tenants`. Django's own
            # setter: a model choice field then lists these instead of iterating its queryset.
            field = self.form.fields["tenant"]
            forms.ChoiceField.choices.fset(
                field,
                [("", field.empty_label), *((m.tenant.slug, str(m.tenant)) for m in memberships)],
            )

    def filter_queue(self, queryset, name, value):
        if value == QUEUE_MINE:
            return waiting_for(queryset, user=self.request.user, memberships=self.memberships)
        return queryset

    def filter_search(self, queryset, name, value):
        return search_tickets(queryset, value)

    def filter_sla(self, queryset, name, value):
        return with_sla_state(queryset, value, now=timezone.now())
