"""Retries over a real network, through a proxy that misbehaves on cue in front of the live
server: a retried write reuses its idempotency id and the server sees one effect; 409
`try_again`, 429 (after its Retry-After) and 503 are waited out; a lost answer or a 500 is not
sent again for a call that counts each time it arrives; no other 4xx is ever retried."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from human_touch_client import (
    Conflict,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
)

from agents.models import AgentRun, QcResult, SpendReport
from approvals.models import Ticket
from optimization.models import ChangeSet, ExecutionManifestEntry
from tests.client.conftest import call, drive

pytestmark = pytest.mark.django_db(transaction=True)

TRY_AGAIN = {"error": "try_again", "detail": "Someone else changed this at the same moment."}
FAILED = {"error": "server_error", "detail": "The server failed; the error has been logged."}
RUN = {
    "run_id": "run-r",
    "main_task_id": "budget-pacing",
    "agent": "bid-optimizer",
    "model": "gpt-5-mini",
    "estimated_cost_usd": "0.50",
}
BRAND_UP = {
    "entity_id": "search-brand",
    "field": "daily_budget",
    "before": "300.00",
    "after": "320.00",
}
WRITES = ("/runs", "/change-sets", "/tickets", "/runs/run-r/spend")


def test_lost_answers_resend_writes_with_the_same_id_once_counted_and_never_a_gate_call(
    make_client, proxy, world
):
    for path in (*WRITES, "/runs/run-r/gate"):
        proxy.fail("POST", "/api/v1" + path, drop=True)

    async def scenario(client):
        await call(client.runs.create(**RUN))
        with pytest.raises(TransportError) as lost:
            await call(client.runs.gate("run-r", "tool_round"))
        reserved = await call(client.runs.gate("run-r", "llm_call", expected_cost_usd="0.10"))
        spend = await call(
            client.runs.spend(
                "run-r", cost_usd="0.08", input_tokens=10, reservation=reserved.reservation
            )
        )
        outcome = await call(client.change_sets.submit(track="always_on", items=[BRAND_UP]))
        ticket = await call(client.tickets.open(type="A4", title="Access to TikTok Ads"))
        return lost.value, spend, outcome, ticket

    lost, spend, outcome, ticket = drive(make_client(proxy.url), scenario)

    for path in WRITES:
        sent = proxy.requests_to("POST", "/api/v1" + path)
        assert len(sent) == 2 and sent[0].body == sent[1].body, path
    assert proxy.requests_to("POST", "/api/v1/change-sets")[0].body["change_set_id"] == (
        outcome.change_set_id
    )
    assert AgentRun.objects.filter(run_id="run-r").count() == 1
    assert outcome.applied and ChangeSet.objects.filter(tenant=world.tenant).count() == 1
    assert ExecutionManifestEntry.objects.get(entity_id="search-brand").state["daily_budget"] == (
        "320.00"
    )
    assert ticket.type == "A4"
    assert Ticket.objects.filter(tenant=world.tenant, type="A4").count() == 1
    assert SpendReport.objects.filter(run__run_id="run-r").count() == 1
    assert spend.actual_cost_usd == Decimal("0.08")

    # The gate counts every call that arrives: the one whose answer was lost is not sent again.
    assert "not sent again" in str(lost)
    assert len(proxy.requests_to("POST", "/api/v1/runs/run-r/gate")) == 2  # tool_round, llm_call
    assert AgentRun.objects.get(run_id="run-r").tool_rounds == 1


def test_refusals_that_wrote_nothing_are_waited_out_and_others_are_raised(
    make_client, proxy, world
):
    proxy.fail("POST", "/api/v1/runs/run-r/gate", times=2, status=409, body=TRY_AGAIN)
    proxy.fail(
        "POST",
        "/api/v1/runs/run-r/qc-results",
        status=503,
        body={"error": "unavailable", "detail": "The database is down."},
    )
    proxy.fail(
        "GET",
        "/api/v1/tracks/always_on/current",
        status=429,
        body={"error": "rate_limited", "detail": "300 calls a minute for this key."},
        headers={"Retry-After": "1"},
    )
    proxy.fail(
        "GET",
        "/api/v1/audit/events",
        status=429,
        body={"error": "rate_limited", "detail": "Slow down."},
        headers={"Retry-After": "3600"},
    )
    proxy.fail("GET", "/api/v1/runs/run-r", status=500, body=FAILED)
    proxy.fail("POST", "/api/v1/recommendations", times=10, status=409, body=TRY_AGAIN)

    async def scenario(client):
        got = {}
        await call(client.runs.create(**RUN))
        got["gate"] = await call(client.runs.gate("run-r", "tool_round"))  # after two 409s
        await call(client.runs.qc_result("run-r", subtask_id="copy", passed=True))  # after a 503
        started = time.monotonic()
        got["current"] = await call(client.plans.current("always_on"))  # after a 429
        got["waited"] = time.monotonic() - started
        with pytest.raises(RateLimited) as got["too_long"]:
            await call(client.audit.events())
        got["run"] = await call(client.runs.get("run-r"))  # after a 500: a read goes again
        proxy.fail("POST", "/api/v1/runs/run-r/gate", status=500, body=FAILED)
        with pytest.raises(ServerError) as got["gate_500"]:
            await call(client.runs.gate("run-r", "step"))  # a counted call does not
        with pytest.raises(NotFound):
            await call(client.change_sets.get("cs-nope"))
        with pytest.raises(Conflict) as got["gave_up"]:
            await call(
                client.recommendations.open(track="always_on", path="revise", reason="Drift.")
            )
        return got

    got = drive(make_client(proxy.url), scenario)

    assert got["gate"].counts["tool_round"] == 1
    assert len(proxy.requests_to("POST", "/api/v1/runs/run-r/gate")) == 4  # 409, 409, 200, 500
    assert AgentRun.objects.get(run_id="run-r").tool_rounds == 1
    assert len(proxy.requests_to("POST", "/api/v1/runs/run-r/qc-results")) == 2
    assert QcResult.objects.filter(run__run_id="run-r").count() == 1
    assert got["current"].number == 1 and got["waited"] >= 1.0
    assert len(proxy.requests_to("GET", "/api/v1/tracks/always_on/current")) == 2
    assert got["too_long"].value.retry_after == 3600
    assert len(proxy.requests_to("GET", "/api/v1/audit/events")) == 1
    assert got["run"].run_id == "run-r"
    assert len(proxy.requests_to("GET", "/api/v1/runs/run-r")) == 2
    assert got["gate_500"].value.status == 500
    assert len(proxy.requests_to("GET", "/api/v1/change-sets/cs-nope")) == 1
    assert got["gave_up"].value.try_again
    assert len(proxy.requests_to("POST", "/api/v1/recommendations")) == 4  # FAST: 4 tries
