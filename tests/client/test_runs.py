"""`client.run(...)`: the gate before each step, `Blocked` carrying the ticket that holds the run,
and `run.llm_call(...)` reserving before a model call, settling after, releasing on an exception
— sync and async alike, against a live server."""

from __future__ import annotations

from decimal import Decimal

import pytest
from human_touch_client import AsyncClient, Blocked

from agents.models import AgentRun, Reservation
from approvals.models import Ticket
from optimization.models import ChangeSet
from tests.client.conftest import call, drive

pytestmark = pytest.mark.django_db(transaction=True)

SOCIAL_UP = {
    "entity_id": "social-prospecting",
    "field": "daily_budget",
    "before": "380.00",
    "after": "390.00",
}


class ModelFailed(Exception):
    pass


async def enter(context):
    """Enter a run or an LLM call, as a context manager of the client's kind."""
    return await context.__aenter__() if hasattr(context, "__aenter__") else context.__enter__()


async def leave(context, error=None):
    if hasattr(context, "__aexit__"):
        return await context.__aexit__(type(error), error, None)
    return context.__exit__(type(error), error, None)


def open_run(client, run_id):
    return client.run(task="budget-pacing", estimate_usd="0.50", model="gpt-5-mini", run_id=run_id)


def test_a_blocked_run_raises_blocked_with_the_ticket_that_holds_it(make_client, world):
    async def scenario(client):
        looping = await enter(open_run(client, "run-loop"))
        for _ in range(5):
            await call(looping.step("tool_round"))
        with pytest.raises(Blocked) as at_the_gate:
            await call(looping.step("tool_round"))
        with pytest.raises(Blocked) as change_set:
            await call(looping.change_set(track="always_on", items=[SOCIAL_UP], reason="More."))

        spending = await enter(open_run(client, "run-cost"))
        ran = []
        with pytest.raises(Blocked) as too_dear:
            model_call = await enter(spending.llm_call(expected_usd="1.60"))
            ran.append(model_call)
        return looping, at_the_gate.value, change_set.value, too_dear.value, ran

    looping, at_the_gate, change_set, too_dear, ran = drive(make_client(), scenario)

    a8 = Ticket.objects.get(tenant=world.tenant, type="A8", run_id="run-loop")
    assert at_the_gate.ticket == a8.public_id and at_the_gate.reason == "loop_limit:tool_round"
    assert at_the_gate.status == 423 and a8.public_id in str(at_the_gate)
    assert change_set.ticket == a8.public_id and change_set.error == "run_blocked"
    assert looping.agent == "optimizer"  # the key's name when none is given
    assert AgentRun.objects.get(run_id="run-loop").state == "blocked"
    assert not ChangeSet.objects.filter(tenant=world.tenant).exists()

    a9 = Ticket.objects.get(tenant=world.tenant, type="A9", run_id="run-cost")
    assert (too_dear.ticket, too_dear.reason) == (a9.public_id, "cost_guard")
    assert ran == []  # refused before the model call
    assert not Reservation.objects.filter(run__run_id="run-cost").exists()


def test_an_llm_call_reserves_before_settles_after_and_releases_when_it_raises(make_client, world):
    async def scenario(client):
        run = await enter(open_run(client, "run-llm"))
        settled = run.llm_call(expected_usd="0.12")
        await enter(settled)
        held = (await call(run.info())).reserved_usd
        spend = await call(settled.spent(Decimal("0.09"), 8200, 950))
        await leave(settled)

        failing = run.llm_call(expected_usd="0.30")
        await enter(failing)
        await leave(failing, ModelFailed("the model timed out"))
        if isinstance(client, AsyncClient):
            with pytest.raises(ModelFailed):
                async with run.llm_call(expected_usd="0.20"):
                    raise ModelFailed("the model timed out")
        else:
            with pytest.raises(ModelFailed), run.llm_call(expected_usd="0.20"):
                raise ModelFailed("the model timed out")
        return settled, held, spend, failing

    settled, held, spend, failing = drive(make_client(), scenario)

    assert held == Decimal("0.12")
    reservation = Reservation.objects.get(public_id=settled.reservation)
    assert (reservation.status, reservation.cost_usd) == ("settled", Decimal("0.09"))
    assert spend.actual_cost_usd == Decimal("0.09") and spend.state == "running"
    assert Reservation.objects.get(public_id=failing.reservation).status == "released"
    assert list(
        Reservation.objects.filter(run__run_id="run-llm").values_list("status", flat=True)
    ) == ["settled", "released", "released"]
    run = AgentRun.objects.get(run_id="run-llm")
    assert (run.reserved_usd, run.actual_cost_usd) == (Decimal("0"), Decimal("0.09"))
    assert (run.input_tokens, run.output_tokens) == (8200, 950)
