"""Demo agent runs for `acme` (issue: every red flag of the demo comes from a run that exists),
idempotent: a run that exists is left as it is.

Each run happens on its own working day of the last two weeks (tenants.demo_clock), its calls
minutes apart, and every figure its pages show is a fact it reported:

- run-5521 (QC agent) keeps failing the "health claims" subtask: 20 verdicts in one working day,
  12 passing — under the 80% floor with enough samples in the 24-hour window → a QC alert;
- run-a1b2 (bid optimizer) runs normally: a few steps and LLM calls with reservations, settled;
- run-7c1e (copywriter) writes the winter copy; QC fails it three times (tone off brand), so it
  asks for a third correction, beyond qc_correction_max 2: refused → A8, with its QC results;
- run-93ab (weekly report, Monday morning) makes three LLM calls of 137,000 + 12,800 tokens
  and spends 3.1× its estimate on the third → the Cost Guard tripped → A9.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from agents.models import AgentRun
from agents.services import qc_result_record, run_create, run_gate, run_spend
from audit.actors import Actor
from tenants.demo_clock import DemoClock, travel
from tenants.models import Tenant

# When each run happens: working days back, and the time its first call is made.
RUN_AT = {
    "run-5521": (9, "08:00"),
    "run-a1b2": (7, "09:00"),
    "run-7c1e": (6, "14:00"),
    "run-93ab": (5, "07:30"),
}


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


def _optimizer(tenant, clock: DemoClock) -> None:
    days_back, at = RUN_AT["run-a1b2"]
    with clock.at(days_back, at):
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
    for minute, cost in (("09:12", "0.05"), ("09:31", "0.07")):
        with clock.at(days_back, minute):
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


def _copywriter(tenant, clock: DemoClock) -> None:
    days_back, at = RUN_AT["run-7c1e"]
    with clock.at(days_back, at):
        run = _run(
            tenant,
            "run-7c1e",
            task="winter-copy",
            agent="copywriter",
            model="claude-haiku",
            estimate="0.40",
        )
        run_gate(tenant=tenant, run_id="run-7c1e", kind="step")
    # Each attempt: one LLM call writes the copy, QC fails it, the run asks for a correction.
    # qc_correction_max is 2: the third correction (after the third failed attempt) is refused.
    for attempt, minute in ((1, "14:05"), (2, "14:25"), (3, "14:45")):
        with clock.at(days_back, minute):
            run_gate(tenant=tenant, run_id="run-7c1e", kind="llm_call")
            run_spend(
                tenant=tenant,
                run_id="run-7c1e",
                input_tokens=3_200,
                output_tokens=600,
                cost_usd="0.04",
            )
            qc_result_record(
                run=run,
                subtask_id="headline-copy",
                passed=False,
                failure_codes=["tone_off_brand"],
                attempt=attempt,
            )
            run_gate(tenant=tenant, run_id="run-7c1e", kind="qc_correction")


def _reporter(tenant, clock: DemoClock) -> None:
    days_back, at = RUN_AT["run-93ab"]
    with clock.at(days_back, at):
        _run(
            tenant,
            "run-93ab",
            task="weekly-report",
            agent="reporting-agent",
            model="gpt-5",
            estimate="0.84",
        )
        run_gate(tenant=tenant, run_id="run-93ab", kind="step")
    # $2.61 over three LLM calls: 3.1× the estimate, past the $2.52 line on the third.
    for minute, cost in (("07:34", "0.90"), ("07:41", "0.95"), ("07:49", "0.76")):
        with clock.at(days_back, minute):
            run_gate(tenant=tenant, run_id="run-93ab", kind="llm_call")
            run_spend(
                tenant=tenant,
                run_id="run-93ab",
                input_tokens=137_000,
                output_tokens=12_800,
                cost_usd=cost,
            )


def _qc_agent(tenant, clock: DemoClock) -> None:
    days_back, at = RUN_AT["run-5521"]
    with clock.at(days_back, at):
        run = _run(
            tenant,
            "run-5521",
            task="creative-qc",
            agent="qc-agent",
            model="gpt-5-mini",
            estimate="1.50",
        )
    start = clock.moment(days_back, at)
    # 20 verdicts on the health-claims check, one every 20 minutes from 08:10 (all within the
    # 24-hour window), 12 passing: 60%, under the floor.
    for i in range(20):
        passed = i % 5 in (0, 1, 3)
        with travel(start + timedelta(minutes=10 + 20 * i)):
            qc_result_record(
                run=run,
                subtask_id="health-claims",
                passed=passed,
                failure_codes=[] if passed else ["claim_unverified"],
                attempt=1,
            )
    for attempt, passed in ((1, False), (2, True)):
        with travel(start + timedelta(hours=7, minutes=20 * attempt)):
            qc_result_record(
                run=run,
                subtask_id="tone-of-voice",
                passed=passed,
                failure_codes=[] if passed else ["tone_off_brand"],
                attempt=attempt,
            )


RUNS = {
    "run-5521": _qc_agent,
    "run-a1b2": _optimizer,
    "run-7c1e": _copywriter,
    "run-93ab": _reporter,
}


def seed(*, log: Callable[[str], None]) -> None:
    tenant = Tenant.objects.filter(slug="acme").first()
    if tenant is None:
        log("no tenant acme: skipped")
        return
    clock = DemoClock(tenant.time_zone)
    made = []
    for run_id, story in RUNS.items():
        if AgentRun.objects.filter(tenant=tenant, run_id=run_id).exists():
            continue
        story(tenant, clock)
        made.append(run_id)
    runs = AgentRun.objects.filter(tenant=tenant, run_id__in=list(RUNS))
    states = ", ".join(f"{r.run_id} {r.state}" for r in runs.order_by("run_id"))
    spent = sum((r.actual_cost_usd for r in runs), Decimal("0"))
    log(f"runs: {len(made)} created; {states}; ${spent:.2f} spent")
