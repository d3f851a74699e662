"""Agent runs: registering a run, reading it, and its standing — why it may not act (ended,
blocked at a loop limit, or by the Cost Guard). The gate (gate.py), spend reports (spend.py)
and reservations (reservations.py) work on the run's row; docs/rules.md "Agent runs",
docs/agent-api.md "Runs, the gate and the Cost Guard"."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from agents.models import COUNTER_NAMES, AgentRun, SpendReport
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import Conflict, DomainError, NotFound
from config.formatting import money
from config.money import AmountInvalid, AmountRule, amount_clean
from config.transactions import within_transaction

SUBJECT_TYPE = "agent_run"
RUN_TABLE = AgentRun._meta.db_table


class RunError(DomainError):
    code = "invalid_run"


# What each column keeps (config/money.py): every amount in is checked against them, and so is
# every running total a spend report or a reservation adds to.
ESTIMATE = AmountRule.of(AgentRun._meta.get_field("estimated_cost_usd"), positive=True)
COST = AmountRule.of(SpendReport._meta.get_field("cost_usd"))
ACTUAL = AmountRule.of(AgentRun._meta.get_field("actual_cost_usd"))
RESERVED = AmountRule.of(AgentRun._meta.get_field("reserved_usd"))


def usd(value, name: str, *, positive: bool = False) -> Decimal:
    """A cost in USD as its column keeps it: finite, from 0 (more than 0 for an estimate)."""
    try:
        return amount_clean(value, ESTIMATE if positive else COST, currency="USD")
    except AmountInvalid as exc:
        raise RunError(f"{name} {exc}.", fields={name: [str(exc)]}) from None


def usd_text(amount: Decimal) -> str:
    return money(amount, "USD")


# --- Runs --------------------------------------------------------------------------------------
@transaction.atomic(durable=True)
def run_create(
    *,
    tenant,
    run_id: str,
    main_task_id: str,
    agent: str,
    model: str,
    estimated_cost_usd,
    actor: Actor,
) -> AgentRun:
    return run_create_within(
        tenant=tenant,
        run_id=run_id,
        main_task_id=main_task_id,
        agent=agent,
        model=model,
        estimated_cost_usd=estimated_cost_usd,
        actor=actor,
    )


@within_transaction
def run_create_within(
    *,
    tenant,
    run_id: str,
    main_task_id: str,
    agent: str,
    model: str,
    estimated_cost_usd,
    actor: Actor,
) -> AgentRun:
    """run_create inside the agent API's idempotent write (api/idempotency.py)."""
    estimate = usd(estimated_cost_usd, "estimated_cost_usd", positive=True)
    if AgentRun.objects.filter(tenant=tenant, run_id=run_id).exists():
        raise Conflict(f"A run {run_id!r} exists already: send a new run_id.")
    run = AgentRun.objects.create(
        tenant=tenant,
        run_id=run_id,
        main_task_id=main_task_id,
        agent=agent,
        model=model,
        estimated_cost_usd=estimate,
        created_by=str(actor)[:150],
    )
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action=AuditAction.RUN_CREATED,
        resource=run,
        data={
            "main_task_id": main_task_id,
            "agent": agent,
            "model": model,
            "estimated_cost_usd": str(estimate),
        },
    )
    return run


def run_get(*, tenant, run_id: str) -> AgentRun:
    run = AgentRun.objects.filter(tenant=tenant, run_id=run_id).first()
    if run is None:
        raise NotFound(f"No run {run_id!r} for this key's tenant.")
    return run


@dataclass(frozen=True)
class GateAnswer:
    allowed: bool
    counts: dict[str, int]
    state: str
    reservation: str | None = None
    reason: str = ""
    ticket: str = ""
    detail: str = ""
    extra: dict = field(default_factory=dict)


def refusal_answer(run: AgentRun, *, reason: str, ticket: str, detail: str) -> GateAnswer:
    return GateAnswer(
        allowed=False,
        counts=run.counts,
        state=run.state,
        reason=reason,
        ticket=ticket,
        detail=detail,
    )


def recent_gate_calls(run: AgentRun) -> list[dict]:
    calls = run.gate_calls.order_by("-at", "-id")[:10]
    return [
        {
            "kind": call.kind,
            "allowed": call.allowed,
            "reason": call.reason,
            "at": call.at.isoformat(),
        }
        for call in reversed(list(calls))
    ]


def run_refusal(run: AgentRun) -> GateAnswer | None:
    """The refusal of a run that is ended or already blocked (no new ticket), or None."""
    if run.ended:
        return refusal_answer(
            run, reason="run_ended", ticket="", detail=f"Run {run.run_id} has ended."
        )
    if run.loop_block:
        name = COUNTER_NAMES[run.loop_block]
        return refusal_answer(
            run,
            reason=f"loop_limit:{name}",
            ticket=run.loop_ticket,
            detail=f"Run {run.run_id} hit its {name} limit and waits for {run.loop_ticket} "
            "(an operator or admin clears it or ends the run).",
        )
    if run.cost_block:
        return refusal_answer(
            run,
            reason="cost_guard",
            ticket=run.cost_ticket,
            detail=f"The Cost Guard tripped on run {run.run_id}: it waits for {run.cost_ticket}.",
        )
    return None


def run_blocked_reason(tenant, run_id: str) -> str | None:
    """Why a run may not act (change sets carrying it get 423); approvals.subjects.RunStanding
    asks it."""
    run = AgentRun.objects.filter(tenant=tenant, run_id=run_id).first()
    if run is None:
        return None
    answer = run_refusal(run)
    return answer.detail if answer else None


def run_exists(tenant, run_id) -> bool:
    return AgentRun.objects.filter(tenant=tenant, run_id=str(run_id)).exists()
