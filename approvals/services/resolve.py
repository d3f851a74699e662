"""Closing a ticket: its final status, its audit event, then its subject's owner acting on the
outcome (approvals/subjects.py `TicketSubject.on_resolved`) in the same transaction."""

from __future__ import annotations

from contextvars import ContextVar

from django.utils import timezone

from approvals.events import LifecycleKind, lifecycle_emit, ticket_event
from approvals.models import Ticket, TicketWaitingRole
from approvals.subjects import subject_for
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.transactions import within_transaction

# The ticket whose outcome its subject's owner is acting on (inside ticket_resolve). Owners
# cancel the subject's other open tickets there (a request for changes on an A5 sends the version
# back to draft and withdraws its A7) without knowing which ticket caused it: ticket_cancel reads
# it here, so the withdrawn ticket can name and link its cause.
_resolving: ContextVar[Ticket | None] = ContextVar("approvals_resolving", default=None)


def resolving_ticket() -> Ticket | None:
    """The ticket whose outcome is being carried out right now, if any."""
    return _resolving.get()


@within_transaction
def ticket_resolve(
    ticket: Ticket,
    *,
    outcome: str,
    actor: Actor,
    note: str = "",
    cancelled_by: Ticket | None = None,
) -> None:
    """Close a locked open ticket, audit it, then let the subject's owner act on the outcome."""
    TicketWaitingRole.objects.filter(ticket=ticket).delete()  # a closed ticket waits for nobody
    ticket.status = outcome
    ticket.resolved_at = timezone.now()
    ticket.resolved_by = actor.user if actor.is_person else None
    ticket.resolved_by_label = str(actor)[:150]
    ticket.resolution_note = note
    ticket.cancelled_by = cancelled_by
    ticket.save(
        update_fields=[
            "status",
            "resolved_at",
            "resolved_by",
            "resolved_by_label",
            "resolution_note",
            "cancelled_by",
            "updated_at",
        ]
    )
    data = {"type": ticket.type, "status": outcome, "note": note}
    if cancelled_by is not None:
        data["cancelled_by"] = cancelled_by.public_id
    audit_event_append(
        tenant=ticket.tenant_id,
        actor=actor,
        action=AuditAction.ticket_resolved(outcome),
        resource=ticket,
        plan_version=ticket.plan_version,
        data=data,
    )
    lifecycle_emit([ticket_event(LifecycleKind.TICKET_RESOLVED, ticket, actor, status=outcome)])
    # Only a ticket the subject's own rules opened decides it; one attached for information
    # closes alone.
    if ticket.governs_subject:
        token = _resolving.set(ticket)
        try:
            subject_for(ticket.subject_type).on_resolved(ticket, outcome, actor)
        finally:
            _resolving.reset(token)
