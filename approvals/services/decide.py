"""Deciding a ticket: one person approves, rejects or asks for changes in the role they hold; the
last approval (or any rejection) closes it and its subject's owner acts on the outcome."""

from __future__ import annotations

from django.db import transaction

from approvals.assignment import actor_for_ticket
from approvals.events import LifecycleKind, lifecycle_emit, ticket_event
from approvals.fingerprint import refuse_if_stale
from approvals.models import VERDICT_OUTCOME, Ticket, TicketDecision, TicketStatus
from approvals.rules import decision_refusal
from approvals.selectors import ticket_approved_slots, ticket_own_work_reason
from approvals.services._common import already_resolved, person_of, person_text, role_in_tenant
from approvals.services.errors import TicketConflict, TicketError, TicketNotAllowed
from approvals.services.locks import ticket_lock
from approvals.services.resolve import ticket_resolve
from approvals.services.waiting import waiting_roles_after_approval
from approvals.types import Verdict, open_slots, slot_for_role
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.text import COMMENT_MAX
from config.transactions import within_transaction
from tenants.models import Role


@transaction.atomic(durable=True)
def ticket_decide(
    *,
    ticket: Ticket,
    actor: Actor,
    verdict: str,
    comment: str = "",
    role: str | None = None,
    shown_hash: str | None = None,
) -> Ticket:
    """One person approves, rejects or asks for changes, in the role they hold in the tenant.

    The ticket row is locked first, so two people clicking at once are serialised: the second
    sees the first one's outcome and gets a clear TicketConflict (or a no-op when it was the same
    person giving the same verdict, e.g. a double click). `shown_hash` (approvals/fingerprint.py)
    is the version of the ticket the person was shown elsewhere (Slack, a bulk confirmation): a
    ticket that no longer hashes the same is refused as stale.
    """
    return ticket_decide_within(
        ticket=ticket,
        actor=actor,
        verdict=verdict,
        comment=comment,
        role=role,
        shown_hash=shown_hash,
    )


@within_transaction
def ticket_decide_within(
    *,
    ticket: Ticket,
    actor: Actor,
    verdict: str,
    comment: str = "",
    role: str | None = None,
    shown_hash: str | None = None,
) -> Ticket:
    """ticket_decide as a step of a bigger transaction (an approval for a smaller move, a run
    cleared with a raised estimate)."""
    # Long on purpose: the decision's steps in order under the ticket's lock (who may, a double
    # click, four eyes, a stale page, a stand-in, the record, audit, event, resolution).
    user = person_of(actor)
    if verdict not in Verdict.values:
        raise TicketError(f"Unknown verdict {verdict!r}; use approve, reject or request_changes.")
    comment = person_text(comment, "comment", COMMENT_MAX)
    ticket = ticket_lock(ticket)
    role = role_in_tenant(user, ticket.tenant_id, role)
    if role == Role.CLIENT and not ticket.client_visible:
        raise TicketNotAllowed("Clients may only act on tickets shown to them.")
    already = ticket.decisions.filter(user=user, verdict=verdict).exists()
    if not ticket.is_open:
        if already:
            return ticket
        raise already_resolved(ticket)
    if already:
        return ticket  # the same approval twice (a double click): nothing more to do
    approved = ticket_approved_slots(ticket)
    _refuse_unless_allowed(ticket, user, role=role, verdict=verdict, approved=approved)
    if verdict != Verdict.APPROVE and not comment and role == Role.CLIENT:
        raise TicketError("Please give a reason.")
    refuse_if_stale(ticket, shown_hash)
    actor = actor_for_ticket(ticket, actor)  # a stand-in acting on an assignment: "pia for paul"
    slot = (
        slot_for_role(ticket.required_roles, role, approved, client_visible=ticket.client_visible)
        if verdict == Verdict.APPROVE
        else ""
    )
    TicketDecision.objects.create(
        ticket=ticket, user=user, role=role, slot=slot or "", verdict=verdict, comment=comment
    )
    if slot:
        approved.add(slot)
    audit_event_append(
        tenant=ticket.tenant_id,
        actor=actor,
        action=AuditAction.TICKET_DECIDED,
        resource=ticket,
        plan_version=ticket.plan_version,
        data={"verdict": verdict, "role": role, "slot": slot or "", "comment": comment},
    )
    final = verdict != Verdict.APPROVE or not open_slots(ticket.required_roles, approved)
    lifecycle_emit(
        [ticket_event(LifecycleKind.TICKET_DECIDED, ticket, actor, verdict=verdict, final=final)]
    )
    if verdict != Verdict.APPROVE:
        ticket_resolve(ticket, outcome=VERDICT_OUTCOME[verdict], actor=actor, note=comment)
    elif not open_slots(ticket.required_roles, approved):
        ticket_resolve(ticket, outcome=TicketStatus.APPROVED, actor=actor, note=comment)
    else:
        waiting_roles_after_approval(ticket, approved_slots=approved)
    return ticket


def _refuse_unless_allowed(ticket: Ticket, user, *, role: str, verdict: str, approved: set[str]):
    """The rules of approvals/rules.py for this person, role and verdict on the open ticket,
    four eyes included: a refusal is a 409 when their slot is filled already, else a 403."""
    refusal = decision_refusal(
        type_id=ticket.type,
        required_roles=ticket.required_roles,
        client_visible=ticket.client_visible,
        role=role,
        verdict=verdict,
        approved_slots=approved,
        own_work_reason=ticket_own_work_reason(ticket, user) if verdict == Verdict.APPROVE else "",
    )
    if refusal is not None:
        error = TicketConflict if refusal.code == "already_decided" else TicketNotAllowed
        raise error(refusal.message, code=refusal.code if refusal.code == "own_work" else None)
