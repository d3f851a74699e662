"""The "my queue" rows: which roles an open ticket waits for (TicketWaitingRole)."""

from __future__ import annotations

from django.db import transaction

from approvals.models import Ticket, TicketDecision, TicketStatus, TicketWaitingRole
from approvals.types import Verdict, open_slots, roles_that_may_approve


def waiting_rows(ticket: Ticket, *, approved_slots: set[str]) -> list[TicketWaitingRole]:
    """The "my queue" rows of an open ticket: a role per open slot it may fill."""
    roles = roles_that_may_approve(
        open_slots(ticket.required_roles, approved_slots), client_visible=ticket.client_visible
    )
    return [
        TicketWaitingRole(
            ticket=ticket,
            tenant_id=ticket.tenant_id,
            role=role,
            ticket_created_at=ticket.created_at,
        )
        for role in sorted(roles)
    ]


def waiting_roles_after_approval(ticket: Ticket, *, approved_slots: set[str]) -> None:
    """An approval filled a slot: the roles that only that slot accepted stop waiting."""
    still_waiting = [row.role for row in waiting_rows(ticket, approved_slots=approved_slots)]
    TicketWaitingRole.objects.filter(ticket=ticket).exclude(role__in=still_waiting).delete()


@transaction.atomic(durable=True)
def ticket_waiting_roles_rebuild(*, tenant_ids: list[int] | None = None) -> int:
    """Write the "my queue" rows afresh for tickets that were bulk-loaded around the services
    (benchmarks, imports); returns how many rows now wait. The services keep them up to date
    otherwise. Derived rows only, no ticket changes: nothing to audit."""
    tickets = Ticket.objects.filter(status=TicketStatus.OPEN)
    if tenant_ids is not None:
        tickets = tickets.filter(tenant_id__in=tenant_ids)
    TicketWaitingRole.objects.filter(ticket__in=tickets.values("pk")).delete()
    approved: dict[int, set[str]] = {}
    for ticket_id, slot in TicketDecision.objects.filter(
        ticket__in=tickets.values("pk"), verdict=Verdict.APPROVE
    ).values_list("ticket_id", "slot"):
        approved.setdefault(ticket_id, set()).add(slot)
    rows = []
    for ticket in tickets.only(
        "pk", "tenant_id", "required_roles", "client_visible", "created_at"
    ).iterator(chunk_size=5000):
        rows.extend(waiting_rows(ticket, approved_slots=approved.get(ticket.pk, set())))
    TicketWaitingRole.objects.bulk_create(rows, batch_size=5000)
    return len(rows)
