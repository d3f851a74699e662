"""Issue 17 item 2: compliance profiles are data with rules (tenants/compliance.py). Before, for
globex (health_strict) an agent's change set rotating in "Cures back pain in 3 days" and adding
the audience "chronic pain sufferers" auto-applied, and an A7 opened through the API blocked
nothing."""

from __future__ import annotations

import uuid

import pytest
from django.core.exceptions import ValidationError

from approvals.models import Ticket
from approvals.services import ticket_decide
from audit.actors import Actor
from optimization.models import ChangeSet, ExecutionManifestEntry
from optimization.services import manifest_sync
from plans.services import plan_version_import_approved
from tenants.compliance import allowed_profiles, profile_spec
from tenants.models import Role, TenantPolicy
from tenants.services import tenant_create, tenant_policy_update
from tests.conftest import TEST_ACTOR, agent_headers
from tests.plans.plan_samples import changed, winter_plan

pytestmark = pytest.mark.django_db


def _entries(version: int, currency_budget: str = "300.00") -> list[dict]:
    return [
        {
            "platform": "meta",
            "entity_id": "adset-back",
            "channel": "social",
            "plan_version": version,
            "state": {
                "daily_budget": currency_budget,
                "status": "active",
                "creative_rotation": ["Gentle stretches for busy backs"],
                "audiences": ["adults 35-65"],
            },
        },
        {
            "platform": "meta",
            "entity_id": "adset-new",
            "channel": "social",
            "plan_version": version,
            "state": {"daily_budget": "0.00", "status": "paused"},
        },
    ]


@pytest.fixture
def globex_live(globex):
    version = plan_version_import_approved(
        tenant=globex,
        track_key="always_on",
        kind="initial",
        payload=changed(winter_plan(), lambda p: p.update(geos=["US"], currency="USD")),
        actor=TEST_ACTOR,
        approved_by="tests",
    )
    manifest_sync(
        tenant=globex,
        track_key="always_on",
        entries=_entries(version.number),
        actor=TEST_ACTOR,
        launched_by="tests",
    )
    return globex


@pytest.fixture
def reviewers(globex, make_member):
    return (
        Actor.for_user(make_member("gpia", globex, Role.PLANNER)),
        Actor.for_user(make_member("glenn", globex, Role.LEGAL)),
    )


def post_change_set(client, headers, *items, track="always_on"):
    return client.post(
        "/api/v1/change-sets",
        {
            "change_set_id": str(uuid.uuid4()),
            "track": track,
            "agent": "creative-bot",
            "reason": "new angle",
            "items": list(items),
        },
        content_type="application/json",
        **headers,
    )


def rotation(after, before=("Gentle stretches for busy backs",), entity="adset-back"):
    return {
        "entity_id": entity,
        "field": "creative_rotation",
        "before": list(before),
        "after": after,
    }


def audiences(after):
    return {
        "entity_id": "adset-back",
        "field": "audiences",
        "before": ["adults 35-65"],
        "after": after,
    }


def state(entity="adset-back") -> dict:
    return ExecutionManifestEntry.objects.get(entity_id=entity).state


