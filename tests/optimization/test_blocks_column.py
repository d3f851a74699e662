"""The approval table's *Blocks* column (docs/rules.md "What blocks what"), one test per type:
with the ticket open — opened the way the product opens it — the blocked action is refused or
held and nothing changes; after approval it goes through.

| type | opened by | blocks |
|---|---|---|
| A1 media plan approval | an initial plan submitted | execution: a sync naming the version |
| A2 launch confirmation | a first go-live (manifest or change set) | the go-live |
| A3 spend guardrail breach | a change set beyond the guardrails | the budget change |
| A4 access / BM / DNS | an access request (`POST /platform-accounts`) | going live on the account |
| A5 plan revise / replan | a revise submitted | execution of vN+1 |
| A6 manual override | an observation that differs + `reconcile` | automated changes to the entity |
| A7 compliance / policy | the QC agent on a track | creative rotations and launches |
| A8 agent loop exhausted | the gate past a loop limit | the run's retries and change sets |
| A9 Cost Guard tripped | spend at 3x the estimate | the run's LLM calls and change sets |
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from agents.models import AgentRun
from agents.services import run_cost_guard_clear, run_create, run_gate, run_spend
from approvals.models import Ticket
from approvals.services import ticket_decide, ticket_open
from approvals.types import Opener
from audit.actors import Actor
from config.errors import Blocked, Conflict, DomainError
from optimization.models import AppliedChange, ChangeSet, ExecutionManifestEntry, PlatformAccount
from optimization.services import manifest_sync
from optimization.services.onboarding import platform_account_request, platform_account_verify
from optimization.services.reconcile import observations_report, reconcile
from plans.models import PlanStatus, PlanVersion, Track
from plans.services import plan_version_create_draft, plan_version_submit
from tenants.models import Role, TenantPolicy
from tests.conftest import TEST_ACTOR
from tests.optimization.conftest import NOW, entry
from tests.optimization.test_change_sets import submit
from tests.plans.plan_samples import changed, search_up_12_pct, winter_plan

pytestmark = pytest.mark.django_db


def status_of(entity_id: str) -> str:
    return ExecutionManifestEntry.objects.get(entity_id=entity_id).state["status"]


def approve(ticket: Ticket, *actors: Actor) -> None:
    for actor in actors:
        ticket_decide(ticket=Ticket.objects.get(pk=ticket.pk), actor=actor, verdict="approve")


def test_a2_of_a_change_set_holds_the_first_go_live_until_approved(live, people):
    change_set = submit(
        live, {"entity_id": "search-new", "field": "status", "before": "paused", "after": "active"}
    )
    a2 = Ticket.objects.get(public_id=change_set.ticket)
    assert a2.type == "A2"
    assert status_of("search-new") == "paused"  # blocked while open: nothing changed
    approve(a2, Actor.for_user(people[Role.OPERATOR]))
    assert status_of("search-new") == "active"


def test_a2_of_a_manifest_launch_holds_the_first_go_live_until_approved(live, people):
    result = manifest_sync(
        tenant=live,
        track_key="always_on",
        entries=[entry("search-brand-2", "search", "50.00")],
        actor=TEST_ACTOR,
    )
    a2 = Ticket.objects.get(public_id=result.ticket)
    assert a2.type == "A2"
    assert status_of("search-brand-2") == "pending"
    again = manifest_sync(
        tenant=live,
        track_key="always_on",
        entries=[entry("search-brand-2", "search", "50.00")],
        actor=TEST_ACTOR,
    )
    assert again.ticket == a2.public_id and status_of("search-brand-2") == "pending"
    approve(a2, Actor.for_user(people[Role.OPERATOR]))
    assert status_of("search-brand-2") == "active"


def test_a7_on_a_track_blocks_creative_rotation_until_approved(live, people, make_member):
    a7 = ticket_open(
        tenant=live,
        type="A7",
        actor=Actor.system("qc-agent"),
        title="Winter copy check",
        subject_type="track",
        subject_id="always_on",
        opener=Opener.AGENT,
    )
    rotate = {
        "entity_id": "social-prospecting",
        "field": "creative_rotation",
        "before": None,
        "after": ["winter-sale-v2"],
    }
    with pytest.raises(Blocked) as refused:
        submit(live, rotate)
    assert (refused.value.code, refused.value.ticket) == ("blocked_by_compliance", a7.public_id)
    assert not ChangeSet.objects.exists()
    assert (
        "creative_rotation"
        not in ExecutionManifestEntry.objects.get(entity_id="social-prospecting").state
    )
    legal = Actor.for_user(make_member("lena", live, Role.LEGAL))
    approve(a7, Actor.for_user(people[Role.PLANNER]), legal)
    assert submit(live, rotate).status == "applied"  # acme's standard profile reviews no rotation
    assert ExecutionManifestEntry.objects.get(entity_id="social-prospecting").state[
        "creative_rotation"
    ] == ["winter-sale-v2"]


# --- A1 / A5: execution of a plan version waits for its approval ------------------------------
def planned(version: int, status: str = "paused") -> dict:
    row = entry("search-winter", "search", "40.00", status=status)
    row["plan_version"] = version
    return row


def approve_slots(ticket: Ticket, people_by_role: dict) -> None:
    """Each required slot ("operator/planner") approved by a person of its first role."""
    for slot in ticket.required_roles:
        role = slot.split("/")[0]
        ticket_decide(
            ticket=Ticket.objects.get(pk=ticket.pk),
            actor=Actor.for_user(people_by_role[role]),
            verdict="approve",
            role=role,
        )


def submitted(tenant, author, payload, kind) -> PlanVersion:
    draft = plan_version_create_draft(
        tenant=tenant,
        track_key="always_on",
        kind=kind,
        payload=payload,
        actor=Actor.for_user(author),
        reason="the winter plan",
    )
    return plan_version_submit(version=draft, actor=Actor.for_user(author))


def version_tickets(version: PlanVersion) -> list[Ticket]:
    return list(
        Ticket.objects.filter(
            tenant_id=version.tenant_id, subject_id=str(version.number), status="open"
        ).order_by("type")
    )


def test_a1_holds_the_plans_execution_until_approved(on_10_november, acme, alice, make_member):
    v1 = submitted(acme, alice, winter_plan(), "initial")
    a1, a7 = version_tickets(v1)
    assert (a1.type, a7.type) == ("A1", "A7")
    with pytest.raises(DomainError) as refused:
        manifest_sync(tenant=acme, track_key="always_on", entries=[planned(1)], actor=TEST_ACTOR)
    assert (refused.value.status, refused.value.code) == (422, "invalid_manifest")
    assert "v1 is not an approved version" in refused.value.message
    assert not ExecutionManifestEntry.objects.exists()
    deciders = {
        Role.PLANNER: make_member("pete", acme, Role.PLANNER),  # not the author: four eyes
        Role.LEGAL: make_member("lena", acme, Role.LEGAL),
    }
    for ticket in (a1, a7):
        approve_slots(ticket, deciders)
    v1.refresh_from_db()
    assert v1.status == PlanStatus.APPROVED
    result = manifest_sync(
        tenant=acme, track_key="always_on", entries=[planned(1)], actor=TEST_ACTOR
    )
    assert result.upserted == 1
    assert ExecutionManifestEntry.objects.get(entity_id="search-winter").plan_version == 1


def test_a5_holds_the_new_versions_execution_until_approved(live, alice, make_member):
    v2 = submitted(live, alice, changed(winter_plan(), search_up_12_pct), "revise")
    (a5,) = version_tickets(v2)
    assert (a5.type, a5.required_roles) == ("A5", ["planner", "client"])  # the budget goes up
    with pytest.raises(DomainError) as refused:
        manifest_sync(tenant=live, track_key="always_on", entries=[planned(2)], actor=TEST_ACTOR)
    assert (refused.value.status, refused.value.code) == (422, "invalid_manifest")
    assert "v2 is not an approved version" in refused.value.message
    assert not ExecutionManifestEntry.objects.filter(entity_id="search-winter").exists()
    assert Track.objects.get(tenant=live, key="always_on").current_version.number == 1
    approve_slots(
        a5,
        {
            Role.PLANNER: make_member("pete", live, Role.PLANNER),
            Role.CLIENT: make_member("carol", live, Role.CLIENT),
        },
    )
    assert Track.objects.get(tenant=live, key="always_on").current_version.number == 2
    manifest_sync(tenant=live, track_key="always_on", entries=[planned(2)], actor=TEST_ACTOR)
    assert ExecutionManifestEntry.objects.get(entity_id="search-winter").plan_version == 2


# --- A3: a budget change beyond the guardrails --------------------------------------------------
def test_a3_holds_a_budget_change_beyond_the_guardrail_until_approved(live, people):
    up = submit(
        live,
        {
            "entity_id": "search-brand",
            "field": "daily_budget",
            "before": "300.00",
            "after": "390.00",
        },
    )
    a3 = Ticket.objects.get(public_id=up.ticket)
    assert (up.status, a3.type) == ("pending_approval", "A3")
    assert budget_of("search-brand") == "300.00"  # blocked while open: nothing changed
    assert not AppliedChange.objects.filter(change_set=up).exists()
    approve_slots(a3, people)
    up.refresh_from_db()
    assert up.status == "applied"
    assert budget_of("search-brand") == "390.00"


def budget_of(entity_id: str) -> str:
    return ExecutionManifestEntry.objects.get(entity_id=entity_id).state["daily_budget"]


# --- A4: onboarding completion --------------------------------------------------------------
def on_account(status: str = "active") -> dict:
    row = entry("social-new", "social", "100.00", status=status)
    row["state"]["account"] = "act_55120"
    return row


def test_a4_holds_going_live_on_the_account_until_granted_and_verified(live, people):
    account, created = platform_account_request(
        tenant=live,
        platform="meta",
        kind="ad_account",
        external_id="act_55120",
        client_owned=False,
        actor=Actor.service("onboarding-agent"),
        agent="onboarding-agent",
    )
    a4 = Ticket.objects.get(public_id=account.ticket)
    assert (created, a4.type, a4.status) == (True, "A4", "open")
    with pytest.raises(Blocked) as refused:
        manifest_sync(tenant=live, track_key="always_on", entries=[on_account()], actor=TEST_ACTOR)
    assert (refused.value.status, refused.value.code) == (423, "account_not_onboarded")
    assert a4.public_id in refused.value.message
    assert not ExecutionManifestEntry.objects.filter(entity_id="social-new").exists()
    with pytest.raises(Conflict):  # nor can the agent call it verified before the A4
        platform_account_verify(tenant=live, account_id=account.pk, actor=TEST_ACTOR)
    approve_slots(a4, people)
    assert PlatformAccount.objects.get(pk=account.pk).state == "granted"
    platform_account_verify(tenant=live, account_id=account.pk, actor=TEST_ACTOR)
    TenantPolicy.objects.filter(tenant=live).update(first_launch_requires_human=False)
    manifest_sync(tenant=live, track_key="always_on", entries=[on_account()], actor=TEST_ACTOR)
    assert ExecutionManifestEntry.objects.get(entity_id="social-new").state["status"] == "active"


# --- A6: reconciliation ---------------------------------------------------------------------
def test_a6_holds_automated_changes_to_the_entity_until_the_admin_decides(live, people):
    observations_report(
        tenant=live,
        track_key="always_on",
        observations=[
            {
                "platform": "meta",
                "entity_id": "social-prospecting",
                "status": "active",
                "daily_budget": "380.00",
                "spend_to_date": "1200.00",
                "observed_at": (NOW - timedelta(minutes=5)).isoformat(),
            }
        ],
        actor=Actor.service("execution-agent"),
    )
    (opened,) = reconcile(tenant=live).opened
    a6 = Ticket.objects.get(public_id=opened)
    assert (a6.type, a6.required_roles) == ("A6", ["admin"])
    social_up = {
        "entity_id": "social-prospecting",
        "field": "daily_budget",
        "before": "333.33",
        "after": "340.00",
    }
    with pytest.raises(Blocked) as refused:
        submit(live, social_up)
    assert (refused.value.status, refused.value.code) == (423, "reconciliation_pending")
    assert a6.public_id in refused.value.message
    assert not ChangeSet.objects.exists()
    assert budget_of("social-prospecting") == "333.33"
    approve_slots(a6, people)  # the admin accepts the platform's value
    assert budget_of("social-prospecting") == "380.00"
    allowed = submit(live, {**social_up, "before": "380.00", "after": "385.00"})
    assert allowed.status == "applied"
    assert budget_of("social-prospecting") == "385.00"


# --- A8 / A9: a red-flagged run ---------------------------------------------------------------
def a_run(tenant) -> str:
    run_create(
        tenant=tenant,
        run_id="run-93ab",
        main_task_id="weekly-optimisation",
        agent="optimizer",
        model="gpt-5-mini",
        estimated_cost_usd="2.00",
        actor=TEST_ACTOR,
    )
    return "run-93ab"


def test_a8_blocks_the_runs_retries_and_its_change_sets_until_cleared(live, people):
    run_id = a_run(live)
    for _ in range(2):
        assert run_gate(tenant=live, run_id=run_id, kind="qc_correction").allowed
    refused = run_gate(tenant=live, run_id=run_id, kind="qc_correction")
    a8 = Ticket.objects.get(public_id=refused.ticket)
    assert (refused.allowed, refused.reason, a8.type) == (False, "loop_limit:qc_correction", "A8")
    retry = run_gate(tenant=live, run_id=run_id, kind="orchestrator_retry")
    assert (retry.allowed, retry.ticket) == (False, a8.public_id)
    small = {"entity_id": "search-brand", "field": "daily_budget", "before": "300.00"}
    with pytest.raises(Blocked) as blocked:
        submit(live, {**small, "after": "310.00"}, run_id=run_id)
    assert (blocked.value.status, blocked.value.code) == (423, "run_blocked")
    assert not ChangeSet.objects.exists() and budget_of("search-brand") == "300.00"
    approve_slots(a8, people)
    assert run_gate(tenant=live, run_id=run_id, kind="qc_correction").allowed
    assert submit(live, {**small, "after": "310.00"}, run_id=run_id).status == "applied"
    assert budget_of("search-brand") == "310.00"


def test_a9_blocks_the_runs_llm_calls_and_its_change_sets_until_cleared(live, people):
    run_id = a_run(live)
    spent = run_spend(
        tenant=live, run_id=run_id, input_tokens=1000, output_tokens=200, cost_usd="6.50"
    )
    a9 = Ticket.objects.get(public_id=spent.ticket)
    assert (a9.type, spent.run.cost_block) == ("A9", True)
    refused = run_gate(tenant=live, run_id=run_id, kind="llm_call")
    assert (refused.allowed, refused.reason, refused.ticket) == (False, "cost_guard", a9.public_id)
    small = {"entity_id": "search-brand", "field": "daily_budget", "before": "300.00"}
    with pytest.raises(Blocked) as blocked:
        submit(live, {**small, "after": "310.00"}, run_id=run_id)
    assert (blocked.value.status, blocked.value.code) == (423, "run_blocked")
    assert not ChangeSet.objects.exists() and budget_of("search-brand") == "300.00"
    # Cleared by the operator with a raised estimate (the line moves to 3 × $5): the A9 approved.
    run_cost_guard_clear(
        run=AgentRun.objects.get(run_id=run_id),
        actor=Actor.for_user(people[Role.OPERATOR]),
        estimated_cost_usd="5",
        reason="the weekly report is long",
    )
    assert Ticket.objects.get(pk=a9.pk).status == "approved"
    assert run_gate(tenant=live, run_id=run_id, kind="llm_call").allowed
    assert submit(live, {**small, "after": "310.00"}, run_id=run_id).status == "applied"
    assert budget_of("search-brand") == "310.00"
