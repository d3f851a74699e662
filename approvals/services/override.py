"""The A6 manual override (seed 003): an admin pushes an open ticket through, recorded as an A6
ticket of its own."""

from __future__ import annotations

from django.db import transaction

from approvals.models import Ticket, TicketDecision, TicketStatus
from approvals.services._common import already_resolved, person_of, person_text
from approvals.services.errors import TicketConflict, TicketError, TicketNotAllowed
from approvals.services.locks import ticket_lock
from approvals.services.open import TicketRequest, ticket_open_within
from approvals.services.resolve import ticket_resolve
from approvals.types import Opener, SubjectKind, TicketType, Verdict
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from tenants.models import Membership, Role


def _may_override(user, tenant_id: int) -> bool:
    if user.is_superuser:
        return True
    return Membership.objects.filter(user=user, tenant_id=tenant_id, role=Role.ADMIN).exists()


@transaction.atomic(durable=True)
def ticket_override(*, ticket: Ticket, actor: Actor, reason: str) -> Ticket:
    """A6 manual override (seed 003): an admin pushes an open ticket through.

    Records an A6 ticket approved by that admin and linked to the original (and its subject),
    then resolves the original as approved, so what it blocked proceeds through its handler.
    Returns the A6 ticket.
    """
    user = person_of(actor)
    reason = person_text(reason, "reason")
    if not reason:
        raise TicketError("A manual override needs a reason.")
    original = ticket_lock(ticket)
    if not _may_override(user, original.tenant_id):
        raise TicketNotAllowed("Only an admin of this tenant can override a ticket.")
    if original.type == TicketType.A6:
        raise TicketConflict("An A6 override can't itself be overridden.")
    if not original.is_open:
        raise already_resolved(original)
    override = ticket_open_within(_override_request(original, actor=actor, reason=reason))
    override = ticket_lock(override)
    TicketDecision.objects.create(
        ticket=override,
        user=user,
        role=Role.ADMIN,
        slot="admin",
        verdict=Verdict.APPROVE,
        comment=reason,
    )
    audit_event_append(
        tenant=original.tenant_id,
        actor=actor,
        action=AuditAction.TICKET_DECIDED,
        resource=override,
        plan_version=override.plan_version,
        data={"verdict": Verdict.APPROVE, "role": Role.ADMIN, "slot": "admin", "comment": reason},
    )
    ticket_resolve(override, outcome=TicketStatus.APPROVED, actor=actor, note=reason)
    audit_event_append(
        tenant=original.tenant_id,
        actor=actor,
        action=AuditAction.TICKET_OVERRIDDEN,
        resource=original,
        plan_version=original.plan_version,
        data={"override": override.public_id, "reason": reason},
    )
    ticket_resolve(
        original,
        outcome=TicketStatus.APPROVED,
        actor=actor,
        note=f"Manual override {override.public_id}: {reason}",
    )
    return override


def _override_request(original: Ticket, *, actor: Actor, reason: str) -> TicketRequest:
    """The A6 that records the override: about the original ticket, carrying its references
    and a diff preview of the status it forces."""
    return TicketRequest(
        tenant=original.tenant,
        type=TicketType.A6,
        actor=actor,
        title=f"Manual override of {original.public_id}: {original.title}"[:200],
        summary=reason,
        subject_type=SubjectKind.TICKET,
        subject_id=original.public_id,
        opener=Opener.PERSON,
        diff={
            "summary": [f"{original.ticket_type.label} {original.public_id} approved by override."],
            "changes": [
                {
                    "field": "status",
                    "before": original.status,
                    "after": TicketStatus.APPROVED,
                    "note": reason,
                }
            ],
            "raw": {
                "overridden_ticket": original.public_id,
                "subject": f"{original.subject_type}:{original.subject_id}",
            },
        },
        plan_version=original.plan_version,
        change_set_id=original.change_set_id,
        run_id=original.run_id,
        platform=original.platform,
        overrides=original,
    )
