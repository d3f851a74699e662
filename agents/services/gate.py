"""The gate (docs/rules.md "Agent runs"): asked before each step, it counts the step and answers
allowed or refused. Deterministic code, not an agent.

The gate is the hottest path of the product. An allowed call is one conditional UPDATE of the
run's row — it counts the step only if the run is not blocked and the counter stays within the
tenant's ceiling, reading the ceilings from the tenant policy in the same statement — plus the
insert of the call into the run's own log. Concurrent calls queue on the row, and PostgreSQL
re-checks the condition on the row as the previous call left it, so no burst can let more
steps through than the ceiling. Only a refusal does more: it locks the run, finds which limit
was reached, blocks the run and opens its one A8 (or A9) ticket.

An llm_call that states its expected cost holds a reservation (reservations.py) in the same
conditional UPDATE, allowed only while actual + reserved + expected stays under the Cost
Guard's line (spend.py).

Lock order (config/locks.py): a reservation row before its run; a run before the audit chain
head. Allowed steps are counted on the run and kept in its log, not in the audit chain; what
changes a run's standing is audited.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from agents.models import (
    CEILING_OF,
    COUNTER_NAMES,
    COUNTER_OF,
    AgentRun,
    GateCall,
    GateKind,
    Reservation,
)
from agents.services.reservations import (
    PG_LAPSE_SQL,
    RESERVATION_MINUTES,
    RESERVATION_TABLE,
    reservations_lapse,
)
from agents.services.runs import (
    RESERVED,
    RUN_TABLE,
    SUBJECT_TYPE,
    GateAnswer,
    RunError,
    recent_gate_calls,
    run_refusal,
    usd,
    usd_text,
)
from agents.services.spend import cost_guard_trip
from approvals.models import SlaKind
from approvals.services import TicketRequest, ticket_open_within
from approvals.types import TicketType
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import Conflict, NotFound
from config.transactions import within_transaction
from tenants.models import TenantPolicy

POLICY_TABLE = TenantPolicy._meta.db_table
GATE_CALL_TABLE = GateCall._meta.db_table


# The updated table is named in full (SQLite takes no alias on it), the policy as p.
_NOT_BLOCKED = (
    f"NOT {RUN_TABLE}.ended AND {RUN_TABLE}.loop_block = '' AND NOT {RUN_TABLE}.cost_block"
)
_WHERE_RUN = (
    f"WHERE {RUN_TABLE}.tenant_id = %(tenant)s AND {RUN_TABLE}.run_id = %(run_id)s "
    f"AND p.tenant_id = {RUN_TABLE}.tenant_id"
)
_RETURNING = (
    f"RETURNING {RUN_TABLE}.id, {RUN_TABLE}.steps, {RUN_TABLE}.tool_rounds, "
    f"{RUN_TABLE}.qc_corrections, {RUN_TABLE}.orchestrator_retries, {RUN_TABLE}.global_steps"
)


def _counting_sql(kind: str) -> str:
    counter = COUNTER_OF[kind]
    own_limit = (
        f" AND {RUN_TABLE}.{counter} + 1 <= p.{CEILING_OF[counter]}"
        if counter in CEILING_OF
        else ""
    )
    return (
        f"UPDATE {RUN_TABLE} SET {counter} = {RUN_TABLE}.{counter} + 1, "
        f"global_steps = {RUN_TABLE}.global_steps + 1, "
        f"updated_at = %(now)s FROM {POLICY_TABLE} AS p {_WHERE_RUN} AND {_NOT_BLOCKED}{own_limit} "
        f"AND {RUN_TABLE}.global_steps + 1 <= p.global_steps_per_run_id_max {_RETURNING}"
    )


_COUNTING_SQL = {kind: _counting_sql(kind) for kind in COUNTER_OF}


def _llm_sql(*, reserving: bool) -> str:
    under_the_line = (
        f" AND {RUN_TABLE}.actual_cost_usd + {RUN_TABLE}.reserved_usd + %(expected)s "
        f"< {RUN_TABLE}.estimated_cost_usd * p.trip_multiplier"
        f" AND {RUN_TABLE}.reserved_usd + %(expected)s <= %(reserved_most)s"
        if reserving
        else ""
    )
    return (
        f"UPDATE {RUN_TABLE} SET llm_calls = {RUN_TABLE}.llm_calls + 1, "
        f"reserved_usd = {RUN_TABLE}.reserved_usd + %(expected)s, updated_at = %(now)s "
        f"FROM {POLICY_TABLE} AS p {_WHERE_RUN} AND {_NOT_BLOCKED}{under_the_line} {_RETURNING}"
    )


_LLM_SQL = {reserving: _llm_sql(reserving=reserving) for reserving in (False, True)}


def _in_one_statement(update_sql: str, *, reserving: bool) -> str:
    """PostgreSQL: count the call, log it (and hold its reservation) in ONE statement, run in
    autocommit — a single round trip and nothing left half done: the run's counters, its log
    and its reservations move together or not at all."""
    reserve = (
        f", reserved AS (INSERT INTO {RESERVATION_TABLE} (run_id, public_id, amount_usd, status, "
        f"created_at, expires_at) SELECT id, %(reservation)s, %(expected)s, 'open', %(now)s, "
        f"%(expires)s FROM counted)"
        if reserving
        else ""
    )
    return (
        f"WITH counted AS ({update_sql}), logged AS (INSERT INTO {GATE_CALL_TABLE} "
        f"(run_id, kind, allowed, reason, global_steps, expected_cost_usd, at) "
        f"SELECT id, %(kind)s, TRUE, '', "
        f"global_steps, %(logged_expected)s, %(now)s FROM counted){reserve} SELECT * FROM counted"
    )


_PG_SQL = {
    **{kind: _in_one_statement(sql, reserving=False) for kind, sql in _COUNTING_SQL.items()},
    (GateKind.LLM_CALL, False): _in_one_statement(_LLM_SQL[False], reserving=False),
    (GateKind.LLM_CALL, True): _in_one_statement(_LLM_SQL[True], reserving=True),
}


def _counts(row) -> dict[str, int]:
    return dict(zip(COUNTER_NAMES.values(), row[1:6], strict=True))


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
        with transaction.atomic(durable=True):
            row = _allowed_elsewhere(kind, params)
    if row is None:
        with transaction.atomic(durable=True):
            return _refuse(tenant=tenant, run_id=run_id, kind=kind, expected=expected, now=now)
    return GateAnswer(
        allowed=True, counts=_counts(row), state="running", reservation=params["reservation"]
    )


def _allowed_on_postgresql(kind: str, params: dict):
    reserving = bool(params["expected"])
    sql = _PG_SQL[(kind, reserving)] if kind == GateKind.LLM_CALL else _PG_SQL[kind]
    with connection.cursor() as cursor:
        if reserving:
            cursor.execute(PG_LAPSE_SQL, params)
        cursor.execute(sql, params)
        return cursor.fetchone()


def _allowed_elsewhere(kind: str, params: dict):
    """The same, statement by statement, inside the caller's transaction (SQLite's IMMEDIATE
    transaction holds every other writer off meanwhile)."""
    expected = params["expected"]
    if expected:
        reservations_lapse(params)
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


def _refuse(*, tenant, run_id: str, kind: str, expected: Decimal, now) -> GateAnswer:
    run = AgentRun.objects.select_for_update().filter(tenant=tenant, run_id=run_id).first()
    if run is None:
        raise NotFound(f"No run {run_id!r} for this key's tenant.")
    policy = TenantPolicy.objects.get(tenant=tenant)
    answer = run_refusal(run)
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
            return cost_guard_trip(run, policy, detail=detail)
        raise Conflict("The gate could not decide; try again.", code="try_again")
    counter = COUNTER_OF[kind]
    limits = [(c, CEILING_OF[c]) for c in (counter, "global_steps") if c in CEILING_OF]
    for column, key in limits:
        ceiling = getattr(policy, key)
        if getattr(run, column) + 1 > ceiling:
            return _trip_loop_limit(run, column=column, ceiling=ceiling)
    raise Conflict("The gate could not decide; try again.", code="try_again")


@within_transaction
def _trip_loop_limit(run: AgentRun, *, column: str, ceiling: int) -> GateAnswer:
    name = COUNTER_NAMES[column]
    attempts = getattr(run, column) + 1
    ticket = ticket_open_within(
        TicketRequest(
            tenant=run.tenant,
            type=TicketType.A8,
            actor=Actor.system("gate"),
            title=f"Loop limit: {name} on {run.run_id} ({attempts} > {ceiling})",
            summary=(
                f"Run {run.run_id} ({run.agent}, {run.model}, task {run.main_task_id}) asked for "
                f"{name} #{attempts}; the tenant's limit is {ceiling}. The run is paused: no retry "
                "and no change set on it until an operator or admin clears it (the counter "
                "restarts) or ends it."
            ),
            subject_type=SUBJECT_TYPE,
            subject_id=run.run_id,
            run_id=run.run_id,
            requesting_agent=run.agent,
            red_flag={"loop_type": name, "attempt_count": attempts, "ceiling": ceiling},
            diff={
                "summary": [f"{name} limit {ceiling} reached on {run.run_id}"],
                "raw": {"counts": run.counts, "recent_gate_calls": recent_gate_calls(run)},
            },
            sla_kind=SlaKind.APPROVAL,
            dedupe_key=f"a8:{run.pk}",
        )
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
        run_refusal(run),
        detail=f"Run {run.run_id} asked for {name} #{attempts}; the tenant's limit is {ceiling}. "
        f"It waits for {ticket.public_id} (an operator or admin clears it or ends the run).",
    )
