"""Rows for the metrics tests, written straight to the tables with the times each test needs
(metrics only reads them; what it reads is what these make, to the second)."""

from __future__ import annotations

import itertools
from datetime import datetime
from decimal import Decimal

import time_machine

from agents.models import AgentRun, QcAlert, QcLoop, QcResult
from approvals.models import Ticket, TicketDecision, TicketStatus, Verdict
from optimization.models import ChangeSet, ChangeSetItem, ChangeSetKind, ChangeSetStatus
from plans.models import PlanVersion, Track

_ids = itertools.count(1)


def ticket(
    tenant,
    type: str,
    *,
    created: datetime,
    resolved: datetime | None = None,
    status: str | None = None,
    sla_due: datetime | None = None,
    required_roles=("planner",),
    **fields,
) -> Ticket:
    status = status or (TicketStatus.APPROVED if resolved else TicketStatus.OPEN)
    row = Ticket.objects.create(
        tenant=tenant,
        public_id=f"T-{next(_ids):06d}",
        type=type,
        status=status,
        title=fields.pop("title", f"{type} for metrics"),
        required_roles=list(required_roles),
        sla_due_at=sla_due,
        resolved_at=resolved,
        opened_by="tests",
        **fields,
    )
    Ticket.objects.filter(pk=row.pk).update(created_at=created)
    row.refresh_from_db()
    return row


def approval(ticket: Ticket, user, *, slot: str, at: datetime) -> TicketDecision:
    decision = TicketDecision.objects.create(
        ticket=ticket, user=user, role=slot.split("/")[0], slot=slot, verdict=Verdict.APPROVE
    )
    TicketDecision.objects.filter(pk=decision.pk).update(created_at=at)
    return decision


def run(
    tenant, *, created: datetime, main_task_id="task-a", agent="optimizer", model="m-1", a8=False
) -> AgentRun:
    row = AgentRun.objects.create(
        tenant=tenant,
        run_id=f"run-{next(_ids)}",
        main_task_id=main_task_id,
        agent=agent,
        model=model,
        estimated_cost_usd=Decimal("1"),
        created_by="tests",
        loop_ticket="T-A8" if a8 else "",
    )
    AgentRun.objects.filter(pk=row.pk).update(created_at=created)
    row.refresh_from_db()
    return row


def qc(run: AgentRun, *, at: datetime, subtask="s1", passed=True, attempt=1, codes=()) -> QcResult:
    row = QcResult.objects.create(
        tenant_id=run.tenant_id,
        run=run,
        main_task_id=run.main_task_id,
        subtask_id=subtask,
        agent=run.agent,
        model=run.model,
        passed=passed,
        failure_codes=list(codes),
        attempt=attempt,
    )
    QcResult.objects.filter(pk=row.pk).update(created_at=at)
    return row


def loop(run: AgentRun, *, subtask="s1", attempts=1, passed=True, codes=()) -> QcLoop:
    return QcLoop.objects.create(
        run=run, subtask_id=subtask, attempts=attempts, passed=passed, failure_codes=list(codes)
    )


def alert(
    tenant, *, opened: datetime, recovered: datetime | None = None, subtask="s1", task="task-a"
) -> QcAlert:
    row = QcAlert.objects.create(
        tenant=tenant,
        main_task_id=task,
        subtask_id=subtask,
        success_rate=Decimal("0.5"),
        sample=20,
        floor=Decimal("0.8"),
        recovered_at=recovered,
    )
    QcAlert.objects.filter(pk=row.pk).update(opened_at=opened)
    return row


def track(tenant, key="always_on") -> Track:
    return Track.objects.get_or_create(tenant=tenant, key=key)[0]


def change_set(
    tenant,
    *,
    created: datetime,
    status=ChangeSetStatus.APPLIED,
    ticket: str = "",
    applied: datetime | None = None,
    decided: datetime | None = None,
    kind=ChangeSetKind.AGENT,
    reverts: ChangeSet | None = None,
    guardrails: dict | None = None,
    items=(),
    track_key="always_on",
) -> ChangeSet:
    # The database refuses any edit of a change set past its approval: it is written whole,
    # at its time.
    with time_machine.travel(created, tick=False):
        row = ChangeSet.objects.create(
            tenant=tenant,
            change_set_id=f"cs-{next(_ids)}",
            track=track(tenant, track_key),
            kind=kind,
            status=status,
            path="optimization",
            ticket=ticket,
            reverts=reverts,
            guardrails=guardrails or {},
            created_by="tests",
            agent="optimizer",
            applied_at=applied,
            decided_at=decided,
        )
    for position, (before, after) in enumerate(items):
        ChangeSetItem.objects.create(
            change_set=row,
            position=position,
            entity_id=f"e{position}",
            channel="search",
            field="daily_budget",
            before=before,
            after=after,
        )
    row.refresh_from_db()
    return row


def guardrails(*channels, launches=()) -> dict:
    """channels: (move_pct, drift_ok) pairs."""
    return {
        "channels": [
            {
                "channel": f"c{i}",
                "move_pct": None if move is None else str(move),
                "move_ok": False,
                "drift_ok": drift_ok,
            }
            for i, (move, drift_ok) in enumerate(channels)
        ],
        "first_launches": list(launches),
        "structural": [],
    }


def version(
    tenant,
    number: int,
    *,
    status: str,
    approved: datetime | None,
    parent=None,
    payload_hash: str,
    key="always_on",
) -> PlanVersion:
    return PlanVersion.objects.create(
        tenant=tenant,
        track=track(tenant, key),
        number=number,
        kind="initial" if parent is None else "revise",
        status=status,
        parent=parent,
        payload={"hash": payload_hash},
        payload_hash=payload_hash,
        approved_at=approved,
        created_by="tests",
    )
