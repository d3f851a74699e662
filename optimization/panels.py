"""What a ticket page shows about an optimization subject (approvals/registry.py `panel`): a
recommendation's evidence — the signal, its numbers, its window, the change sets behind it, the
drift chart for a drift signal — with "Turn into a draft" for planners; a change set's items and
a link to its page, where an operator approves a smaller move or rolls it back."""

from __future__ import annotations

from django.utils import timezone

from approvals.types import roles_that_may_approve
from optimization import views_queries as q
from optimization.models import Signal
from tenants.models import Role


def recommendation_panel(ticket, user, role: str) -> tuple[str, dict] | None:
    recommendation = q.recommendation_for_ticket(ticket)
    if recommendation is None:
        return None
    track = recommendation.track
    evidence = recommendation.evidence or {}
    drift = None
    if recommendation.signal == Signal.DRIFT and evidence.get("channel"):
        drift = q.track_drift(track=track, now=timezone.now(), channels=[evidence["channel"]])
    proposes = bool(evidence.get("proposed_payload")) or bool(recommendation.draft_number)
    return (
        "optimization/_recommendation_panel.html",
        {
            "recommendation": recommendation,
            "track": track,
            "tenant": ticket.tenant,
            "figures": q.evidence_figures(recommendation, q.track_currency(track)),
            "change_set_ids": q.evidence_change_set_ids(recommendation),
            "kpi_days": evidence.get("days") if recommendation.signal == Signal.KPI_MISS else None,
            "drift": drift,
            "proposes_plan": proposes,
            "can_draft": role == Role.PLANNER
            and recommendation.is_open
            and ticket.is_open
            and proposes,
        },
    )


def change_set_panel(ticket, user, role: str) -> tuple[str, dict] | None:
    change_set = q.change_set_for_ticket(ticket)
    if change_set is None:
        return None
    return (
        "optimization/_change_set_panel.html",
        {
            "change_set": change_set,
            "tenant": ticket.tenant,
            "items": q.item_rows(change_set),
            "currency": q.track_currency(change_set.track),
            "a3": (a3 := q.open_a3(change_set)),
            "can_approve_smaller": bool(a3 and role in roles_that_may_approve(a3.required_roles)),
        },
    )
