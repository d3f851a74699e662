"""Every method of the client against a live server, with the sync and the async client alike:
typed answers (money as Decimal, times as datetime) and what the server wrote."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from decimal import Decimal

import pytest
from django.db import connection
from human_touch_client import (
    Conflict,
    Invalid,
    NotFound,
    WaitTimeout,
)

from agents.models import AgentRun, QcResult, Reservation
from approvals.models import Ticket
from approvals.services import ticket_decide
from audit.actors import Actor
from optimization.models import ChangeSet, ExecutionManifestEntry, PerformanceRow
from plans.models import PlanVersion
from tenants.models import Role
from tests.client.conftest import call, drive
from tests.plans.plan_samples import changed, search_up_12_pct, winter_plan

pytestmark = pytest.mark.django_db(transaction=True)


async def refusals(client) -> dict:
    """Refused requests, each caught as what it is."""
    got = {}
    for name, attempt in [
        ("not_found", lambda: client.runs.get("run-nope")),
        ("not_found_ticket", lambda: client.tickets.get("A3-NOPE")),
        (
            "contradiction",
            lambda: client.plans.draft(
                "always_on",
                kind="revise",
                payload=changed(winter_plan(), lambda p: p["geos"].append("CH")),
            ),
        ),
        (
            "same_id_other_body",
            lambda: client.change_sets.submit(
                change_set_id="cs-social-up",
                track="always_on",
                reason="Social converts: +14%.",
                items=[
                    {
                        "entity_id": "social-prospecting",
                        "field": "daily_budget",
                        "before": "380.00",
                        "after": "433.00",
                    }
                ],
            ),
        ),
    ]:
        try:
            await call(attempt())
        except Exception as error:  # the test looks at which one it was
            got[name] = error
    return got


async def every_method(client) -> dict:
    """One session touching every endpoint; returns what came back, for the test to check."""
    got = {"whoami": await call(client.whoami())}
    got["run"] = await call(
        client.runs.create(
            run_id="run-1",
            main_task_id="budget-pacing",
            agent="bid-optimizer",
            model="gpt-5-mini",
            estimated_cost_usd="0.50",
        )
    )
    got["tool_round"] = await call(client.runs.gate("run-1", "tool_round"))
    got["reserved"] = await call(client.runs.gate("run-1", "llm_call", expected_cost_usd="0.10"))
    got["spend"] = await call(
        client.runs.spend(
            "run-1",
            cost_usd=Decimal("0.08"),
            input_tokens=800,
            output_tokens=90,
            reservation=got["reserved"].reservation,
        )
    )
    unused = await call(client.runs.gate("run-1", "llm_call", expected_cost_usd="0.05"))
    got["released"] = await call(client.runs.release("run-1", unused.reservation))
    got["qc"] = await call(
        client.runs.qc_result(
            "run-1", subtask_id="copy-check", passed=False, attempt=1, failure_codes=["tone"]
        )
    )
    got["run_detail"] = await call(client.runs.get("run-1"))
    got["current"] = await call(client.plans.current("always_on"))
    got["draft"] = await call(
        client.plans.draft(
            "always_on",
            kind="revise",
            payload=changed(winter_plan(), search_up_12_pct),
            reason="Search converts in December.",
        )
    )
    got["submitted"] = await call(client.plans.submit(got["draft"].number))
    got["manifest"] = await call(
        client.tracks.sync_manifest(
            "always_on",
            entries=[
                {
                    "platform": "meta",
                    "entity_id": "social-retargeting",
                    "channel": "social",
                    "plan_version": 1,
                    "state": {"daily_budget": "0.00", "status": "paused"},
                }
            ],
        )
    )
    got["performance"] = await call(
        client.tracks.report_performance(
            "always_on",
            rows=[
                {
                    "date": "2026-11-30",
                    "channel": "social",
                    "source": "ga4",
                    "spend": "318.40",
                    "conversions": "8",
                    "kpi": "cpa",
                    "kpi_value": "39.80",
                }
            ],
        )
    )
    got["applied"] = await call(
        client.change_sets.submit(
            track="always_on",
            run_id="run-1",
            agent="bid-optimizer",
            reason="Brand search sells out by noon.",
            items=[
                {
                    "entity_id": "search-brand",
                    "field": "daily_budget",
                    "before": Decimal("300.00"),
                    "after": Decimal("320.00"),
                }
            ],
        )
    )
    got["pending"] = await call(
        client.change_sets.submit(
            change_set_id="cs-social-up",
            track="always_on",
            reason="Social converts: +13%.",
            items=[
                {
                    "entity_id": "social-prospecting",
                    "field": "daily_budget",
                    "before": "380.00",
                    "after": "430.00",
                }
            ],
        )
    )
    got["change_set"] = await call(client.change_sets.get("cs-social-up"))
    got["a3"] = await call(client.tickets.get(got["pending"].ticket))
    got["a7"] = await call(
        client.request_approval(
            type="A7",
            title="New claim in the winter copy",
            summary="'Warmest coat in Germany' needs a legal look.",
            plan_version=1,
        )
    )
    got["a4"] = await call(client.tickets.open(type="A4", title="Access to the TikTok account"))
    got["recommendation"] = await call(
        client.recommendations.open(
            track="always_on",
            path="revise",
            reason="Social beats its CPA target four weeks running.",
            evidence={"weeks_on_target": 4},
        )
    )
    got["audit"] = await call(client.audit.events(after_seq=0, limit=3))
    got["refused"] = await refusals(client)
    return got


def test_every_endpoint_answers_in_types_writes_what_it_says_and_refuses_as_exceptions(
    make_client, world
):
    got = drive(make_client(), every_method)

    assert got["whoami"].tenant == "acme" and got["whoami"].api_version == "1"
    run = AgentRun.objects.get(tenant=world.tenant, run_id="run-1")
    assert got["run"].state == "running"
    assert got["tool_round"].counts["tool_round"] == 1 and got["tool_round"].allowed
    assert got["reserved"].reservation.startswith("rsv_")
    assert got["spend"].actual_cost_usd == Decimal("0.08")
    assert isinstance(got["spend"].estimated_cost_usd, Decimal)
    assert got["released"].status == "released"
    assert Reservation.objects.get(public_id=got["released"].reservation).status == "released"
    assert QcResult.objects.get(pk=got["qc"].id).failure_codes == ["tone"]
    detail = got["run_detail"]
    assert (detail.actual_cost_usd, detail.reserved_usd) == (Decimal("0.08"), Decimal("0"))
    assert (detail.input_tokens, detail.output_tokens) == (800, 90)
    assert isinstance(detail.created_at, datetime)
    assert run.actual_cost_usd == Decimal("0.08")

    assert got["current"].number == 1 and got["current"].payload["primary_kpi"] == "cpa"
    assert (got["draft"].path, got["draft"].parent) == ("revise", 1)
    assert got["submitted"].status == "pending_approval"
    assert PlanVersion.objects.get(tenant=world.tenant, number=got["draft"].number).status == (
        "pending_approval"
    )
    assert got["manifest"].upserted == 1
    assert ExecutionManifestEntry.objects.filter(entity_id="social-retargeting").exists()
    assert got["performance"].upserted == 1
    assert PerformanceRow.objects.filter(channel="social", source="ga4").count() == 1

    assert got["applied"].applied and got["applied"].change_set_id.startswith("cs-")
    assert ExecutionManifestEntry.objects.get(entity_id="search-brand").state["daily_budget"] == (
        "320.00"
    )
    assert got["pending"].pending and got["pending"].ticket.startswith("A3-")
    assert got["change_set"].items[0].after == "430.00"
    assert [e.kind for e in got["change_set"].history] == ["proposed", "pending_approval"]
    assert got["a3"].status == "open" and got["a3"].pending_roles == ["operator", "client"]
    assert ChangeSet.objects.filter(tenant=world.tenant).count() == 2

    assert got["a7"].type == "A7" and got["a4"].type == "A4"
    assert Ticket.objects.filter(public_id__in=[got["a7"].ticket, got["a4"].ticket]).count() == 2
    assert got["recommendation"].ticket.startswith("A5-")
    assert len(got["audit"].events) == 3 and got["audit"].has_more
    assert got["audit"].next_after_seq == got["audit"].events[-1].seq

    refused = got["refused"]
    assert isinstance(refused["not_found"], NotFound) and refused["not_found"].error == "not_found"
    assert "run-nope" in refused["not_found"].detail
    assert isinstance(refused["not_found_ticket"], NotFound)
    assert isinstance(refused["contradiction"], Invalid)
    assert refused["contradiction"].error == "kind_contradicts_classifier"
    assert isinstance(refused["same_id_other_body"], Conflict)
    assert refused["same_id_other_body"].error == "conflict"
    assert not refused["same_id_other_body"].try_again
    assert PlanVersion.objects.filter(tenant=world.tenant).count() == 2
    assert ChangeSet.objects.get(change_set_id="cs-social-up").items.get().after == "430.00"


def test_waiting_for_a_ticket_returns_the_decision_people_made(make_client, world, people):
    client = make_client()
    proposed, decide = {}, threading.Event()

    async def propose_then_wait(client):
        outcome = await call(
            client.change_sets.submit(
                track="always_on",
                items=[
                    {
                        "entity_id": "social-prospecting",
                        "field": "daily_budget",
                        "before": "380.00",
                        "after": "330.00",
                    }
                ],
            )
        )
        proposed["ticket"] = outcome.ticket
        ticket = await call(client.tickets.get(outcome.ticket))
        with pytest.raises(WaitTimeout) as timed_out:
            await call(ticket.wait(timeout=0.3, poll=0.1))
        proposed["timed_out"] = timed_out.value
        decide.set()
        return await call(ticket.wait(timeout=20, poll=0.1))

    def the_operator_approves():
        try:
            if decide.wait(20):
                ticket = Ticket.objects.get(public_id=proposed["ticket"])
                ticket_decide(
                    ticket=ticket, actor=Actor.for_user(people[Role.OPERATOR]), verdict="approve"
                )
        finally:
            connection.close()

    person = threading.Thread(target=the_operator_approves)
    person.start()
    decided = drive(client, propose_then_wait)
    person.join(20)

    assert proposed["timed_out"].ticket.status == "open"
    assert "operator" in str(proposed["timed_out"])
    assert decided.status == "approved" and decided.decisions[0].role == "operator"
    assert ExecutionManifestEntry.objects.get(entity_id="social-prospecting").state[
        "daily_budget"
    ] == ("330.00")


async def reconciling_and_onboarding(client) -> dict:
    """What the platform runs, its reconciliation read back, a platform account onboarding."""
    got = {
        "observed": await call(
            client.tracks.report_observations(
                "always_on",
                observations=[
                    {
                        "platform": "meta",
                        "entity_id": "social-prospecting",
                        "status": "active",
                        "daily_budget": "420.00",
                        "spend_to_date": "1200.00",
                        "observed_at": "2026-12-01T08:00:00Z",
                    }
                ],
            )
        )
    }
    await asyncio.to_thread(reconcile_all)
    got["reconciliations"] = await call(client.tracks.reconciliations("always_on"))
    got["account"] = await call(
        client.platform_accounts.request(
            platform="tiktok", kind="ad_account", external_id="tt-4471", agent="onboarder"
        )
    )
    got["again"] = await call(
        client.platform_accounts.request(
            platform="tiktok", kind="ad_account", external_id="tt-4471", agent="onboarder"
        )
    )
    try:
        await call(client.platform_accounts.verified(got["account"].id))
    except Conflict as refused:
        got["too_early"] = refused
    return got


def reconcile_all():
    from optimization.services.reconcile import reconcile

    reconcile()
    connection.close()


def test_reconciliation_and_onboarding_methods_answer_in_types_and_write_what_they_say(
    make_client, world
):
    got = drive(make_client(), reconciling_and_onboarding)

    assert got["observed"].accepted == 1
    (pending,) = got["reconciliations"].reconciliations
    assert (pending.entity_id, pending.status) == ("social-prospecting", "open")
    assert pending.ticket.startswith("A6-") and isinstance(pending.opened_at, datetime)
    assert Ticket.objects.get(public_id=pending.ticket).type == "A6"
    account = got["account"]
    assert (account.state, account.kind, account.client_owned) == ("requested", "ad_account", False)
    assert account.ticket.startswith("A4-") and got["again"].id == account.id
    assert Ticket.objects.filter(type="A4", tenant=world.tenant).count() == 1
    assert got["too_early"].error == "invalid_status"


async def aligning(client) -> dict:
    """v2 (search +12% in December) approved: the client reads the alignment work and submits
    it as a change set of kind alignment."""
    got = {"before": await call(client.tracks.alignment("always_on"))}
    got["applied"] = await call(
        client.change_sets.submit(
            track="always_on",
            kind="alignment",
            reason="Align with v2.",
            items=[
                {"entity_id": e.entity_id, "field": e.field, "before": e.live, "after": e.target}
                for e in got["before"].entities
            ],
        )
    )
    got["after"] = await call(client.tracks.alignment("always_on"))
    return got


def test_the_alignment_method_reads_typed_work_and_an_alignment_change_set_clears_it(
    make_client, world
):
    from plans.services import plan_version_import_approved
    from tests.conftest import TEST_ACTOR

    plan_version_import_approved(
        tenant=world.tenant,
        track_key="always_on",
        kind="revise",
        payload=changed(winter_plan(), search_up_12_pct),
        actor=TEST_ACTOR,
        approved_by="tests",
    )
    got = drive(make_client(), aligning)

    before = got["before"]
    assert (before.version, before.aligned) == (2, False)
    assert isinstance(before.due_at, datetime)
    # search to v2's €638.71 a day; social (€380 live) to the December plan's €387.10.
    targets = {e.entity_id: e.target_amount for e in before.entities}
    assert set(targets) == {"search-brand", "search-generic", "social-prospecting"}
    assert targets["search-brand"] + targets["search-generic"] == Decimal("638.71")
    assert targets["social-prospecting"] == Decimal("387.10")
    assert got["applied"].status == "applied" and got["applied"].ticket is None
    assert (got["after"].aligned, got["after"].entities) == (True, [])
    assert set(ExecutionManifestEntry.objects.values_list("plan_version", flat=True)) == {2}