def open_a7(client, headers, subject_type, subject_id):
    response = client.post(
        "/api/v1/tickets",
        {
            "type": "A7",
            "title": "Check the back-pain angle",
            "subject_type": subject_type,
            "subject_id": subject_id,
        },
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 201, response.json()
    return Ticket.objects.get(public_id=response.json()["ticket"])


def test_the_globex_bypass_a_cure_claim_with_a_new_audience_is_refused_naming_the_rule(
    client, globex_live
):
    response = post_change_set(
        client,
        agent_headers(globex_live),
        rotation(["Cures back pain in 3 days"]),
        audiences(["adults 35-65", "chronic pain sufferers"]),
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "claim_refused"
    assert "health.cure_claim" in body["detail"] and "Cures back pain in 3 days" in body["detail"]
    assert body["fields"] == {"items[0].after": ["refused: health.cure_claim"]}
    assert not ChangeSet.objects.exists() and not Ticket.objects.exists()
    assert state()["creative_rotation"] == ["Gentle stretches for busy backs"]


def test_a_guarded_audience_change_waits_for_an_a7_and_applies_only_when_approved(
    client, globex_live, reviewers
):
    response = post_change_set(
        client, agent_headers(globex_live), audiences(["adults 35-65", "chronic pain sufferers"])
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending_approval"
    assert "health_strict profile sends audiences to compliance review (A7)" in body["reason"]
    a7 = Ticket.objects.get(public_id=body["ticket"])
    assert (a7.type, a7.required_roles, a7.governs_subject) == ("A7", ["planner", "legal"], True)
    assert state()["audiences"] == ["adults 35-65"]  # nothing applied yet

    planner, legal = reviewers
    ticket_decide(ticket=a7, actor=planner, verdict="approve")
    assert state()["audiences"] == ["adults 35-65"]  # legal has not approved yet
    ticket_decide(ticket=a7, actor=legal, verdict="approve")
    assert state()["audiences"] == ["adults 35-65", "chronic pain sufferers"]
    assert ChangeSet.objects.get().status == "applied"


def test_legal_keeps_its_veto_and_a_rejected_a7_applies_nothing(client, globex_live, reviewers):
    body = post_change_set(
        client, agent_headers(globex_live), rotation(["Stretch five minutes a day"])
    ).json()
    _, legal = reviewers
    ticket_decide(
        ticket=Ticket.objects.get(public_id=body["ticket"]),
        actor=legal,
        verdict="reject",
        comment="needs a disclaimer",
    )
    assert ChangeSet.objects.get().status == "rejected"
    assert state()["creative_rotation"] == ["Gentle stretches for busy backs"]


def test_a_standard_tenant_changes_audiences_without_review(client, acme, acme_v1):
    manifest_sync(
        tenant=acme,
        track_key="always_on",
        entries=_entries(1),
        actor=TEST_ACTOR,
        launched_by="tests",
    )
    response = post_change_set(client, agent_headers(acme), audiences(["bargain hunters"]))
    assert response.json()["status"] == "applied"
    assert not Ticket.objects.exists()


def test_an_a7_opened_through_the_api_on_a_track_blocks_creative_rotation_there(
    client, globex_live, reviewers
):
    headers = agent_headers(globex_live)
    a7 = open_a7(client, headers, "track", "always_on")
    response = post_change_set(client, headers, rotation(["Stretch five minutes a day"]))
    assert response.status_code == 423
    body = response.json()
    assert body["error"] == "blocked_by_compliance"
    assert body["ticket"] == a7.public_id and a7.public_id in body["detail"]
    assert not ChangeSet.objects.exists()

    for reviewer in reviewers:
        ticket_decide(ticket=a7, actor=reviewer, verdict="approve")
    allowed = post_change_set(client, headers, rotation(["Stretch five minutes a day"]))
    assert allowed.status_code == 201
    assert allowed.json()["status"] == "pending_approval"  # now through its own A7


def test_an_a7_on_an_entity_blocks_its_launch_but_not_other_entities(client, globex_live):
    headers = agent_headers(globex_live)
    a7 = open_a7(client, headers, "manifest_entry", "meta:adset-new")
    launch = {"entity_id": "adset-new", "field": "status", "before": "paused", "after": "active"}
    blocked = post_change_set(client, headers, launch)
    assert (blocked.status_code, blocked.json()["ticket"]) == (423, a7.public_id)
    budget = {
        "entity_id": "adset-back",
        "field": "daily_budget",
        "before": "300.00",
        "after": "310.00",
    }
    assert post_change_set(client, headers, budget).json()["status"] == "applied"


def test_an_a7_on_an_unknown_track_or_entity_is_refused(client, globex_live):
    headers = agent_headers(globex_live)
    for subject_type, subject_id in (("track", "nope"), ("manifest_entry", "meta:nope\x00")):
        response = client.post(
            "/api/v1/tickets",
            {"type": "A7", "title": "x", "subject_type": subject_type, "subject_id": subject_id},
            content_type="application/json",
            **headers,
        )
        assert response.status_code == 422
        assert set(response.json()) >= {"error", "detail"}
    assert not Ticket.objects.exists()


# --- The profiles as data, and the policy ----------------------------------------------------
def test_each_profile_is_declared_once_with_its_rules():
    assert profile_spec("standard").change_fields == frozenset()
    health = profile_spec("health_strict")
    assert {"creative_rotation", "audiences"} <= health.change_fields
    assert health.refused_claim("Cures back pain in 3 days").name == "health.cure_claim"
    assert health.refused_claim("Gentle stretches for busy backs") is None
    finance = profile_spec("finance_strict")
    assert finance.refused_claim("Guaranteed returns of 12%").name == "finance.guaranteed_returns"
    assert health.client_approves_creative_themes and finance.client_approves_creative_themes


def test_a_tenant_may_only_choose_a_stricter_profile_than_its_verticals(acme, globex):
    assert allowed_profiles("health") == ["health_strict"]
    assert set(allowed_profiles("retail")) == {"standard", "health_strict", "finance_strict"}
    with pytest.raises(ValidationError) as error:
        tenant_policy_update(
            tenant=globex, actor=TEST_ACTOR, changes={"vertical_compliance_profile": "standard"}
        )
    assert "health_strict or a stricter profile" in str(error.value)
    assert TenantPolicy.objects.get(tenant=globex).vertical_compliance_profile == "health_strict"
    tenant_policy_update(
        tenant=acme, actor=TEST_ACTOR, changes={"vertical_compliance_profile": "finance_strict"}
    )
    assert TenantPolicy.objects.get(tenant=acme).vertical_compliance_profile == "finance_strict"


def test_a_new_finance_tenant_starts_with_the_finance_profile():
    tenant = tenant_create(
        slug="initech",
        name="Initech Bank",
        vertical="finance",
        country="US",
        time_zone="America/Chicago",
        actor=TEST_ACTOR,
    )
    assert tenant.policy.vertical_compliance_profile == "finance_strict"


def test_the_policy_page_shows_the_profiles_in_words(client, globex, make_member):
    client.force_login(make_member("gadmin", globex, Role.ADMIN))
    page = client.get("/t/globex/settings/policy/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Compliance profiles" in text
    assert "Refused outright (health.cure_claim)" in text
    assert "not allowed: less strict than the default" in text
    # a crafted POST choosing a looser profile re-renders with the message; nothing is saved
    form = client.post("/t/globex/settings/policy/", {"vertical_compliance_profile": "standard"})
    assert form.status_code == 200
    assert TenantPolicy.objects.get(tenant=globex).vertical_compliance_profile == "health_strict"
