"""Spend reports and the Cost Guard (docs/rules.md "Agent runs"): one LLM call's cost, reported
after the call, added to the run's actual spend; at `trip_multiplier` × the estimate the Cost
Guard trips — the run is blocked and one A9 opens. The gate trips it too, before a call whose
reservation would cross the line (gate.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from agents.models import AgentRun, Reservation, ReservationStatus, SpendReport
from agents.services.runs import (
    ACTUAL,
    SUBJECT_TYPE,
    GateAnswer,
    RunError,
    recent_gate_calls,
    run_refusal,
    usd,
    usd_text,
)
from approvals.models import SlaKind
from approvals.services import TicketRequest, ticket_open_within
from approvals.types import TicketType
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import Conflict, NotFound
from config.transactions import within_transaction
from tenants.models import TenantPolicy


@within_transaction
def cost_guard_trip(run: AgentRun, policy: TenantPolicy, *, detail: str) -> GateAnswer:
    actual, estimate = run.actual_cost_usd, run.estimated_cost_usd
    ticket = ticket_open_within(
        TicketRequest(
            tenant=run.tenant,
            type=TicketType.A9,
            actor=Actor.system("cost_guard"),
            title=(
                f"Cost Guard: {run.run_id} at {usd_text(actual)} of {usd_text(estimate)} estimated"
            ),
            summary=detail
            + " Every LLM call and downstream work on the run is blocked until an operator or "
            "admin clears it (and may raise the estimate) or ends the run.",
            subject_type=SUBJECT_TYPE,
            subject_id=run.run_id,
            run_id=run.run_id,
            requesting_agent=run.agent,
            red_flag={
                "estimated_usd": estimate,
                "actual_usd": actual,
                "reserved_usd": str(run.reserved_usd),
                "trip_multiplier": str(policy.trip_multiplier),
            },
            diff={"summary": [detail], "raw": {"recent_gate_calls": recent_gate_calls(run)}},
            sla_kind=SlaKind.APPROVAL,
            dedupe_key=f"a9:{run.pk}",
        )
    )
    run.cost_block, run.cost_ticket = True, ticket.public_id
    run.save(update_fields=["cost_block", "cost_ticket", "updated_at"])
    audit_event_append(
        tenant=run.tenant_id,
        actor=Actor.system("cost_guard"),
        action=AuditAction.RUN_BLOCKED,
        resource=run,
        data={
            "reason": "cost_guard",
            "ticket": ticket.public_id,
            "actual_usd": str(actual),
            "estimated_usd": str(estimate),
            "reserved_usd": str(run.reserved_usd),
        },
    )
    return replace(run_refusal(run), detail=f"{detail} It waits for {ticket.public_id}.")


@dataclass(frozen=True)
class SpendAnswer:
    run: AgentRun
    ticket: str


@transaction.atomic(durable=True)
def run_spend(
    *,
    tenant,
    run_id: str,
    input_tokens: int,
    output_tokens: int,
    cost_usd,
    reservation: str = "",
) -> SpendAnswer:
    """One LLM call's cost, reported after the call: added to the run's actual spend (settling
    its reservation); at `trip_multiplier` × the estimate the Cost Guard trips — the run is
    blocked and one A9 opens."""
    cost = usd(cost_usd, "cost_usd")
    for name, value in (("input_tokens", input_tokens), ("output_tokens", output_tokens)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
            raise RunError(f"{name} is a whole number from 0.", fields={name: ["from 0"]})
    run_pk = AgentRun.objects.filter(tenant=tenant, run_id=run_id).values_list("pk", flat=True)
    run_pk = next(iter(run_pk), None)
    if run_pk is None:
        raise NotFound(f"No run {run_id!r} for this key's tenant.")
    # The lock order of every spend path: the reservation row, then its run (config/locks.py).
    settled = _reservation_locked(run_pk, reservation, run_id=run_id)
    run = AgentRun.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=run_pk)
    if settled is not None and settled.status == ReservationStatus.SETTLED:
        # The same report again (an agent retrying after a lost answer): its reservation is
        # settled already, so it counts once — the answer is the run as it stands.
        if settled.cost_usd != cost:
            raise Conflict(
                f"Reservation {reservation} was settled at {usd_text(settled.cost_usd)}, not "
                f"{usd_text(cost)}: one call is reported once.",
                code="conflict",
            )
        return SpendAnswer(run=run, ticket=run.cost_ticket if run.cost_block else "")
    _add_spend(run, settled, cost=cost, input_tokens=input_tokens, output_tokens=output_tokens)
    policy = TenantPolicy.objects.get(tenant=tenant)
    line = run.estimated_cost_usd * policy.trip_multiplier
    if not run.cost_block and not run.ended and run.actual_cost_usd >= line:
        cost_guard_trip(
            run,
            policy,
            detail=(
                f"Run {run.run_id} has spent {usd_text(run.actual_cost_usd)}, at least "
                f"{policy.trip_multiplier}× its estimate of {usd_text(run.estimated_cost_usd)} "
                f"(the line is {usd_text(line)})."
            ),
        )
    return SpendAnswer(run=run, ticket=run.cost_ticket if run.cost_block else "")


def _reservation_locked(run_pk: int, reservation: str, *, run_id: str) -> Reservation | None:
    """The reservation the report settles, locked (None when it names none)."""
    if not reservation:
        return None
    settled = (
        Reservation.objects.select_for_update().filter(run_id=run_pk, public_id=reservation).first()
    )
    if settled is None:
        raise RunError(
            f"No reservation {reservation!r} on run {run_id}.",
            fields={"reservation": ["not a reservation of this run"]},
        )
    return settled


def _add_spend(
    run: AgentRun,
    settled: Reservation | None,
    *,
    cost: Decimal,
    input_tokens: int,
    output_tokens: int,
) -> None:
    """Add one call's cost and tokens to the locked run, settle its open reservation (giving
    back what it held), and keep the report."""
    if run.actual_cost_usd + cost > ACTUAL.most:
        # Refused whole, before anything is settled: a report the run can't add up is recorded
        # nowhere (half of it would be a lie about what was spent).
        raise RunError(
            f"cost_usd: this report would take run {run.run_id}'s actual cost to "
            f"{run.actual_cost_usd + cost:,} USD, more than the {ACTUAL.most:,} USD a run can "
            "record; nothing was recorded.",
            fields={"cost_usd": [f"would take the run's actual cost past {ACTUAL.most:,} USD"]},
        )
    held = Decimal("0")
    if settled is not None and settled.status == ReservationStatus.OPEN:
        held = settled.amount_usd
        settled.status = ReservationStatus.SETTLED
        settled.cost_usd, settled.closed_at = cost, timezone.now()
        settled.save(update_fields=["status", "cost_usd", "closed_at"])
    run.actual_cost_usd += cost
    run.reserved_usd = max(run.reserved_usd - held, Decimal("0"))
    run.input_tokens += input_tokens
    run.output_tokens += output_tokens
    run.save(
        update_fields=[
            "actual_cost_usd",
            "reserved_usd",
            "input_tokens",
            "output_tokens",
            "updated_at",
        ]
    )
    SpendReport.objects.create(
        run=run,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost,
        reservation=settled,
        actual_after_usd=run.actual_cost_usd,
    )
