"""Steps the ticket services share (private to the package): who is acting, in which role, and
the words they give."""

from __future__ import annotations

from approvals.models import Ticket
from approvals.services.errors import TicketConflict, TicketError, TicketNotAllowed
from audit.actors import Actor
from config.errors import DomainError
from config.text import REASON_MAX, clean_text
from tenants.models import Membership


def person_text(value: str, name: str, max_length: int = REASON_MAX) -> str:
    """A person's comment or reason, trimmed; refused if it can't be stored or is too long."""
    try:
        return clean_text(value, name=name, max_length=max_length)
    except DomainError as exc:
        raise TicketError(exc.message, fields=exc.fields) from None


def person_of(actor: Actor):
    if not actor.is_person or actor.user is None:
        raise TicketNotAllowed("Only a person can decide on a ticket.")
    return actor.user


def role_in_tenant(user, tenant_id: int, role: str | None) -> str:
    membership = Membership.objects.filter(user=user, tenant_id=tenant_id).first()
    if membership is None:
        raise TicketNotAllowed("You are not a member of this ticket's tenant.")
    if role is not None and role != membership.role:
        raise TicketNotAllowed(f"You hold the {membership.role} role here and can't act as {role}.")
    return membership.role


def already_resolved(ticket: Ticket) -> TicketConflict:
    return TicketConflict(f"{ticket.public_id} is already {ticket.status_label.lower()}.")
