"""Run costs fit their columns (numeric(14,6)), checked at the edge: an estimate that rounds to 0,
an amount from 1e8, a spend report or a reservation that would take a run's running total past
what its column keeps — each is a 422 naming the field, and nothing is recorded (issue 14)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from agents.models import AgentRun, GateCall, Reservation, SpendReport
from approvals.models import Ticket
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

MOST = "99999999.999999"  # numeric(14,6)
RUN = {
    "run_id": "run-big",
    "main_task_id": "weekly-report",
    "agent": "reporting-agent",
    "model": "gpt-5-mini",
    "estimated_cost_usd": MOST,
}


def post(client, headers, path, body):
    return client.post(
        f"/api/v1{path}", json.dumps(body), content_type="application/json", **headers
    )


def written() -> tuple[int, ...]:
    return (
        AgentRun.objects.count(),
        GateCall.objects.count(),
        Reservation.objects.count(),
        SpendReport.objects.count(),
        Ticket.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def big_run(client, acme, acme_headers):
    """A run whose Cost Guard line (3 × the estimate) lies far beyond what its column keeps."""
    assert post(client, acme_headers, "/runs", RUN).status_code == 201
    return AgentRun.objects.get(run_id="run-big")


def spend(client, headers, cost, **extra):
    body = {"input_tokens": 10, "output_tokens": 2, "cost_usd": cost, **extra}
    return post(client, headers, "/runs/run-big/spend", body)


def gate(client, headers, expected):
    body = {"kind": "llm_call", "expected_cost_usd": expected}
    return post(client, headers, "/runs/run-big/gate", body)


@pytest.mark.parametrize(
    ("estimate", "problem"),
    [
        ("0.0000001", "0.0000001 rounds to 0.000000 at 6 decimal places"),
        ("0.0000004", "0.0000004 rounds to 0.000000 at 6 decimal places"),
        ("100000000", "from 0.000001 to 99,999,999.999999"),
        (1e8, "from 0.000001 to 99,999,999.999999"),
        ("99999999.9999996", "rounds to 100000000.000000"),
        ("1e20", "from 0.000001 to 99,999,999.999999"),
    ],
    ids=str,
)
def test_an_estimate_its_column_cannot_keep_is_422_naming_the_field(
    client, acme, acme_headers, estimate, problem
):
    response = post(client, acme_headers, "/runs", {**RUN, "estimated_cost_usd": estimate})

    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "validation_error"
    assert list(body["fields"]) == ["estimated_cost_usd"]
    assert problem in body["fields"]["estimated_cost_usd"][0]
    assert not AgentRun.objects.exists()


@pytest.mark.parametrize("estimate", ["0.000001", "0.0000005", MOST, 99999999.99])
def test_an_estimate_the_column_keeps_is_taken(client, acme, acme_headers, estimate):
    response = post(client, acme_headers, "/runs", {**RUN, "estimated_cost_usd": estimate})

    assert response.status_code == 201, response.content
    assert AgentRun.objects.get().estimated_cost_usd > 0


@pytest.mark.parametrize("cost", ["100000000", 1e8, "1e30"], ids=str)
def test_a_spend_report_from_1e8_is_422_and_recorded_nowhere(client, acme_headers, big_run, cost):
    before = written()

    response = spend(client, acme_headers, cost)

    assert response.status_code == 422, response.content
    assert list(response.json()["fields"]) == ["cost_usd"]
    assert written() == before


def test_a_spend_report_that_would_overflow_the_runs_actual_cost_is_refused_whole(
    client, acme_headers, big_run
):
    assert spend(client, acme_headers, "60000000").status_code == 200
    before = written()

    response = spend(client, acme_headers, "50000000")

    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "invalid_run"
    assert list(body["fields"]) == ["cost_usd"]
    assert "99,999,999.999999" in body["detail"]
    assert written() == before
    big_run.refresh_from_db()
    assert big_run.actual_cost_usd == Decimal("60000000")
    assert spend(client, acme_headers, "39999999.999999").status_code == 200  # up to the brim


def test_a_spend_report_settling_a_reservation_that_would_overflow_leaves_it_open(
    client, acme_headers, big_run
):
    assert spend(client, acme_headers, "60000000").status_code == 200
    reservation = gate(client, acme_headers, "30000000").json()["reservation"]
    before = written()

    response = spend(client, acme_headers, "50000000", reservation=reservation)

    assert response.status_code == 422, response.content
    assert written() == before
    held = Reservation.objects.get(public_id=reservation)
    assert (held.status, held.cost_usd) == ("open", None)
    big_run.refresh_from_db()
    assert (big_run.actual_cost_usd, big_run.reserved_usd) == (
        Decimal("60000000"),
        Decimal("30000000"),
    )


def test_a_reservation_that_would_overflow_the_runs_reserved_total_is_422(
    client, acme_headers, big_run
):
    assert gate(client, acme_headers, "60000000").status_code == 200
    before = written()

    response = gate(client, acme_headers, "60000000")

    assert response.status_code == 422, response.content
    assert list(response.json()["fields"]) == ["expected_cost_usd"]
    assert written() == before
    big_run.refresh_from_db()
    assert (big_run.reserved_usd, big_run.state) == (Decimal("60000000"), "running")


@pytest.mark.parametrize("expected", ["100000000", "-0.000001", "NaN"])
def test_an_expected_cost_its_column_cannot_keep_is_422(client, acme_headers, big_run, expected):
    before = written()

    response = gate(client, acme_headers, expected)

    assert response.status_code == 422, response.content
    assert list(response.json()["fields"]) == ["expected_cost_usd"]
    assert written() == before
