"""Issue 17 item 1: a manifest sync that brings an entity live for the first time waits for an A2
(optimization/services/launches.py). Before, `PUT /manifest` with a new entity already active
answered 200, set first_active_at and opened no A2."""

from __future__ import annotations

import pytest

from approvals.models import Ticket
from approvals.services import ticket_decide
from audit.actors import Actor
from audit.models import AuditEvent
from optimization.models import ExecutionManifestEntry, ManifestLaunch
from optimization.services import manifest_sync
from tenants.models import Role, TenantPolicy
from tests.conftest import agent_headers

pytestmark = pytest.mark.django_db


def entry(entity_id="cmp-100", status="active", budget="483.87", platform="google_ads"):
    return {
        "platform": platform,
        "entity_id": entity_id,
        "channel": "search",
        "plan_version": 1,
        "state": {"daily_budget": budget, "status": status},
    }


def put(client, headers, *entries):
    return client.put(
        "/api/v1/tracks/always_on/manifest",
        {"entries": list(entries)},
        content_type="application/json",
        **headers,
    )


def row(entity_id="cmp-100") -> ExecutionManifestEntry:
    return ExecutionManifestEntry.objects.get(entity_id=entity_id)


def a2s():
    return Ticket.objects.filter(type="A2")


@pytest.fixture
def headers(acme, acme_v1):
    return agent_headers(acme)


@pytest.fixture
def operator(acme, make_member):
    return Actor.for_user(make_member("otto", acme, Role.OPERATOR))


def test_a_new_active_entity_waits_for_launch_and_the_sync_answers_202_with_its_a2(client, headers):
    response = put(client, headers, entry(), entry("cmp-200"))
    assert response.status_code == 202
    body = response.json()
    ticket = a2s().get()
    assert body == {
        "upserted": 2,
        "ticket": ticket.public_id,
        "waiting_for_launch": {
            "google_ads:cmp-100": ticket.public_id,
            "google_ads:cmp-200": ticket.public_id,
        },
    }
    waiting = row()
    assert waiting.state == {"daily_budget": "483.87", "status": "pending"}
    assert waiting.first_active_at is None
    assert waiting.waiting_launch.ticket == ticket.public_id
    assert ticket.governs_subject and ticket.subject_type == "manifest_launch"
    assert ticket.status == "open"
    assert "google_ads:cmp-100" in ticket.title and "always_on" in ticket.title
    synced = AuditEvent.objects.get(action="manifest.synced")
    assert synced.data["ticket"] == ticket.public_id


def test_the_same_sync_again_answers_the_same_and_opens_nothing(client, headers):
    first = put(client, headers, entry()).json()
    events = AuditEvent.objects.count()
    again = put(client, headers, entry())
    assert again.status_code == 202
    assert again.json() == first
    assert a2s().count() == 1 and ManifestLaunch.objects.count() == 1
    assert AuditEvent.objects.count() == events


def test_the_entity_goes_live_only_when_the_a2_is_approved(client, headers, operator):
    put(client, headers, entry())
    ticket_decide(ticket=a2s().get(), actor=operator, verdict="approve")
    live = row()
    assert live.state["status"] == "active"
    assert live.first_active_at is not None
    assert live.waiting_launch is None
    assert ManifestLaunch.objects.get().status == "launched"
    assert AuditEvent.objects.get(action="manifest.launched").data["entities"] == [
        "google_ads:cmp-100"
    ]
    # Live now: the same sync is an ordinary one.
    again = put(client, headers, entry())
    assert (again.status_code, again.json()) == (200, {"upserted": 1})
    assert a2s().count() == 1


def test_a_paused_entity_never_live_turned_active_waits_and_stays_paused(client, headers):
    assert put(client, headers, entry(status="paused")).status_code == 200
    response = put(client, headers, entry(status="active"))
    assert response.status_code == 202
    assert row().state["status"] == "paused"
    assert row().first_active_at is None


def test_a_refused_launch_leaves_the_entity_off_and_a_later_sync_asks_again(
    client, headers, operator
):
    put(client, headers, entry())
    ticket_decide(ticket=a2s().get(), actor=operator, verdict="reject", comment="not yet")
    off = row()
    assert off.state["status"] == "pending" and off.first_active_at is None
    assert off.waiting_launch is None
    assert ManifestLaunch.objects.get().status == "refused"
    assert AuditEvent.objects.filter(action="manifest.launch_refused").exists()
    again = put(client, headers, entry())
    assert again.status_code == 202
    assert a2s().count() == 2 and a2s().filter(status="open").count() == 1


def test_a_second_sync_with_another_new_entity_opens_its_own_a2(client, headers):
    first = put(client, headers, entry()).json()["ticket"]
    second = put(client, headers, entry(), entry("cmp-300")).json()
    assert second["ticket"] != first
    assert second["waiting_for_launch"] == {
        "google_ads:cmp-100": first,
        "google_ads:cmp-300": second["ticket"],
    }
    assert a2s().count() == 2


def test_a_sync_that_pauses_a_waiting_entity_withdraws_it_from_the_launch(
    client, headers, operator
):
    put(client, headers, entry())
    assert put(client, headers, entry(status="paused")).status_code == 200
    assert row().waiting_launch is None
    ticket_decide(ticket=a2s().get(), actor=operator, verdict="approve")
    assert row().state["status"] == "paused"  # approving launches what still waits: nothing
    assert row().first_active_at is None


def test_without_the_policy_a_first_launch_through_a_sync_goes_live_at_once(client, headers, acme):
    TenantPolicy.objects.filter(tenant=acme).update(first_launch_requires_human=False)
    response = put(client, headers, entry())
    assert (response.status_code, response.json()) == (200, {"upserted": 1})
    assert row().state["status"] == "active" and row().first_active_at is not None
    assert not a2s().exists()


def test_an_entity_that_was_live_before_comes_back_without_an_a2(client, headers, acme, acme_v1):
    manifest_sync(
        tenant=acme,
        track_key="always_on",
        entries=[entry()],
        actor=Actor.system("tests"),
        launched_by="tests",
    )
    assert put(client, headers, entry(status="paused")).status_code == 200
    assert put(client, headers, entry(status="active")).status_code == 200
    assert row().state["status"] == "active"
    assert not a2s().exists()


def test_tickets_of_the_launch_stay_in_the_tenant(client, headers, globex):
    put(client, headers, entry())
    assert not Ticket.objects.filter(tenant=globex).exists()
    assert ManifestLaunch.objects.get().tenant.slug == "acme"


def test_the_a2_page_shows_the_entities_waiting(client, headers, acme, operator, make_member):
    put(client, headers, entry())
    ticket = a2s().get()
    client.force_login(make_member("olga", acme, Role.OPERATOR))
    page = client.get(f"/tickets/{ticket.public_id}/")
    assert page.status_code == 200
    text = page.content.decode()
    assert 'data-testid="launch-panel"' in text
    assert "google_ads:cmp-100" in text and "waiting for launch" in text
