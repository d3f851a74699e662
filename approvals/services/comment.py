"""Comments on a ticket: its conversation, audited like every change."""

from __future__ import annotations

from django.db import transaction

from approvals.models import Ticket, TicketComment
from approvals.services._common import person_text, role_in_tenant
from approvals.services.errors import TicketError, TicketNotAllowed
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.text import COMMENT_MAX
from config.transactions import within_transaction
from tenants.models import Role


@transaction.atomic(durable=True)
def ticket_comment_add(*, ticket: Ticket, actor: Actor, body: str) -> TicketComment:
    return ticket_comment_add_within(ticket=ticket, actor=actor, body=body)


@within_transaction
def ticket_comment_add_within(*, ticket: Ticket, actor: Actor, body: str) -> TicketComment:
    """A comment written as a step of a bigger transaction (a stale change set saying what
    moved)."""
    body = person_text(body, "comment", COMMENT_MAX)
    if not body:
        raise TicketError("A comment can't be empty.")
    user = None
    if actor.is_person:
        user = actor.user
        role = role_in_tenant(user, ticket.tenant_id, None)
        if role == Role.CLIENT and not ticket.client_visible:
            raise TicketNotAllowed("Clients may only comment on tickets shown to them.")
    comment = TicketComment.objects.create(
        ticket=ticket, user=user, author_label=str(actor)[:150], body=body
    )
    audit_event_append(
        tenant=ticket.tenant_id,
        actor=actor,
        action=AuditAction.TICKET_COMMENTED,
        resource=ticket,
        plan_version=ticket.plan_version,
        data={"comment_id": comment.pk, "body": body},
    )
    return comment
