"""What optimization does when a ticket about a change set (A3, A2) or a recommendation is
decided (approvals/registry.py)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from approvals.models import TicketStatus
from approvals.registry import ClientWords
from approvals.selectors import subject_blocking_tickets
from audit.actors import Actor
from config.formatting import money
from optimization.models import ChangeSet, Recommendation
from optimization.services.change_sets import (
    SUBJECT_TYPE,
    _currency,
    _lock_change_set,
    change_set_apply,
    change_set_reject,
)
from optimization.services.recommendations import (
    RECOMMENDATION_SUBJECT,
    recommendation_dismiss,
    recommendation_draft,
    recommendation_lock_for_decision,
)
from plans.summary import channel_label, track_label


def _change_set_of(ticket) -> ChangeSet | None:
    return (
        ChangeSet.objects.filter(tenant_id=ticket.tenant_id, change_set_id=ticket.subject_id)
        .select_related("track", "tenant")
        .first()
    )


def on_change_set_ticket_locked(ticket) -> None:
    """Lock the change set and its channels' live entities before the decision writes anything
    (config/locks.py)."""
    change_set = _change_set_of(ticket)
    if change_set is not None:
        _lock_change_set(change_set)


def on_change_set_ticket_resolved(ticket, outcome: str, actor: Actor) -> None:
    change_set = _change_set_of(ticket)
    if change_set is None or not change_set.is_pending:
        return
    if outcome == TicketStatus.APPROVED:
        still_open = subject_blocking_tickets(
            tenant=change_set.tenant, subject_type=SUBJECT_TYPE, subject_id=change_set.change_set_id
        ).exclude(pk=ticket.pk)
        if not still_open.exists():
            change_set_apply(change_set=change_set, actor=actor)
        return
    note = f"{ticket.public_id} {outcome.replace('_', ' ')}"
    if ticket.resolution_note:
        note += f": {ticket.resolution_note}"
    change_set_reject(change_set=change_set, actor=actor, note=note)


def change_set_client_words(ticket) -> ClientWords | None:
    """How the client portal names a spend approval: "Always-on plan: Social daily budget
    €300 → €345" — the track and the channels as the client knows them, never the change set's
    id or the guardrail that stopped it."""
    change_set = _change_set_of(ticket)
    if change_set is None:
        return None
    raw = ticket.diff.get("raw") if isinstance(ticket.diff, dict) else None
    channels = raw.get("channels") if isinstance(raw, dict) else None
    moves = []
    for check in channels if isinstance(channels, list) else []:
        try:
            live = Decimal(str(check["live_daily_budget"]))
            delta = Decimal(str(check["delta"]))
        except (KeyError, TypeError, InvalidOperation):
            continue
        moves.append((channel_label(str(check.get("channel", ""))), live, delta))
    currency = _currency(change_set.track)
    plan = track_label(change_set.track.key)
    if len(moves) == 1:
        label, live, delta = moves[0]
        title = (
            f"{plan}: {label} daily budget {money(live, currency)} → "
            f"{money(live + delta, currency)}"
        )
    elif moves:
        title = f"{plan}: daily budgets of {', '.join(label for label, _, _ in moves)}"
    else:
        title = f"{plan}: daily budgets"
    rises = sum((delta for _, _, delta in moves), Decimal("0")) > 0
    return ClientWords(title=title, kind="Budget increase" if rises else "Budget change")


def _recommendation_of(ticket) -> Recommendation | None:
    return (
        Recommendation.objects.filter(tenant_id=ticket.tenant_id, pk=ticket.subject_id)
        .select_related("track", "tenant")
        .first()
        if ticket.subject_id.isdigit()
        else None
    )


def recommendation_label(ticket) -> str:
    """How the ticket's buttons name it: approving turns it into a draft, it approves no plan."""
    recommendation = _recommendation_of(ticket)
    if recommendation is None:
        return "the recommendation"
    return f"the {recommendation.track.key} {recommendation.path} recommendation"


def on_recommendation_ticket_locked(ticket) -> None:
    recommendation = _recommendation_of(ticket)
    if recommendation is not None:
        recommendation_lock_for_decision(recommendation)


def on_recommendation_ticket_resolved(ticket, outcome: str, actor: Actor) -> None:
    """Approving a recommendation turns it into a draft vN+1 (unless one was pre-drafted);
    rejecting or withdrawing it dismisses it. Never an approval of any plan."""
    recommendation = _recommendation_of(ticket)
    if recommendation is None or not recommendation.is_open:
        return
    if outcome == TicketStatus.APPROVED:
        recommendation_draft(recommendation=recommendation, actor=actor)
    else:
        recommendation_dismiss(
            recommendation=recommendation,
            actor=actor,
            note=ticket.resolution_note or outcome.replace("_", " "),
        )


__all__ = ["RECOMMENDATION_SUBJECT"]
