"""Issue 17 item 3: creative themes with the client (optimization/services/themes.py). Before,
only the demo data created a theme a client could approve; an A7 sent as client-visible got only
planner and legal slots, the client read "your account team is deciding" and got 403 on
Approve."""

from __future__ import annotations

import uuid

import pytest

from approvals.models import Ticket
from approvals.services import ticket_decide
from audit.actors import Actor
from optimization import demo as optimization_demo
from optimization.models import ChangeSet, CreativeTheme, ExecutionManifestEntry
from optimization.services import manifest_sync
from plans.services import plan_version_import_approved
from tenants.models import Role, TenantPolicy
from tests.conftest import TEST_ACTOR, agent_headers
from tests.plans.plan_samples import changed, winter_plan

pytestmark = pytest.mark.django_db

THEME = {
    "theme_id": "theme-posture",
    "name": "Posture at the desk",
    "headlines": ["Sit better, feel better", "Two minutes for your back"],
    "imagery_note": "Office worker stretching at a standing desk",
    "claims": ["Developed with physiotherapists"],
}


def _world(tenant, currency="USD", geos=("US",)):
    version = plan_version_import_approved(
        tenant=tenant,
        track_key="always_on",
        kind="initial",
        payload=changed(winter_plan(), lambda p: p.update(geos=list(geos), currency=currency)),
        actor=TEST_ACTOR,
        approved_by="tests",
    )
    manifest_sync(
        tenant=tenant,
        track_key="always_on",
        entries=[
            {
                "platform": "meta",
                "entity_id": "adset-1",
                "channel": "social",
                "plan_version": version.number,
                "state": {"daily_budget": "100.00", "status": "active"},
            },
            {
                "platform": "meta",
                "entity_id": "adset-2",
                "channel": "social",
                "plan_version": version.number,
                "state": {
                    "daily_budget": "0.00",
                    "status": "paused",
                    "creative_theme": "theme-posture",
                },
            },
        ],
        actor=TEST_ACTOR,
        launched_by="tests",
    )
    return tenant


@pytest.fixture
def globex_world(globex):
    return _world(globex)


@pytest.fixture
def acme_world(acme):
    return _world(acme, currency="EUR", geos=("DE",))


def propose(client, headers, body=None, track="always_on"):
    return client.post(
        f"/api/v1/tracks/{track}/creative-themes",
        body or THEME,
        content_type="application/json",
        **headers,
    )


def post_change_set(client, headers, *items):
    return client.post(
        "/api/v1/change-sets",
        {"change_set_id": str(uuid.uuid4()), "track": "always_on", "items": list(items)},
        content_type="application/json",
        **headers,
    )


def test_a_health_tenants_theme_opens_an_a7_with_a_client_slot(client, globex_world):
    response = propose(client, agent_headers(globex_world))
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "in_review" and body["client_approves"] is True
    assert body["headlines"] == THEME["headlines"]
    a7 = Ticket.objects.get(public_id=body["ticket"])
    assert a7.type == "A7" and a7.subject_type == "creative_theme" and a7.governs_subject
    assert a7.required_roles == ["planner", "legal", "client"]
    assert a7.client_visible


def test_the_same_theme_again_answers_the_same_and_another_body_is_409(client, globex_world):
    headers = agent_headers(globex_world)
    first = propose(client, headers).json()
    again = propose(client, headers)
    assert (again.status_code, again.json()) == (200, first)
    other = propose(client, headers, {**THEME, "name": "Another angle"})
    assert other.status_code == 409
    assert set(other.json()) >= {"error", "detail"}
    assert CreativeTheme.objects.count() == 1 and Ticket.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        pytest.param({**THEME, "name": "Back\x00ache"}, 422, None, id="NUL in the name"),
        pytest.param({**THEME, "headlines": ["ok", "bad\x00"]}, 422, None, id="NUL in a headline"),
        pytest.param({**THEME, "headlines": []}, 422, None, id="no headline"),
        pytest.param({**THEME, "headlines": [3]}, 422, None, id="a headline not text"),
        pytest.param(
            {**THEME, "headlines": ["Cures back pain in 3 days"]},
            422,
            "claim_refused",
            id="a refused claim",
        ),
    ],
)
def test_bad_themes_are_refused_clearly_and_store_nothing(client, globex_world, body, status, code):
    response = propose(client, agent_headers(globex_world), body)
    assert response.status_code == status
    answer = response.json()
    assert set(answer) >= {"error", "detail"}
    if code:
        assert answer["error"] == code and "health.cure_claim" in answer["detail"]
    assert not CreativeTheme.objects.exists() and not Ticket.objects.exists()


def test_a_theme_for_an_unknown_track_is_404(client, globex_world):
    response = propose(client, agent_headers(globex_world), track="branding")
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_track"


