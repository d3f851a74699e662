"""The first steps of the lock order (config/locks.py): a ticket with the other open tickets
about its subject, then — through the subject's owner — the subject."""

from __future__ import annotations

from django.db.models import Q

from approvals.models import Ticket, TicketStatus
from approvals.subjects import subject_for
from config.transactions import within_transaction


@within_transaction
def subject_tickets_lock(*, tenant, subject_type: str, subject_id: str) -> list[int]:
    """Lock the open tickets about one subject, by primary key: the first step of the lock order
    (config/locks.py) for a transition of the subject itself (e.g. withdrawing a version)."""
    return list(
        Ticket.objects.select_for_update()
        .filter(
            tenant=tenant,
            subject_type=subject_type,
            subject_id=subject_id,
            status=TicketStatus.OPEN,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@within_transaction
def ticket_lock(ticket: Ticket) -> Ticket:
    """Lock the ticket in the product's lock order (config/locks.py): the ticket with the other
    open tickets about the same subject, by primary key, then — through the subject's owner —
    the subject and what its transition would change. Nothing is written before this."""
    if ticket.subject_type:
        siblings = Q(
            tenant_id=ticket.tenant_id,
            subject_type=ticket.subject_type,
            subject_id=ticket.subject_id,
            status=TicketStatus.OPEN,
        )
        list(
            Ticket.objects.select_for_update()
            .filter(Q(pk=ticket.pk) | siblings)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    # Only the ticket (of=self): its tenant row locked too would make every insert that
    # references the tenant wait at commit for this decision (config/locks.py).
    locked = (
        Ticket.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=ticket.pk)
    )
    if locked.governs_subject:
        subject_for(locked.subject_type).lock(locked)
    return locked
