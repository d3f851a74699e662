"""Change sets and recommendations as ticket subjects (approvals/subjects.py): what optimization
does when a ticket about one (A3, A2; A5) is locked and decided. Registered in
optimization/apps.py; how they read on pages is optimization/panels.py."""

from __future__ import annotations

from approvals.models import TicketStatus
from approvals.selectors import subject_blocking_tickets
from audit.actors import Actor
from optimization.models import ChangeSet, Recommendation
from optimization.selectors import (
    change_set_exists,
    platform_account_exists,
    recommendation_exists,
    reconciliation_exists,
)
from optimization.services._common import SUBJECT_TYPE, change_set_lock
from optimization.services.approval import change_set_apply_within, change_set_reject_within
from optimization.services.onboarding import SUBJECT_TYPE as PLATFORM_ACCOUNT_SUBJECT
from optimization.services.onboarding import (
    platform_account_decided_within,
    platform_account_lock,
)
from optimization.services.recommendations import (
    RECOMMENDATION_SUBJECT,
    recommendation_dismiss_within,
    recommendation_draft_within,
    recommendation_lock_for_decision,
)
from optimization.services.reconcile import (
    SUBJECT_TYPE as RECONCILIATION_SUBJECT,
)
from optimization.services.reconcile import (
    reconciliation_decided_within,
    reconciliation_lock,
)


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
        change_set_lock(change_set)


def on_change_set_ticket_resolved(ticket, outcome: str, actor: Actor) -> None:
    change_set = _change_set_of(ticket)
    if change_set is None or not change_set.is_pending:
        return
    if outcome == TicketStatus.APPROVED:
        still_open = subject_blocking_tickets(
            tenant=change_set.tenant, subject_type=SUBJECT_TYPE, subject_id=change_set.change_set_id
        ).exclude(pk=ticket.pk)
        if not still_open.exists():
            change_set_apply_within(change_set=change_set, actor=actor)
        return
    note = f"{ticket.public_id} {outcome.replace('_', ' ')}"
    if ticket.resolution_note:
        note += f": {ticket.resolution_note}"
    change_set_reject_within(change_set=change_set, actor=actor, note=note)


def _recommendation_of(ticket) -> Recommendation | None:
    return (
        Recommendation.objects.filter(tenant_id=ticket.tenant_id, pk=ticket.subject_id)
        .select_related("track", "tenant")
        .first()
        if ticket.subject_id.isdigit()
        else None
    )


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
        recommendation_draft_within(recommendation=recommendation, actor=actor)
    else:
        recommendation_dismiss_within(
            recommendation=recommendation,
            actor=actor,
            note=ticket.resolution_note or outcome.replace("_", " "),
        )


class ChangeSetSubject:
    kind = SUBJECT_TYPE

    def exists(self, tenant, subject_id: str) -> bool:
        return change_set_exists(tenant, subject_id)

    def lock(self, ticket) -> None:
        on_change_set_ticket_locked(ticket)

    def authors(self, ticket) -> dict[int, str]:
        return {}  # agents write change sets; whoever asked for the ticket is four-eyed anyway

    def on_resolved(self, ticket, outcome: str, actor: Actor) -> None:
        on_change_set_ticket_resolved(ticket, outcome, actor)


class RecommendationSubject:
    kind = RECOMMENDATION_SUBJECT

    def exists(self, tenant, subject_id: str) -> bool:
        return recommendation_exists(tenant, subject_id)

    def lock(self, ticket) -> None:
        on_recommendation_ticket_locked(ticket)

    def authors(self, ticket) -> dict[int, str]:
        return {}  # the scan or an agent recommends; no person wrote it

    def on_resolved(self, ticket, outcome: str, actor: Actor) -> None:
        on_recommendation_ticket_resolved(ticket, outcome, actor)


class ReconciliationSubject:
    """An A6 about a difference `reconcile` found: approving accepts the platform's value,
    rejecting restores the manifest's (optimization/services/reconcile.py)."""

    kind = RECONCILIATION_SUBJECT

    def exists(self, tenant, subject_id: str) -> bool:
        return reconciliation_exists(tenant, subject_id)

    def lock(self, ticket) -> None:
        reconciliation_lock(ticket)

    def authors(self, ticket) -> dict[int, str]:
        return {}  # the reconcile run found it; no person wrote it

    def on_resolved(self, ticket, outcome: str, actor: Actor) -> None:
        reconciliation_decided_within(ticket=ticket, outcome=outcome, actor=actor)


class PlatformAccountSubject:
    """An A4 about an agent's access request: approving it grants the access
    (optimization/services/onboarding.py)."""

    kind = PLATFORM_ACCOUNT_SUBJECT

    def exists(self, tenant, subject_id: str) -> bool:
        return platform_account_exists(tenant, subject_id)

    def lock(self, ticket) -> None:
        platform_account_lock(ticket)

    def authors(self, ticket) -> dict[int, str]:
        return {}  # an agent asks for access; no person wrote it

    def on_resolved(self, ticket, outcome: str, actor: Actor) -> None:
        platform_account_decided_within(ticket=ticket, outcome=outcome, actor=actor)
