"""Reads of tickets. Every list a person sees goes through `tickets_for_user` (tenant scoping and
the client rule: a client sees only client-visible tickets of their own tenants)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from approvals.models import Ticket, TicketStatus, Verdict
from approvals.rules import VERDICTS, decision_refusal
from approvals.types import open_slots
from tenants.access import tenant_ids_for
from tenants.models import INTERNAL_ROLES, Membership, Role


def subject_blocking_tickets(*, tenant, subject_type: str, subject_id: str) -> QuerySet[Ticket]:
    """Open tickets about this subject: what they block stays blocked until they resolve."""
    return Ticket.objects.filter(
        tenant=tenant,
        subject_type=subject_type,
        subject_id=str(subject_id),
        status=TicketStatus.OPEN,
    )


def tickets_for_user(*, user) -> QuerySet[Ticket]:
    """Tickets of the user's tenants; in a tenant where they are a client, only client-visible."""
    internal = tenant_ids_for(user, roles=INTERNAL_ROLES)
    client = tenant_ids_for(user, roles=[Role.CLIENT])
    return Ticket.objects.filter(
        Q(tenant__in=internal) | (Q(tenant__in=client) & Q(client_visible=True))
    )


def ticket_approved_slots(ticket: Ticket) -> set[str]:
    return set(ticket.decisions.filter(verdict=Verdict.APPROVE).values_list("slot", flat=True))


@dataclass(frozen=True)
class TicketProgress:
    approved: list[str]  # slots approved so far, in required order
    pending: list[str]  # slots still waiting


def ticket_progress(ticket: Ticket) -> TicketProgress:
    approved = ticket_approved_slots(ticket)
    return TicketProgress(
        approved=[slot for slot in ticket.required_roles if slot in approved],
        pending=open_slots(ticket.required_roles, approved),
    )


def ticket_allowed_verdicts(*, ticket: Ticket, user) -> list[str]:
    """The verdicts `user` may give now (for showing buttons); ticket_decide enforces the same."""
    if not ticket.is_open or not user.is_authenticated:
        return []
    membership = Membership.objects.filter(user=user, tenant_id=ticket.tenant_id).first()
    if membership is None:
        return []
    approved_by_user = ticket.decisions.filter(user=user, verdict=Verdict.APPROVE).exists()
    approved = ticket_approved_slots(ticket)
    allowed = []
    for verdict in VERDICTS:
        if verdict == Verdict.APPROVE and approved_by_user:
            continue
        refusal = decision_refusal(
            type_id=ticket.type,
            required_roles=ticket.required_roles,
            client_visible=ticket.client_visible,
            role=membership.role,
            verdict=verdict,
            approved_slots=approved,
        )
        if refusal is None:
            allowed.append(verdict)
    return allowed
