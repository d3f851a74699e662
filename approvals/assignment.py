"""Named responders (issue 19.3): a ticket may be assigned to a person who holds a role it waits
for. Others with the role may still decide; the assignee is told and shown. While the assignee is
away (tenants/away.py) the stand-in is the responder, and what the stand-in decides on it is
audited as "pia for paul". Assigning never touches the SLA clock."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from approvals.events import LifecycleKind, lifecycle_emit, ticket_event
from approvals.models import Ticket, TicketWaitingRole
from approvals.selectors import ticket_own_work_reason
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import DomainError
from tenants.away import stand_ins_today
from tenants.models import INTERNAL_ROLES, Membership


class AssignmentRefused(DomainError):
    code = "assignment_refused"
    status = 422


@dataclass(frozen=True)
class Responder:
    """Who answers for an assigned ticket today: the assignee, or their stand-in while they are
    away (then `for_user` is the assignee)."""

    user: object
    for_user: object | None = None

    @property
    def label(self) -> str:
        name = self.user.get_username()
        return f"{name} for {self.for_user.get_username()}" if self.for_user else name


def ticket_responder(ticket: Ticket) -> Responder | None:
    if ticket.assignee_id is None:
        return None
    routed = stand_ins_today(tenant=ticket.tenant, user_ids=[ticket.assignee_id])[
        ticket.assignee_id
    ]
    if routed.for_user_id is None:
        return Responder(ticket.assignee)
    return Responder(get_user_model().objects.get(pk=routed.user_id), for_user=ticket.assignee)


def actor_for_ticket(ticket: Ticket, actor: Actor) -> Actor:
    """The actor as the audit names it: the assignee's stand-in acting on an assigned ticket
    while the assignee is away reads "pia for paul"."""
    if actor.type != "user" or ticket.assignee_id in (None, actor.user.pk):
        return actor
    responder = ticket_responder(ticket)
    if responder is None or responder.for_user is None or responder.user.pk != actor.user.pk:
        return actor
    return Actor(
        type=actor.type, id=actor.id, label=responder.label, user=actor.user, agent_key=None
    )


@transaction.atomic(durable=True)
def ticket_assign(*, ticket: Ticket, actor: Actor, assignee) -> Ticket:
    """Assign an open ticket to `assignee` (None: nobody). The person assigning works in the
    tenant; the assignee holds a role the ticket still waits for and may approve it (four eyes).
    """
    ticket = (
        Ticket.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=ticket.pk)
    )
    if (
        actor.is_person
        and not Membership.objects.filter(
            user=actor.user, tenant_id=ticket.tenant_id, role__in=INTERNAL_ROLES
        ).exists()
    ):
        raise AssignmentRefused("Only people working in the ticket's tenant assign it.")
    if not ticket.is_open:
        raise AssignmentRefused(f"{ticket.public_id} is already {ticket.status_label.lower()}.")
    if assignee is not None:
        waiting = set(
            TicketWaitingRole.objects.filter(ticket=ticket).values_list("role", flat=True)
        )
        role = (
            Membership.objects.filter(user=assignee, tenant_id=ticket.tenant_id)
            .values_list("role", flat=True)
            .first()
        )
        if role not in waiting:
            raise AssignmentRefused(
                f"{assignee.get_username()} holds no role {ticket.public_id} waits for "
                f"({', '.join(sorted(waiting)) or 'nobody'})."
            )
        own = ticket_own_work_reason(ticket, assignee)
        if own:
            raise AssignmentRefused(
                f"{assignee.get_username()} can't approve it: {own.replace('you ', 'they ', 1)}."
            )
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    previous = ticket.assignee
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    responder = ticket_responder(ticket)
    audit_event_append(
        tenant=ticket.tenant_id,
        actor=actor,
        action=AuditAction.TICKET_ASSIGNED,
        resource=ticket,
        plan_version=ticket.plan_version,
        data={
            "assignee": assignee.get_username() if assignee else None,
            "previous": previous.get_username() if previous else None,
            "responder": responder.label if responder else None,
        },
    )
    lifecycle_emit([ticket_event(LifecycleKind.TICKET_ASSIGNED, ticket, actor)])
    return ticket


def assignment_context(ticket: Ticket) -> dict:
    """Who answers for the ticket now, and whom it may be assigned to (people holding a role it
    still waits for)."""
    responder = ticket_responder(ticket)
    candidates = []
    if ticket.is_open:
        roles = TicketWaitingRole.objects.filter(ticket=ticket).values_list("role", flat=True)
        candidates = [
            m.user
            for m in Membership.objects.filter(tenant_id=ticket.tenant_id, role__in=list(roles))
            .exclude(role="client")
            .select_related("user")
            .order_by("user__username")
        ]
    return {"responder": responder, "candidates": candidates}
