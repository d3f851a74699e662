"""Agent runs through the API: the gate at each ceiling and one past, A8 and A9 opened once,
what clearing or ending them does, the Cost Guard's line, reservations, QC and the floor."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone

from agents.models import AgentRun, GateCall, QcAlert, QcLoop, Reservation
from agents.services import run_cost_guard_clear
from approvals.models import Ticket
from approvals.services import ticket_decide
from audit.actors import Actor
from audit.models import AuditEvent
from tenants.models import Role, TenantPolicy

pytestmark = pytest.mark.django_db

RUN = {
    "run_id": "run-93ab",
    "main_task_id": "weekly-report",
    "agent": "reporting-agent",
    "model": "gpt-5-mini",
    "estimated_cost_usd": "2.00",
}


def post(client, headers, path, body=None):
    return client.post(
        f"/api/v1{path}", json.dumps(body or {}), content_type="application/json", **headers
    )


@pytest.fixture
def run(client, acme, acme_headers):
    assert post(client, acme_headers, "/runs", RUN).status_code == 201
    return AgentRun.objects.get(run_id="run-93ab")


def gate(client, headers, kind, **extra):
    return post(client, headers, "/runs/run-93ab/gate", {"kind": kind, **extra})


@pytest.fixture
def operator(acme, make_member):
    return Actor.for_user(make_member("otto", acme, Role.OPERATOR))


# --- Runs ----------------------------------------------------------------------------------------
def test_a_run_is_created_once_and_audited(client, acme, acme_headers):
    first = post(client, acme_headers, "/runs", RUN)
    again = post(client, acme_headers, "/runs", RUN)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json() == {"run_id": "run-93ab", "state": "running"}
    other = post(client, acme_headers, "/runs", {**RUN, "estimated_cost_usd": "3"})
    assert other.status_code == 409
    assert AuditEvent.objects.filter(action="run.created").count() == 1


@pytest.mark.parametrize("estimate", ["0", "-1", "NaN", "Infinity", "1e999", True, None], ids=str)
def test_an_estimate_that_is_no_positive_amount_is_422(client, acme, acme_headers, estimate):
    response = post(client, acme_headers, "/runs", {**RUN, "estimated_cost_usd": estimate})
    assert response.status_code == 422, response.content
    assert not AgentRun.objects.exists()


# --- The gate at its ceilings --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "ceiling", "name"),
    [
        ("tool_round", 5, "tool_round"),
        ("qc_correction", 2, "qc_correction"),
        ("orchestrator_retry", 1, "orchestrator_retry"),
    ],
)
def test_each_counter_allows_its_ceiling_and_refuses_the_next(
    client, acme_headers, run, kind, ceiling, name
):
    for i in range(ceiling):
        response = gate(client, acme_headers, kind)
        assert response.status_code == 200, response.content
        assert response.json()["counts"][name] == i + 1
    refused = gate(client, acme_headers, kind)
    assert refused.status_code == 423
    body = refused.json()
    assert (body["allowed"], body["error"], body["reason"]) == (
        False,
        "run_blocked",
        f"loop_limit:{name}",
    )
    ticket = Ticket.objects.get(public_id=body["ticket"])
    assert ticket.type == "A8"
    assert ticket.red_flag["loop_type"] == name
    assert ticket.red_flag["attempt_count"] == ceiling + 1
    assert len(ticket.diff["raw"]["recent_gate_calls"]) == ceiling


def test_the_global_limit_is_reached_through_mixed_kinds(client, acme_headers, run):
    kinds = ["step", "tool_round", "step", "qc_correction", "step", "tool_round", "step", "step"]
    for kind in kinds:
        assert gate(client, acme_headers, kind).status_code == 200
    refused = gate(client, acme_headers, "step")
    assert refused.json()["reason"] == "loop_limit:global"
    assert refused.json()["counts"]["global"] == 8


def test_llm_calls_count_no_global_step(client, acme_headers, run):
    for _ in range(12):
        assert gate(client, acme_headers, "llm_call").status_code == 200
    assert AgentRun.objects.get().global_steps == 0


def test_a_stricter_tenant_is_refused_sooner(client, acme, acme_headers, run):
    TenantPolicy.objects.filter(tenant=acme).update(tool_rounds_max=2)
    assert [gate(client, acme_headers, "tool_round").status_code for _ in range(3)] == [
        200,
        200,
        423,
    ]


def test_a8_opens_once_however_many_calls_follow(client, acme_headers, run):
    for _ in range(2):
        gate(client, acme_headers, "qc_correction")
    answers = [
        gate(client, acme_headers, kind).json()
        for kind in ["qc_correction", "step", "llm_call", "tool_round"]
    ]
    assert {a["ticket"] for a in answers} == {answers[0]["ticket"]}
    assert {a["reason"] for a in answers} == {"loop_limit:qc_correction"}
    assert Ticket.objects.filter(type="A8").count() == 1
    assert AuditEvent.objects.filter(action="run.blocked").count() == 1
    assert GateCall.objects.filter(allowed=False).count() == 4


def test_clearing_the_a8_restarts_the_exhausted_counter(client, acme_headers, run, operator):
    for _ in range(3):
        response = gate(client, acme_headers, "qc_correction")
    ticket = Ticket.objects.get(public_id=response.json()["ticket"])
    ticket_decide(ticket=ticket, actor=operator, verdict="approve", comment="fixed the prompt")
    after = gate(client, acme_headers, "qc_correction")
    assert after.status_code == 200
    assert after.json()["counts"]["qc_correction"] == 1
    assert after.json()["counts"]["global"] == 3  # the run's history stays
    resumed = AuditEvent.objects.get(action="run.resumed")
    assert resumed.data["reason"] == "fixed the prompt"


def test_rejecting_the_a8_ends_the_run(client, acme_headers, run, operator):
    for _ in range(3):
        response = gate(client, acme_headers, "qc_correction")
    ticket = Ticket.objects.get(public_id=response.json()["ticket"])
    ticket_decide(ticket=ticket, actor=operator, verdict="reject", comment="give up")
    after = gate(client, acme_headers, "step")
    assert (after.status_code, after.json()["reason"], after.json()["state"]) == (
        423,
        "run_ended",
        "ended",
    )
    detail = client.get("/api/v1/runs/run-93ab", **acme_headers).json()
    assert (detail["state"], detail["counts"]["qc_correction"]) == ("ended", 2)


# --- The Cost Guard ----------------------------------------------------------------------------
def spend(client, headers, cost, **extra):
    body = {"input_tokens": 1000, "output_tokens": 200, "cost_usd": cost, **extra}
    return post(client, headers, "/runs/run-93ab/spend", body)


@pytest.mark.parametrize(("total", "trips"), [("5.999999", False), ("6.00", True)])
def test_the_cost_guard_trips_at_exactly_three_times_the_estimate(
    client, acme_headers, run, total, trips
):
    answer = spend(client, acme_headers, total).json()
    assert (answer["state"], answer["ticket"] is not None) == (
        ("blocked", True) if trips else ("running", False)
    )
    if trips:
        ticket = Ticket.objects.get(public_id=answer["ticket"])
        assert ticket.type == "A9"
        assert ticket.red_flag["estimated_usd"] == "2.000000"
        assert ticket.red_flag["actual_usd"] == "6.000000"
        refused = gate(client, acme_headers, "llm_call").json()
        assert refused["reason"] == "cost_guard"
        spend(client, acme_headers, "1.00")
        assert Ticket.objects.filter(type="A9").count() == 1


@pytest.mark.parametrize("cost", ["-0.01", "NaN", "1e999", "abc", None])
def test_a_cost_that_is_no_amount_is_422_and_counts_nothing(client, acme_headers, run, cost):
    response = spend(client, acme_headers, cost)
    assert response.status_code == 422
    assert AgentRun.objects.get().actual_cost_usd == 0


def test_clearing_the_a9_with_a_raised_estimate_lets_the_next_call_through(
    client, acme_headers, run, operator
):
    spend(client, acme_headers, "6.50")
    assert gate(client, acme_headers, "step").status_code == 423
    run_cost_guard_clear(
        run=AgentRun.objects.get(), actor=operator, estimated_cost_usd="5", reason="long report"
    )
    assert gate(client, acme_headers, "step").status_code == 200
    reserved = gate(client, acme_headers, "llm_call", expected_cost_usd="1.00")
    assert reserved.status_code == 200  # 6.50 + 1.00 < 15.00
    raised = AuditEvent.objects.get(action="run.estimate_raised")
    assert raised.data == {"before": "2.000000", "after": "5.000000", "reason": "long report"}


def test_an_estimate_can_only_be_raised(run, operator, client, acme_headers):
    from agents.services import RunError

    spend(client, acme_headers, "6.50")
    with pytest.raises(RunError):
        run_cost_guard_clear(run=run, actor=operator, estimated_cost_usd="1", reason="x")


def test_rejecting_the_a9_ends_the_run(client, acme_headers, run, operator):
    answer = spend(client, acme_headers, "7").json()
    ticket = Ticket.objects.get(public_id=answer["ticket"])
    ticket_decide(ticket=ticket, actor=operator, verdict="reject", comment="too expensive")
    assert gate(client, acme_headers, "step").json()["reason"] == "run_ended"


# --- Reservations ------------------------------------------------------------------------------
def test_a_reservation_that_would_reach_the_line_is_refused_and_opens_the_a9(
    client, acme_headers, run
):
    assert gate(client, acme_headers, "llm_call", expected_cost_usd="5.00").status_code == 200
    refused = gate(client, acme_headers, "llm_call", expected_cost_usd="1.00")  # 6.00 = the line
    assert refused.status_code == 423
    assert refused.json()["reason"] == "cost_guard"
    assert "reaching the Cost Guard's line of $6" in refused.json()["detail"]
    assert AgentRun.objects.get().reserved_usd == Decimal("5")


def test_a_spend_report_settles_its_reservation(client, acme_headers, run):
    reservation = gate(client, acme_headers, "llm_call", expected_cost_usd="2.00").json()[
        "reservation"
    ]
    spend(client, acme_headers, "1.50", reservation=reservation)
    run.refresh_from_db()
    assert (run.actual_cost_usd, run.reserved_usd) == (Decimal("1.5"), Decimal("0"))
    assert Reservation.objects.get().status == "settled"


def test_a_report_of_zero_or_a_release_frees_the_reservation_early(client, acme_headers, run):
    first = gate(client, acme_headers, "llm_call", expected_cost_usd="2.00").json()["reservation"]
    second = gate(client, acme_headers, "llm_call", expected_cost_usd="2.00").json()["reservation"]
    spend(client, acme_headers, "0", reservation=first)
    released = post(client, acme_headers, f"/runs/run-93ab/reservations/{second}/release")
    assert released.json() == {"reservation": second, "status": "released"}
    run.refresh_from_db()
    assert run.reserved_usd == 0
    assert gate(client, acme_headers, "llm_call", expected_cost_usd="5.50").status_code == 200


def test_a_reservation_lapses_after_15_minutes(client, acme_headers, run):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        gate(client, acme_headers, "llm_call", expected_cost_usd="5.00")
        assert gate(client, acme_headers, "llm_call", expected_cost_usd="1.00").status_code == 423
    run.refresh_from_db()
    run.cost_block = False  # a person cleared it; the first reservation still holds €5
    AgentRun.objects.filter(pk=run.pk).update(cost_block=False)
    with time_machine.travel(timezone.now() + timedelta(minutes=14), tick=False):
        assert gate(client, acme_headers, "llm_call", expected_cost_usd="1.00").status_code == 423
    AgentRun.objects.filter(pk=run.pk).update(cost_block=False)
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        assert gate(client, acme_headers, "llm_call", expected_cost_usd="1.00").status_code == 200
    assert list(Reservation.objects.values_list("status", flat=True)) == ["lapsed", "open"]
    assert clock


# --- QC ------------------------------------------------------------------------------------------
def qc(client, headers, subtask="draft-copy", passed=True, attempt=1, codes=None):
    body = {
        "subtask_id": subtask,
        "passed": passed,
        "attempt": attempt,
        "failure_codes": codes or [],
    }
    return post(client, headers, "/runs/run-93ab/qc-results", body)


def test_qc_results_build_the_correction_loop(client, acme_headers, run):
    assert qc(client, acme_headers, passed=False, codes=["tone"]).status_code == 201
    qc(client, acme_headers, passed=False, attempt=2, codes=["length"])
    qc(client, acme_headers, passed=True, attempt=3)
    loop = QcLoop.objects.get()
    assert (loop.attempts, loop.passed, loop.failure_codes) == (3, True, ["length", "tone"])


def test_fewer_results_than_the_minimum_sample_raise_no_alert(client, acme_headers, run):
    for _ in range(19):
        qc(client, acme_headers, passed=False, codes=["tone"])
    assert not QcAlert.objects.exists()


def test_a_grain_under_the_floor_alerts_and_records_its_recovery(client, acme_headers, run):
    for _ in range(20):
        qc(client, acme_headers, passed=False, codes=["tone"])
    alerts = QcAlert.objects.order_by("subtask_id")
    assert [(a.subtask_id, a.sample, a.success_rate) for a in alerts] == [
        ("", 20, Decimal("0")),
        ("draft-copy", 20, Decimal("0")),
    ]
    for _ in range(80):
        qc(client, acme_headers, passed=True)
    alert = QcAlert.objects.get(subtask_id="draft-copy")
    assert alert.recovered_at is not None
    assert alert.recovered_rate == Decimal("0.8")
    assert QcAlert.objects.count() == 2  # recovery closes it; no second alert


@pytest.mark.parametrize(
    "body",
    [
        {"subtask_id": "", "passed": True, "attempt": 1},
        {"subtask_id": "x", "passed": True, "attempt": 0},
        {"subtask_id": "x", "passed": "maybe", "attempt": 1},
        {"subtask_id": "x", "passed": True, "attempt": 1, "failure_codes": ["tone"]},
    ],
    ids=["no-subtask", "attempt-0", "passed-not-bool", "pass-with-codes"],
)
def test_bad_qc_results_are_422(client, acme_headers, run, body):
    response = post(client, acme_headers, "/runs/run-93ab/qc-results", body)
    assert response.status_code == 422


def test_another_tenants_run_is_404(client, run, globex):
    from tests.conftest import agent_headers

    headers = agent_headers(globex)
    assert gate(client, headers, "step").status_code == 404
    assert client.get("/api/v1/runs/run-93ab", **headers).status_code == 404


# --- Concurrency ---------------------------------------------------------------------------------
def at_once(count, call):
    barrier = threading.Barrier(count)
    results = []

    def run():
        try:
            barrier.wait()
            results.append(call())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_64_concurrent_tool_rounds_let_exactly_5_through_and_open_one_a8(run, acme_headers):
    statuses = at_once(64, lambda: gate(Client(), acme_headers, "tool_round").status_code)
    assert sorted(statuses).count(200) == 5
    assert statuses.count(423) == 59
    assert Ticket.objects.filter(type="A8").count() == 1
    assert AgentRun.objects.get().tool_rounds == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_64_concurrent_reservations_never_spend_past_the_line(run, acme_headers):
    """Estimate $2, multiplier 3: the line is $6. Each call expects $0.20 (10% of the
    estimate): at most 29 fit strictly under the line (29 × 0.20 = 5.80; the 30th reaches it)."""

    def call():
        answer = gate(Client(), acme_headers, "llm_call", expected_cost_usd="0.20")
        if answer.status_code == 200:
            spend(Client(), acme_headers, "0.20", reservation=answer.json()["reservation"])
        return answer.status_code

    statuses = at_once(64, call)
    run.refresh_from_db()
    assert statuses.count(200) <= 29
    assert run.actual_cost_usd == Decimal("0.20") * statuses.count(200)
    assert run.actual_cost_usd < Decimal("6")
    assert Ticket.objects.filter(type="A9").count() == 1


def test_a_cost_guard_cleared_without_room_under_the_line_is_refused(
    client, acme_headers, run, operator
):
    from agents.services import RunError

    answer = spend(client, acme_headers, "6.50").json()
    ticket = Ticket.objects.get(public_id=answer["ticket"])
    with pytest.raises(RunError) as error:
        ticket_decide(ticket=ticket, actor=operator, verdict="approve")
    assert error.value.code == "estimate_too_low"
    ticket.refresh_from_db()
    assert ticket.status == "open"
    with pytest.raises(RunError):
        run_cost_guard_clear(
            run=AgentRun.objects.get(), actor=operator, estimated_cost_usd="2.10", reason="x"
        )
    assert AgentRun.objects.get().cost_block is True
