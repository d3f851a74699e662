"""Withdrawing an open ticket (its subject moved on without it)."""

from __future__ import annotations

from django.db import transaction

from approvals.models import Ticket, TicketStatus
from approvals.services._common import already_resolved, person_text
from approvals.services.errors import TicketError
from approvals.services.locks import ticket_lock
from approvals.services.resolve import resolving_ticket, ticket_resolve
from audit.actors import Actor
from config.transactions import within_transaction


@transaction.atomic(durable=True)
def ticket_cancel(*, ticket: Ticket, actor: Actor, reason: str) -> Ticket:
    """Withdraw an open ticket. Cancelling twice is a no-op."""
    return ticket_cancel_within(ticket=ticket, actor=actor, reason=reason)


@within_transaction
def ticket_cancel_within(*, ticket: Ticket, actor: Actor, reason: str) -> Ticket:
    """Withdraw an open ticket as a step of its subject's transition (e.g. its plan draft was
    withdrawn). Cancelling twice is a no-op.

    Called while another ticket's outcome is being carried out (a request for changes on the
    version's A5 withdraws its A7), the cancelled ticket records that ticket as its cause."""
    reason = person_text(reason, "reason")
    if not reason:
        raise TicketError("Say why the ticket is cancelled.")
    ticket = ticket_lock(ticket)
    if ticket.status == TicketStatus.CANCELLED:
        return ticket
    if not ticket.is_open:
        raise already_resolved(ticket)
    cause = resolving_ticket()
    ticket_resolve(
        ticket,
        outcome=TicketStatus.CANCELLED,
        actor=actor,
        note=reason,
        cancelled_by=cause if cause is not None and cause.pk != ticket.pk else None,
    )
    return ticket
