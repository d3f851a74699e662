"""Demo agent runs for `acme` (issue: every red flag of the demo comes from a run that exists),
idempotent: a run that exists is left as it is.

- run-a1b2 (bid optimizer) runs normally: a few steps and LLM calls with reservations, settled;
- run-7c1e (copywriter) hit its QC-correction limit: the third correction was refused → A8;
- run-93ab (weekly report) spent 3.1× its estimate → the Cost Guard tripped → A9;
- run-5521 (QC agent) keeps failing the "health claims" subtask: its success rate is under the
  80% floor with enough samples → a QC alert on the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from agents.models import AgentRun
from agents.services import qc_result_record, run_create, run_gate, run_spend
from audit.actors import Actor
from tenants.models import Tenant


def _run(tenant, run_id: str, *, task: str, agent: str, model: str, estimate: str) -> AgentRun:
    return run_create(
        tenant=tenant,
        run_id=run_id,
        main_task_id=task,
        agent=agent,
        model=model,
        estimated_cost_usd=estimate,
        actor=Actor.service(agent),
    )


def _optimizer(tenant) -> None:
    _run(
        tenant,
        "run-a1b2",
        task="budget-pacing",
        agent="bid-optimizer",
        model="gpt-5-mini",
        estimate="0.60",
    )
    for kind in ("step", "tool_round", "step", "tool_round"):
        run_gate(tenant=tenant, run_id="run-a1b2", kind=kind)
    for cost in ("0.05", "0.07"):
        answer = run_gate(
            tenant=tenant, run_id="run-a1b2", kind="llm_call", expected_cost_usd="0.10"
        )
        run_spend(
            tenant=tenant,
            run_id="run-a1b2",
            input_tokens=9_000,
            output_tokens=1_200,
            cost_usd=cost,
            reservation=answer.reservation or "",
        )


def _copywriter(tenant) -> None:
    _run(
        tenant,
        "run-7c1e",
        task="winter-copy",
        agent="copywriter",
        model="claude-haiku",
        estimate="0.40",
    )
    run_gate(tenant=tenant, run_id="run-7c1e", kind="step")
    for _ in range(3):  # qc_correction_max is 2: the third is refused and opens the A8
        run_gate(tenant=tenant, run_id="run-7c1e", kind="qc_correction")


def _reporter(tenant) -> None:
    _run(
        tenant,
        "run-93ab",
        task="weekly-report",
        agent="reporting-agent",
        model="gpt-5",
        estimate="0.84",
    )
    for cost in ("0.90", "0.95", "0.76"):  # $2.61: 3.1× the estimate, past the $2.52 line
        run_gate(tenant=tenant, run_id="run-93ab", kind="step")
        run_spend(
            tenant=tenant,
            run_id="run-93ab",
            input_tokens=137_000,
            output_tokens=12_800,
            cost_usd=cost,
        )


def _qc_agent(tenant) -> None:
    run = _run(
        tenant,
        "run-5521",
        task="creative-qc",
        agent="qc-agent",
        model="gpt-5-mini",
        estimate="1.50",
    )
    # 20 verdicts on the health-claims check in the window, 12 passing: 60%, under the floor.
    for i in range(20):
        passed = i % 5 in (0, 1, 3)
        qc_result_record(
            run=run,
            subtask_id="health-claims",
            passed=passed,
            failure_codes=[] if passed else ["claim_unverified"],
            attempt=1,
        )
    for attempt, passed in ((1, False), (2, True)):
        qc_result_record(
            run=run,
            subtask_id="tone-of-voice",
            passed=passed,
            failure_codes=[] if passed else ["tone_off_brand"],
            attempt=attempt,
        )


RUNS = {
    "run-a1b2": _optimizer,
    "run-7c1e": _copywriter,
    "run-93ab": _reporter,
    "run-5521": _qc_agent,
}


def seed(*, log: Callable[[str], None]) -> None:
    tenant = Tenant.objects.filter(slug="acme").first()
    if tenant is None:
        log("no tenant acme: skipped")
        return
    made = []
    for run_id, story in RUNS.items():
        if AgentRun.objects.filter(tenant=tenant, run_id=run_id).exists():
            continue
        story(tenant)
        made.append(run_id)
    runs = AgentRun.objects.filter(tenant=tenant, run_id__in=list(RUNS))
    states = ", ".join(f"{r.run_id} {r.state}" for r in runs.order_by("run_id"))
    spent = sum((r.actual_cost_usd for r in runs), Decimal("0"))
    log(f"runs: {len(made)} created; {states}; ${spent:.2f} spent")
