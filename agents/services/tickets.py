"""Agent runs as ticket subjects (approvals/subjects.py): what agents does when an A8 or A9 about a
run is locked and decided, and the A9 clearance that raises the run's estimate. Registered in
agents/apps.py."""

from __future__ import annotations

from django.db import transaction

from agents.models import AgentRun
from agents.services.runs import (
    SUBJECT_TYPE,
    RunError,
    run_blocked_reason,
    run_exists,
    usd,
    usd_text,
)
from approvals.models import Ticket, TicketStatus
from approvals.selectors import subject_blocking_tickets
from approvals.services import subject_tickets_lock, ticket_cancel_within, ticket_decide_within
from approvals.types import TicketType, Verdict
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import Conflict
from config.text import REASON_MAX, clean_text
from tenants.models import TenantPolicy


def _run_of(ticket) -> AgentRun | None:
    return AgentRun.objects.filter(tenant_id=ticket.tenant_id, run_id=ticket.subject_id).first()


class AgentRunSubject:
    kind = SUBJECT_TYPE

    def exists(self, tenant, subject_id: str) -> bool:
        return run_exists(tenant, subject_id)

    def lock(self, ticket) -> None:
        on_run_ticket_locked(ticket)

    def authors(self, ticket) -> dict[int, str]:
        return {}  # agents run runs

    def on_resolved(self, ticket, outcome: str, actor: Actor) -> None:
        on_run_ticket_resolved(ticket, outcome, actor)


class AgentRunStanding:
    """Whether a run may still act (approvals.subjects.RunStanding): change sets ask it."""

    def blocked_reason(self, tenant, run_id: str) -> str | None:
        return run_blocked_reason(tenant, run_id)


def on_run_ticket_locked(ticket) -> None:
    run = _run_of(ticket)
    if run is not None:
        AgentRun.objects.select_for_update().filter(pk=run.pk).first()


def on_run_ticket_resolved(ticket, outcome: str, actor: Actor) -> None:
    """Approve (clear) = the run goes on: an A8's exhausted counter restarts, an A9 stops
    blocking (with a raised estimate when the clearance gave one). Reject = the run ends."""
    run = (
        AgentRun.objects.select_for_update()
        .filter(tenant_id=ticket.tenant_id, run_id=ticket.subject_id)
        .first()
    )
    if run is None or run.ended:
        return
    reason = ticket.resolution_note or outcome.replace("_", " ")
    if outcome == TicketStatus.APPROVED:
        _run_clear(run, ticket, actor, reason=reason)
    else:
        _run_end(run, ticket, actor, reason=reason)


def _run_end(run: AgentRun, ticket, actor: Actor, *, reason: str) -> None:
    run.ended, run.loop_block, run.cost_block = True, "", False
    run.ended_at = ticket.resolved_at
    run.save(update_fields=["ended", "ended_at", "loop_block", "cost_block", "updated_at"])
    audit_event_append(
        tenant=run.tenant_id,
        actor=actor,
        action=AuditAction.RUN_ENDED,
        resource=run,
        data={"ticket": ticket.public_id, "reason": reason},
    )
    # An ended run waits for nothing more: its other red flag closes with it.
    for other in subject_blocking_tickets(
        tenant=run.tenant, subject_type=SUBJECT_TYPE, subject_id=run.run_id
    ).exclude(pk=ticket.pk):
        ticket_cancel_within(ticket=other, actor=actor, reason=f"Run ended by {ticket.public_id}.")


def _run_clear(run: AgentRun, ticket, actor: Actor, *, reason: str) -> None:
    """The block the ticket is about lifts: an A8's counter restarts at 0, an A9's Cost Guard
    stops blocking — unless the run would trip again on its next call."""
    fields = ["updated_at"]
    cleared = {}
    if ticket.type == TicketType.A8 and run.loop_block:
        counter = run.loop_block
        cleared = {"counter": counter, "was": getattr(run, counter)}
        setattr(run, counter, 0)
        run.loop_block = ""
        fields += [counter, "loop_block"]
    elif ticket.type == TicketType.A9 and run.cost_block:
        line = (
            run.estimated_cost_usd
            * TenantPolicy.objects.get(tenant_id=run.tenant_id).trip_multiplier
        )
        held = run.actual_cost_usd + run.reserved_usd
        if held >= line:
            # Cleared as it is, the run would trip again on its next call: raise it first.
            raise RunError(
                f"Run {run.run_id} has {usd_text(held)} spent or reserved, at or past its line of "
                f"{usd_text(line)}: raise its estimate (on the run's page) to clear it.",
                code="estimate_too_low",
            )
        cleared = {"cost_guard": True, "estimated_usd": str(run.estimated_cost_usd)}
        run.cost_block = False
        fields += ["cost_block"]
    if cleared:
        run.save(update_fields=fields)
        audit_event_append(
            tenant=run.tenant_id,
            actor=actor,
            action=AuditAction.RUN_RESUMED,
            resource=run,
            data={"ticket": ticket.public_id, "reason": reason, **cleared},
        )


@transaction.atomic(durable=True)
def run_cost_guard_clear(
    *, run: AgentRun, actor: Actor, estimated_cost_usd=None, reason: str
) -> AgentRun:
    """An operator or admin clears a run's A9, raising its estimate (with the reason) when the
    work really costs more: the run's next gate call is measured against the new line."""
    reason = clean_text(reason, name="reason", max_length=REASON_MAX)
    if not reason:
        raise RunError("Say why the run may go on.", fields={"reason": ["required"]})
    subject_tickets_lock(tenant=run.tenant_id, subject_type=SUBJECT_TYPE, subject_id=run.run_id)
    run = AgentRun.objects.select_for_update().get(pk=run.pk)
    ticket = (
        subject_blocking_tickets(
            tenant=run.tenant, subject_type=SUBJECT_TYPE, subject_id=run.run_id
        )
        .filter(type=TicketType.A9)
        .first()
    )
    if ticket is None or not run.cost_block:
        raise Conflict(f"Run {run.run_id} has no open Cost Guard ticket.", code="not_blocked")
    if estimated_cost_usd not in (None, ""):
        estimate = usd(estimated_cost_usd, "estimated_cost_usd", positive=True)
        if estimate <= run.estimated_cost_usd:
            raise RunError(
                f"A raised estimate is more than {usd_text(run.estimated_cost_usd)}.",
                fields={"estimated_cost_usd": ["not more than the current estimate"]},
            )
        before = run.estimated_cost_usd
        run.estimated_cost_usd = estimate
        run.save(update_fields=["estimated_cost_usd", "updated_at"])
        audit_event_append(
            tenant=run.tenant_id,
            actor=actor,
            action=AuditAction.RUN_ESTIMATE_RAISED,
            resource=run,
            data={"before": str(before), "after": str(estimate), "reason": reason},
        )
    ticket_decide_within(
        ticket=Ticket.objects.get(pk=ticket.pk),
        actor=actor,
        verdict=Verdict.APPROVE,
        comment=reason,
    )
    run.refresh_from_db()
    return run
