"""Agent runs, the gate and the Cost Guard (docs/rules.md "Agent runs", docs/agent-api.md
"Runs, the gate and the Cost Guard"). Deterministic code, not an agent.

The gate is the hottest path of the product. An allowed call is one conditional UPDATE of the
run's row — it counts the step only if the run is not blocked and the counter stays within the
tenant's ceiling, reading the ceilings from the tenant policy in the same statement — plus the
insert of the call into the run's own log. Concurrent calls queue on the row, and PostgreSQL
re-checks the condition on the row as the previous call left it, so no burst can let more
steps through than the ceiling. Only a refusal does more: it locks the run, finds which limit
was reached, blocks the run and opens its one A8 (or A9) ticket.

Reservations close the Cost Guard's known gap (spend is reported after a call, so concurrent
calls could overshoot the line): an llm_call that states its expected cost adds it to the run's
open reservations in the same conditional UPDATE, allowed only while actual + reserved +
expected stays under the trip line. The spend report settles it; an unsettled reservation
lapses after 15 minutes; a report of 0 or an explicit release frees it early.

Lock order (config/locks.py): a reservation row before its run; a run before the audit chain
head. Allowed steps are counted on the run and kept in its log, not in the audit chain; what
changes a run's standing is audited.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from agents.models import (
    CEILING_OF,
    COUNTER_NAMES,
    COUNTER_OF,
    AgentRun,
    GateCall,
    GateKind,
    Reservation,
    ReservationStatus,
    SpendReport,
)
from approvals.models import SlaKind
from approvals.services import ticket_open
from approvals.types import TicketType
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import Conflict, DomainError, NotFound
from config.formatting import money
from config.money import AmountInvalid, AmountRule, amount_clean
from tenants.models import TenantPolicy

SUBJECT_TYPE = "agent_run"
RESERVATION_MINUTES = 15
RUN = AgentRun._meta.db_table
POLICY = TenantPolicy._meta.db_table
RESERVATION = Reservation._meta.db_table


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
@transaction.atomic
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


# --- The gate --------------------------------------------------------------------------------
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


# The updated table is named in full (SQLite takes no alias on it), the policy as p.
R = RUN
_NOT_BLOCKED = f"NOT {R}.ended AND {R}.loop_block = '' AND NOT {R}.cost_block"
_WHERE_RUN = (
    f"WHERE {R}.tenant_id = %(tenant)s AND {R}.run_id = %(run_id)s AND p.tenant_id = {R}.tenant_id"
)
_RETURNING = (
    f"RETURNING {R}.id, {R}.steps, {R}.tool_rounds, {R}.qc_corrections, "
    f"{R}.orchestrator_retries, {R}.global_steps"
)


def _counting_sql(kind: str) -> str:
    counter = COUNTER_OF[kind]
    own_limit = (
        f" AND {R}.{counter} + 1 <= p.{CEILING_OF[counter]}" if counter in CEILING_OF else ""
    )
    return (
        f"UPDATE {R} SET {counter} = {R}.{counter} + 1, global_steps = {R}.global_steps + 1, "
        f"updated_at = %(now)s FROM {POLICY} AS p {_WHERE_RUN} AND {_NOT_BLOCKED}{own_limit} "
        f"AND {R}.global_steps + 1 <= p.global_steps_per_run_id_max {_RETURNING}"
    )


_COUNTING_SQL = {kind: _counting_sql(kind) for kind in COUNTER_OF}


def _llm_sql(*, reserving: bool) -> str:
    under_the_line = (
        f" AND {R}.actual_cost_usd + {R}.reserved_usd + %(expected)s "
        f"< {R}.estimated_cost_usd * p.trip_multiplier"
        f" AND {R}.reserved_usd + %(expected)s <= %(reserved_most)s"
        if reserving
        else ""
    )
    return (
        f"UPDATE {R} SET llm_calls = {R}.llm_calls + 1, "
        f"reserved_usd = {R}.reserved_usd + %(expected)s, updated_at = %(now)s "
        f"FROM {POLICY} AS p {_WHERE_RUN} AND {_NOT_BLOCKED}{under_the_line} {_RETURNING}"
    )


_LLM_SQL = {reserving: _llm_sql(reserving=reserving) for reserving in (False, True)}
GATE = GateCall._meta.db_table


def _in_one_statement(update_sql: str, *, reserving: bool) -> str:
    """PostgreSQL: count the call, log it (and hold its reservation) in ONE statement, run in
    autocommit — a single round trip and nothing left half done: the run's counters, its log
    and its reservations move together or not at all."""
    reserve = (
        f", reserved AS (INSERT INTO {RESERVATION} (run_id, public_id, amount_usd, status, "
        f"created_at, expires_at) SELECT id, %(reservation)s, %(expected)s, 'open', %(now)s, "
        f"%(expires)s FROM counted)"
        if reserving
        else ""
    )
    return (
        f"WITH counted AS ({update_sql}), logged AS (INSERT INTO {GATE} (run_id, kind, allowed, "
        f"reason, global_steps, expected_cost_usd, at) SELECT id, %(kind)s, TRUE, '', "
        f"global_steps, %(logged_expected)s, %(now)s FROM counted){reserve} SELECT * FROM counted"
    )


_PG_SQL = {
    **{kind: _in_one_statement(sql, reserving=False) for kind, sql in _COUNTING_SQL.items()},
    (GateKind.LLM_CALL, False): _in_one_statement(_LLM_SQL[False], reserving=False),
    (GateKind.LLM_CALL, True): _in_one_statement(_LLM_SQL[True], reserving=True),
}
_PG_LAPSE_SQL = (
    f"WITH lapsed AS (UPDATE {RESERVATION} SET status = 'lapsed', closed_at = %(now)s "
    f"WHERE run_id = (SELECT id FROM {R} WHERE tenant_id = %(tenant)s AND run_id = %(run_id)s) "
    f"AND status = 'open' AND expires_at <= %(now)s RETURNING run_id, amount_usd) "
    f"UPDATE {R} SET reserved_usd = GREATEST({R}.reserved_usd - "
    f"(SELECT SUM(amount_usd) FROM lapsed), 0) WHERE id IN (SELECT run_id FROM lapsed)"
)
_LAPSE_SQL = (
    f"UPDATE {RESERVATION} SET status = 'lapsed', closed_at = %(now)s "
    f"WHERE run_id = (SELECT id FROM {R} WHERE tenant_id = %(tenant)s AND run_id = %(run_id)s) "
    f"AND status = 'open' AND expires_at <= %(now)s RETURNING run_id, amount_usd"
)


def _counts(row) -> dict[str, int]:
    return dict(zip(COUNTER_NAMES.values(), row[1:6], strict=True))


def _lapse_reservations(params: dict) -> None:
    """Expired reservations stop holding money: lapse them and give their amount back to the
    run (reservation rows first, then the run: the lock order of every spend path)."""
    with connection.cursor() as cursor:
        cursor.execute(_LAPSE_SQL, params)
        lapsed = cursor.fetchall()
    if lapsed:
        total = sum((Decimal(str(amount)) for _run, amount in lapsed), Decimal("0"))
        AgentRun.objects.filter(pk=lapsed[0][0]).update(
            reserved_usd=models_greatest_zero("reserved_usd", total)
        )


def models_greatest_zero(column: str, minus: Decimal):
    """`column` - `minus`, never under zero (an expression for .update())."""
    return Greatest(F(column) - Value(minus), Value(Decimal("0")))


def run_gate(*, tenant, run_id: str, kind: str, expected_cost_usd=None) -> GateAnswer:
    """Ask before a step: counted and allowed, or refused (423) with why.

    An allowed call is one statement on PostgreSQL (see `_in_one_statement`); on SQLite, and
    for every refusal, one transaction."""
    if kind not in GateKind.values:
        raise RunError(
            f"kind is one of {', '.join(GateKind.values)}.", fields={"kind": ["unknown"]}
        )
    expected = Decimal("0")
    if expected_cost_usd is not None:
        if kind != GateKind.LLM_CALL:
            raise RunError(
                "expected_cost_usd goes with an llm_call.",
                fields={"expected_cost_usd": ["only for llm_call"]},
            )
        expected = usd(expected_cost_usd, "expected_cost_usd")
    now = timezone.now()
    params = {
        "now": now,
        "tenant": tenant.pk,
        "run_id": run_id,
        "kind": kind,
        "expected": expected,
        "reserved_most": RESERVED.most,
        "logged_expected": expected or None,
        "reservation": f"rsv_{secrets.token_hex(8)}" if expected else None,
        "expires": now + timedelta(minutes=RESERVATION_MINUTES),
    }
    if connection.vendor == "postgresql":
        row = _allowed_on_postgresql(kind, params)
    else:
        with transaction.atomic():
            row = _allowed_elsewhere(kind, params)
    if row is None:
        with transaction.atomic():
            return _refuse(tenant=tenant, run_id=run_id, kind=kind, expected=expected, now=now)
    return GateAnswer(
        allowed=True, counts=_counts(row), state="running", reservation=params["reservation"]
    )


def _allowed_on_postgresql(kind: str, params: dict):
    reserving = bool(params["expected"])
    sql = _PG_SQL[(kind, reserving)] if kind == GateKind.LLM_CALL else _PG_SQL[kind]
    with connection.cursor() as cursor:
        if reserving:
            cursor.execute(_PG_LAPSE_SQL, params)
        cursor.execute(sql, params)
        return cursor.fetchone()


def _allowed_elsewhere(kind: str, params: dict):
    """The same, statement by statement, inside the caller's transaction (SQLite's IMMEDIATE
    transaction holds every other writer off meanwhile)."""
    expected = params["expected"]
    if expected:
        _lapse_reservations(params)
    sql = _LLM_SQL[bool(expected)] if kind == GateKind.LLM_CALL else _COUNTING_SQL[kind]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    if expected:
        Reservation.objects.create(
            run_id=row[0],
            public_id=params["reservation"],
            amount_usd=expected,
            expires_at=params["expires"],
        )
    GateCall.objects.create(
        run_id=row[0],
        kind=kind,
        allowed=True,
        global_steps=row[5],
        expected_cost_usd=expected or None,
    )
    return row


def _blocked_answer(run: AgentRun, *, reason: str, ticket: str, detail: str) -> GateAnswer:
    return GateAnswer(
        allowed=False,
        counts=run.counts,
        state=run.state,
        reason=reason,
        ticket=ticket,
        detail=detail,
    )


def _recent_calls(run: AgentRun) -> list[dict]:
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


def _refuse(*, tenant, run_id: str, kind: str, expected: Decimal, now) -> GateAnswer:
    run = AgentRun.objects.select_for_update().filter(tenant=tenant, run_id=run_id).first()
    if run is None:
        raise NotFound(f"No run {run_id!r} for this key's tenant.")
    policy = TenantPolicy.objects.get(tenant=tenant)
    answer = _standing(run)
    if answer is None:
        answer = _block_for(run, policy, kind=kind, expected=expected)
    GateCall.objects.create(
        run=run,
        kind=kind,
        allowed=False,
        reason=answer.reason,
        global_steps=run.global_steps,
        expected_cost_usd=expected or None,
    )
    return answer


def _standing(run: AgentRun) -> GateAnswer | None:
    """The refusal of a run that is ended or already blocked (no new ticket), or None."""
    if run.ended:
        return _blocked_answer(
            run, reason="run_ended", ticket="", detail=f"Run {run.run_id} has ended."
        )
    if run.loop_block:
        name = COUNTER_NAMES[run.loop_block]
        return _blocked_answer(
            run,
            reason=f"loop_limit:{name}",
            ticket=run.loop_ticket,
            detail=f"Run {run.run_id} hit its {name} limit and waits for {run.loop_ticket} "
            "(an operator or admin clears it or ends the run).",
        )
    if run.cost_block:
        return _blocked_answer(
            run,
            reason="cost_guard",
            ticket=run.cost_ticket,
            detail=f"The Cost Guard tripped on run {run.run_id}: it waits for {run.cost_ticket}.",
        )
    return None


def _block_for(run: AgentRun, policy: TenantPolicy, *, kind: str, expected: Decimal):
    """The first refusal for a limit: block the run and open its one red flag."""
    if kind == GateKind.LLM_CALL:
        if expected and run.reserved_usd + expected > RESERVED.most:
            # Not the Cost Guard's line but the column's: refused, and nothing is recorded.
            raise RunError(
                f"expected_cost_usd: this reservation would hold {run.reserved_usd + expected:,} "
                f"USD on run {run.run_id}, more than the {RESERVED.most:,} USD a run can hold; "
                "nothing was reserved.",
                fields={"expected_cost_usd": [f"would hold more than {RESERVED.most:,} USD"]},
            )
        line = run.estimated_cost_usd * policy.trip_multiplier
        total = run.actual_cost_usd + run.reserved_usd + expected
        if expected and total >= line:
            detail = (
                f"This call's expected {usd_text(expected)} would bring run {run.run_id} to "
                f"{usd_text(total)} (actual {usd_text(run.actual_cost_usd)}, reserved "
                f"{usd_text(run.reserved_usd)}), reaching the Cost Guard's line of "
                f"{usd_text(line)} ({policy.trip_multiplier}× the estimate of "
                f"{usd_text(run.estimated_cost_usd)})."
            )
            return _trip_cost_guard(run, policy, detail=detail)
        raise Conflict("The gate could not decide; try again.", code="try_again")
    counter = COUNTER_OF[kind]
    limits = [(c, CEILING_OF[c]) for c in (counter, "global_steps") if c in CEILING_OF]
    for column, key in limits:
        ceiling = getattr(policy, key)
        if getattr(run, column) + 1 > ceiling:
            return _trip_loop_limit(run, column=column, ceiling=ceiling)
    raise Conflict("The gate could not decide; try again.", code="try_again")


def _trip_loop_limit(run: AgentRun, *, column: str, ceiling: int) -> GateAnswer:
    name = COUNTER_NAMES[column]
    attempts = getattr(run, column) + 1
    ticket = ticket_open(
        tenant=run.tenant,
        type=TicketType.A8,
        actor=Actor.system("gate"),
        title=f"Loop limit: {name} on {run.run_id} ({attempts} > {ceiling})",
        summary=(
            f"Run {run.run_id} ({run.agent}, {run.model}, task {run.main_task_id}) asked for "
            f"{name} #{attempts}; the tenant's limit is {ceiling}. The run is paused: no retry and "
            "no change set on it until an operator or admin clears it (the counter restarts) "
            "or ends it."
        ),
        subject_type=SUBJECT_TYPE,
        subject_id=run.run_id,
        run_id=run.run_id,
        requesting_agent=run.agent,
        red_flag={"loop_type": name, "attempt_count": attempts, "ceiling": ceiling},
        diff={
            "summary": [f"{name} limit {ceiling} reached on {run.run_id}"],
            "raw": {"counts": run.counts, "recent_gate_calls": _recent_calls(run)},
        },
        sla_kind=SlaKind.APPROVAL,
        dedupe_key=f"a8:{run.pk}",
    )
    run.loop_block, run.loop_ticket = column, ticket.public_id
    run.save(update_fields=["loop_block", "loop_ticket", "updated_at"])
    audit_event_append(
        tenant=run.tenant_id,
        actor=Actor.system("gate"),
        action=AuditAction.RUN_BLOCKED,
        resource=run,
        data={"reason": f"loop_limit:{name}", "ticket": ticket.public_id, "counts": run.counts},
    )
    return replace(
        _standing(run),
        detail=f"Run {run.run_id} asked for {name} #{attempts}; the tenant's limit is {ceiling}. "
        f"It waits for {ticket.public_id} (an operator or admin clears it or ends the run).",
    )


def _trip_cost_guard(run: AgentRun, policy: TenantPolicy, *, detail: str) -> GateAnswer:
    actual, estimate = run.actual_cost_usd, run.estimated_cost_usd
    ticket = ticket_open(
        tenant=run.tenant,
        type=TicketType.A9,
        actor=Actor.system("cost_guard"),
        title=f"Cost Guard: {run.run_id} at {usd_text(actual)} of {usd_text(estimate)} estimated",
        summary=detail
        + " Every LLM call and downstream work on the run is blocked until an operator or admin "
        "clears it (and may raise the estimate) or ends the run.",
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
        diff={"summary": [detail], "raw": {"recent_gate_calls": _recent_calls(run)}},
        sla_kind=SlaKind.APPROVAL,
        dedupe_key=f"a9:{run.pk}",
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
    return replace(_standing(run), detail=f"{detail} It waits for {ticket.public_id}.")


# --- Spend and reservations ------------------------------------------------------------------
@dataclass(frozen=True)
class SpendAnswer:
    run: AgentRun
    ticket: str


@transaction.atomic
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
    settled = None
    if reservation:
        settled = (
            Reservation.objects.select_for_update()
            .filter(run_id=run_pk, public_id=reservation)
            .first()
        )
        if settled is None:
            raise RunError(
                f"No reservation {reservation!r} on run {run_id}.",
                fields={"reservation": ["not a reservation of this run"]},
            )
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
    policy = TenantPolicy.objects.get(tenant=tenant)
    line = run.estimated_cost_usd * policy.trip_multiplier
    if not run.cost_block and not run.ended and run.actual_cost_usd >= line:
        _trip_cost_guard(
            run,
            policy,
            detail=(
                f"Run {run.run_id} has spent {usd_text(run.actual_cost_usd)}, at least "
                f"{policy.trip_multiplier}× its estimate of {usd_text(run.estimated_cost_usd)} "
                f"(the line is {usd_text(line)})."
            ),
        )
    return SpendAnswer(run=run, ticket=run.cost_ticket if run.cost_block else "")


@transaction.atomic
def reservation_release(*, tenant, run_id: str, reservation: str) -> Reservation:
    """Free a reservation early (the call was not made)."""
    found = (
        Reservation.objects.select_for_update()
        .filter(run__tenant=tenant, run__run_id=run_id, public_id=reservation)
        .first()
    )
    if found is None:
        raise NotFound(f"No reservation {reservation!r} on run {run_id}.")
    if found.status != ReservationStatus.OPEN:
        return found
    found.status, found.closed_at = ReservationStatus.RELEASED, timezone.now()
    found.save(update_fields=["status", "closed_at"])
    AgentRun.objects.filter(pk=found.run_id).update(
        reserved_usd=models_greatest_zero("reserved_usd", found.amount_usd)
    )
    return found


def run_blocked_reason(tenant, run_id: str) -> str | None:
    """Why a run may not act (change sets carrying it get 423); approvals.subjects.RunStanding
    asks it."""
    run = AgentRun.objects.filter(tenant=tenant, run_id=run_id).first()
    if run is None:
        return None
    answer = _standing(run)
    return answer.detail if answer else None


def run_exists(tenant, run_id) -> bool:
    return AgentRun.objects.filter(tenant=tenant, run_id=str(run_id)).exists()
