"""Plan versions as ticket subjects (approvals/subjects.py): what plans does when a ticket about a
version is locked and decided. Registered in plans/apps.py."""

from __future__ import annotations

from approvals.models import TicketStatus
from approvals.selectors import subject_blocking_tickets
from approvals.types import SubjectKind
from audit.actors import Actor
from plans.models import SUBJECT_TYPE, PlanStatus, PlanVersion, Track
from plans.selectors import version_exists
from plans.services.transitions import (
    plan_version_approve_within,
    plan_version_reject_within,
    plan_version_request_changes_within,
    subject_closure_lock,
)


def _version_of(ticket) -> PlanVersion | None:
    return (
        PlanVersion.objects.select_related("track", "tenant", "parent")
        .filter(tenant_id=ticket.tenant_id, number=int(ticket.subject_id))
        .first()
    )


class PlanVersionSubject:
    kind = SUBJECT_TYPE

    def exists(self, tenant, subject_id: str) -> bool:
        return subject_id.isdigit() and version_exists(tenant, int(subject_id))

    def lock(self, ticket) -> None:
        """Lock the version and what its approval would change, so the decision takes every
        lock in the product's order (config/locks.py)."""
        version = _version_of(ticket)
        if version is not None:
            subject_closure_lock(version)

    def authors(self, ticket) -> dict[int, str]:
        return version_authors(ticket)

    def on_resolved(self, ticket, outcome: str, actor: Actor) -> None:
        version_ticket_resolved(ticket, outcome, actor)


def version_authors(ticket) -> dict[int, str]:
    """Who wrote the version a ticket is about (four eyes keeps them from approving it)."""
    version = (
        PlanVersion.objects.filter(tenant_id=ticket.tenant_id, number=int(ticket.subject_id))
        .only("number", "drafted_by_user_id", "edited_by_user_id", "submitted_by")
        .first()
    )
    if version is None:
        return {}
    authors = {}
    if version.edited_by_user_id:
        authors[version.edited_by_user_id] = f"you last edited v{version.number}"
    if version.drafted_by_user_id:
        authors[version.drafted_by_user_id] = f"you drafted v{version.number}"
    return authors


def version_ticket_resolved(ticket, outcome: str, actor: Actor) -> None:
    """Called inside the transaction that resolves a ticket about a plan version."""
    version = _version_of(ticket)
    if version is None:
        return
    # Locked already (PlanVersionSubject.lock); reading it again under the lock, two tickets
    # resolved at the same moment (A5 and A7) are serialised, and the second one sees the first
    # one's outcome (READ COMMITTED re-reads after the lock), so the version can't be left
    # pending.
    version = subject_closure_lock(version)
    if version.status != PlanStatus.PENDING_APPROVAL:
        return
    note = f"{ticket.public_id} {outcome.replace('_', ' ')}"
    if ticket.resolution_note:
        note += f": {ticket.resolution_note}"
    if outcome == TicketStatus.APPROVED:
        still_open = subject_blocking_tickets(
            tenant=version.tenant, subject_type=SUBJECT_TYPE, subject_id=str(version.number)
        ).exclude(pk=ticket.pk)
        if not still_open.exists():
            plan_version_approve_within(version=version, actor=actor)
    elif outcome == TicketStatus.REJECTED:
        plan_version_reject_within(version=version, actor=actor, note=note)
    elif outcome in (TicketStatus.CHANGES_REQUESTED, TicketStatus.CANCELLED):
        # A ticket cancelled from outside (not by our own withdraw, which changes the status
        # first) leaves nothing to approve the version with: it goes back to draft.
        plan_version_request_changes_within(version=version, actor=actor, note=note)


class TrackSubject:
    """A track, as a ticket about it names it (by key). Tickets only inform about a track (an A7
    on it blocks creative launches there while open, approvals.selectors): nothing to lock or
    decide."""

    kind = SubjectKind.TRACK

    def exists(self, tenant, subject_id: str) -> bool:
        return Track.objects.filter(tenant=tenant, key=subject_id).exists()

    def lock(self, ticket) -> None:
        return None

    def authors(self, ticket) -> dict[int, str]:
        return {}

    def on_resolved(self, ticket, outcome: str, actor: Actor) -> None:
        return None