def test_a_standard_tenant_asks_the_client_only_when_its_policy_says_so(client, acme_world):
    headers = agent_headers(acme_world)
    first = propose(client, headers).json()
    assert first["client_approves"] is False
    assert Ticket.objects.get(public_id=first["ticket"]).required_roles == ["planner", "legal"]
    TenantPolicy.objects.filter(tenant=acme_world).update(client_approves_creative_themes=True)
    second = propose(client, headers, {**THEME, "theme_id": "theme-2"}).json()
    assert second["client_approves"] is True


def test_globex_client_approves_the_theme_in_the_portal_in_client_words(
    client, globex_world, make_member
):
    body = propose(client, agent_headers(globex_world)).json()
    a7 = Ticket.objects.get(public_id=body["ticket"])
    ticket_decide(
        ticket=a7,
        actor=Actor.for_user(make_member("gpia", globex_world, Role.PLANNER)),
        verdict="approve",
    )
    ticket_decide(
        ticket=a7,
        actor=Actor.for_user(make_member("glenn", globex_world, Role.LEGAL)),
        verdict="approve",
    )
    customer = make_member("gcarla", globex_world, Role.CLIENT)
    client.force_login(customer)
    page = client.get(f"/portal/items/{a7.public_id}/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "new creative theme \u201cPosture at the desk\u201d" in text
    assert "Creative theme" in text and "Sit better, feel better" in text
    assert "creative_theme" not in text  # no field paths of the team
    decided = client.post(f"/portal/items/{a7.public_id}/decide/", {"verdict": "approve"})
    assert decided.status_code == 302
    theme = CreativeTheme.objects.get()
    assert theme.status == "approved"
    assert Ticket.objects.get(pk=a7.pk).status == "approved"


def _approve_theme(tenant, make_member, ticket_id):
    a7 = Ticket.objects.get(public_id=ticket_id)
    for name, role in (("p1", Role.PLANNER), ("l1", Role.LEGAL), ("c1", Role.CLIENT)):
        if role in a7.required_roles:
            ticket_decide(
                ticket=Ticket.objects.get(pk=a7.pk),
                actor=Actor.for_user(make_member(name, tenant, role)),
                verdict="approve",
            )


def test_a_creative_whose_theme_is_not_approved_cannot_go_live(client, acme_world, make_member):
    headers = agent_headers(acme_world)
    ticket = propose(client, headers).json()["ticket"]
    rotate = {
        "entity_id": "adset-1",
        "field": "creative_rotation",
        "before": None,
        "after": [{"creative": "desk-stretch-1", "theme": "theme-posture"}],
    }
    launch = {"entity_id": "adset-2", "field": "status", "before": "paused", "after": "active"}
    for item in (rotate, launch):
        refused = post_change_set(client, headers, item)
        assert refused.status_code == 423
        assert refused.json()["error"] == "blocked_by_compliance"
        assert refused.json()["ticket"] == ticket
    assert not ChangeSet.objects.exists()
    unknown = post_change_set(client, headers, {**rotate, "after": [{"theme": "theme-nope"}]})
    assert (unknown.status_code, unknown.json()["error"]) == (422, "unknown_theme")

    _approve_theme(acme_world, make_member, ticket)
    assert post_change_set(client, headers, rotate).json()["status"] == "applied"
    state = ExecutionManifestEntry.objects.get(entity_id="adset-1").state
    assert state["creative_rotation"] == rotate["after"]


def test_a_sync_bringing_live_an_entity_of_an_unapproved_theme_is_423(client, acme_world):
    headers = agent_headers(acme_world)
    ticket = propose(client, headers).json()["ticket"]
    response = client.put(
        "/api/v1/tracks/always_on/manifest",
        {
            "entries": [
                {
                    "platform": "meta",
                    "entity_id": "adset-1",
                    "channel": "social",
                    "plan_version": 1,
                    "state": {
                        "daily_budget": "100.00",
                        "status": "active",
                        "creative_theme": "theme-posture",
                    },
                }
            ]
        },
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 423
    assert response.json()["ticket"] == ticket
    assert "creative_theme" not in ExecutionManifestEntry.objects.get(entity_id="adset-1").state


def test_the_themes_page_lists_each_theme_with_its_review(client, acme_world, make_member):
    propose(client, agent_headers(acme_world))
    client.force_login(make_member("pia", acme_world, Role.PLANNER))
    page = client.get("/t/acme/plans/tracks/always_on/creative-themes/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Posture at the desk" in text and "In compliance review" in text
    assert Ticket.objects.get().public_id in text
    assert client.get("/t/acme/plans/tracks/nope/creative-themes/").status_code == 404


def test_the_demo_proposes_globex_a_theme_its_client_approves_once(globex_world):
    lines: list[str] = []
    optimization_demo._seed_themes(lines.append)
    optimization_demo._seed_themes(lines.append)
    theme = CreativeTheme.objects.get(tenant=globex_world)
    assert theme.name == "Posture at the desk"
    assert Ticket.objects.get(public_id=theme.ticket).required_roles == [
        "planner",
        "legal",
        "client",
    ]
    assert lines[-1] == "globex always_on: creative theme \u201cPosture at the desk\u201d in review"
