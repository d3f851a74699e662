"""docs/agent-api.md "Runs, the gate and the Cost Guard": runs, the gate, spend reports,
reservations and QC results — plus whoami."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Field, Router, Schema, Status

from agents.models import AgentRun, GateCall, GateKind, SpendReport
from agents.selectors import run_view
from agents.services import (
    qc_result_record,
    reservation_release,
    run_create_within,
    run_gate,
    run_get,
    run_spend,
)
from api.base import API_VERSION, agent_actor, errors, links
from api.idempotency import idempotent
from config.money import Amount
from config.text import StorableText

router = Router(tags=["agents"])

# Money fields, each checked against the column that keeps it (config/money.py).
Estimate = Amount(AgentRun._meta.get_field("estimated_cost_usd"), positive=True, currency="USD")
ExpectedCost = Amount(GateCall._meta.get_field("expected_cost_usd"), currency="USD")
Cost = Amount(SpendReport._meta.get_field("cost_usd"), currency="USD")


class WhoAmI(Schema):
    tenant: str
    key_name: str
    key_prefix: str
    api_version: str = Field(
        description="the agent API version this server speaks (the v1 of /api/v1/); a client "
        "built for another refuses to go on"
    )


@router.get(
    "/whoami",
    response=WhoAmI,
    summary="The tenant and key this request acts for, and the API version the server speaks",
)
def whoami(request):
    key = request.agent_key
    return {
        "tenant": key.tenant.slug,
        "key_name": key.name,
        "key_prefix": key.prefix,
        "api_version": API_VERSION,
    }


# --- Runs ----------------------------------------------------------------------------------------
class RunIn(Schema):
    run_id: StorableText = Field(min_length=1, max_length=100)
    main_task_id: StorableText = Field(min_length=1, max_length=100)
    agent: StorableText = Field(min_length=1, max_length=100)
    model: StorableText = Field(min_length=1, max_length=100)
    estimated_cost_usd: Estimate = Field(
        description="decimal USD, more than 0 (six decimal places are kept)"
    )


class RunCreated(Schema):
    run_id: str
    state: str


RUN_ID = "$response.body#/run_id"


@router.post(
    "/runs",
    response={200: RunCreated, 201: RunCreated, **errors(409, 422)},
    summary="Register a run before its first step (idempotent by run_id)",
    openapi_extra=links(
        200,
        201,
        GetRun=("agents_api_runs_detail", {"run_id": RUN_ID}),
        AskTheGate=("agents_api_runs_gate", {"run_id": RUN_ID}),
        ReportSpend=("agents_api_runs_spend", {"run_id": RUN_ID}),
        SendQcResults=("agents_api_runs_qc", {"run_id": RUN_ID}),
    ),
)
def runs_create(request, body: RunIn):
    def create():  # inside idempotent's transaction
        run = run_create_within(
            tenant=request.tenant,
            run_id=body.run_id,
            main_task_id=body.main_task_id,
            agent=body.agent,
            model=body.model,
            estimated_cost_usd=body.estimated_cost_usd,
            actor=agent_actor(request, body.agent),
        )
        return 201, {"run_id": run.run_id, "state": run.state}

    return Status(
        *idempotent(
            tenant=request.tenant,
            scope="runs",
            key=body.run_id,
            request=body.model_dump(mode="json"),
            work=create,
        )
    )


class GateIn(Schema):
    kind: Literal[tuple(GateKind.values)]  # type: ignore[valid-type]
    expected_cost_usd: ExpectedCost | None = Field(
        None, description="llm_call only: reserve this much against the Cost Guard's line"
    )


class GateAllowed(Schema):
    allowed: bool
    state: str
    counts: dict[str, int]
    reservation: str | None = None


class GateRefused(Schema):
    allowed: bool
    error: str
    detail: str
    reason: str
    ticket: str
    state: str
    counts: dict[str, int]


@router.post(
    "/runs/{run_id}/gate",
    response={200: GateAllowed, 423: GateRefused, **errors(404, 422)},
    summary="Ask before each step: counted and allowed, or 423 with why (A8 loop limit, A9 Cost "
    "Guard)",
)
def runs_gate(request, run_id: StorableText, body: GateIn):
    answer = run_gate(
        tenant=request.tenant,
        run_id=run_id,
        kind=body.kind,
        expected_cost_usd=body.expected_cost_usd,
    )
    if answer.allowed:
        result = {"allowed": True, "state": answer.state, "counts": answer.counts}
        if answer.reservation:
            result["reservation"] = answer.reservation
        return Status(200, result)
    return Status(
        423,
        {
            "allowed": False,
            "error": "run_blocked",
            "detail": answer.detail,
            "reason": answer.reason,
            "ticket": answer.ticket,
            "state": answer.state,
            "counts": answer.counts,
        },
    )


class SpendIn(Schema):
    input_tokens: int = Field(ge=0, lt=2**31)
    output_tokens: int = Field(ge=0, lt=2**31)
    cost_usd: Cost
    reservation: StorableText = Field("", max_length=32)


class SpendOut(Schema):
    actual_cost_usd: str
    estimated_cost_usd: str
    state: str
    ticket: str | None


@router.post(
    "/runs/{run_id}/spend",
    response={200: SpendOut, **errors(404, 422)},
    summary="Report one LLM call's cost (settles its reservation; trips the Cost Guard at the "
    "line)",
)
def runs_spend(request, run_id: StorableText, body: SpendIn):
    answer = run_spend(
        tenant=request.tenant,
        run_id=run_id,
        input_tokens=body.input_tokens,
        output_tokens=body.output_tokens,
        cost_usd=body.cost_usd,
        reservation=body.reservation,
    )
    run = answer.run
    return {
        "actual_cost_usd": str(run.actual_cost_usd),
        "estimated_cost_usd": str(run.estimated_cost_usd),
        "state": run.state,
        "ticket": answer.ticket or None,
    }


class ReleaseOut(Schema):
    reservation: str
    status: str


@router.post(
    "/runs/{run_id}/reservations/{reservation}/release",
    response={200: ReleaseOut, **errors(404)},
    summary="Release a reservation early (the call was not made)",
)
def runs_release(request, run_id: StorableText, reservation: StorableText):
    found = reservation_release(tenant=request.tenant, run_id=run_id, reservation=reservation)
    return {"reservation": found.public_id, "status": found.status}


class QcIn(Schema):
    subtask_id: StorableText = Field(min_length=1, max_length=100)
    passed: bool
    failure_codes: list[StorableText] = Field(default_factory=list, max_length=50)
    attempt: int = Field(ge=1, le=1000)


class QcOut(Schema):
    id: int
    subtask_id: str
    passed: bool
    attempt: int


@router.post(
    "/runs/{run_id}/qc-results",
    response={201: QcOut, **errors(404, 422)},
    summary="Record a QC verdict on a subtask's attempt (feeds the success-floor alerts)",
)
def runs_qc(request, run_id: StorableText, body: QcIn):
    run = run_get(tenant=request.tenant, run_id=run_id)
    result = qc_result_record(
        run=run,
        subtask_id=body.subtask_id,
        passed=body.passed,
        failure_codes=body.failure_codes,
        attempt=body.attempt,
    )
    return Status(
        201,
        {
            "id": result.pk,
            "subtask_id": result.subtask_id,
            "passed": result.passed,
            "attempt": result.attempt,
        },
    )


class TicketRef(Schema):
    ticket: str
    type: str
    status: str


class RunOut(Schema):
    run_id: str
    main_task_id: str
    agent: str
    model: str
    state: str
    block_reason: str
    counts: dict[str, int]
    ceilings: dict[str, int]
    estimated_cost_usd: str
    actual_cost_usd: str
    reserved_usd: str
    trip_line_usd: str
    input_tokens: int
    output_tokens: int
    open_tickets: list[TicketRef]
    recent_gate_calls: list[dict]
    created_at: datetime


@router.get(
    "/runs/{run_id}",
    response={200: RunOut, **errors(404)},
    summary="A run: its state and why, counts against ceilings, costs, open tickets",
)
def runs_detail(request, run_id: StorableText):
    return run_view(run_get(tenant=request.tenant, run_id=run_id))
