"""The runs list's filters (django-filter): state, agent, model, main task. The CSV export reads
the same filters, so it exports what the page shows."""

from __future__ import annotations

import django_filters

from agents.models import AgentRun, RunState
from agents.views_queries import runs_in_state


class RunFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        choices=RunState.choices, method="filter_state", label="State", empty_label="Any state"
    )
    agent = django_filters.ChoiceFilter(label="Agent", empty_label="Any agent")
    model = django_filters.ChoiceFilter(label="Model", empty_label="Any model")
    main_task = django_filters.CharFilter(
        field_name="main_task_id", lookup_expr="icontains", label="Main task"
    )

    class Meta:
        model = AgentRun
        fields: list[str] = []

    def __init__(self, data=None, *, queryset, agents: list[str], models: list[str]):
        super().__init__(data, queryset=queryset)
        # Only what the tenant's runs name: the menus reveal nothing of another tenant.
        self.filters["agent"].extra["choices"] = [(a, a) for a in agents]
        self.filters["model"].extra["choices"] = [(m, m) for m in models]

    def filter_state(self, queryset, name, value):
        return runs_in_state(queryset, value)
