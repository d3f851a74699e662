"""A manifest sync registers entities and re-points or describes them; it never moves the daily
budget of an entity that has been live — that is a change set's job, through the guardrails
(docs/agent-api.md "What a sync may change"). Refused whole: nothing written, nothing audited."""

import pytest

from audit.actors import Actor
from audit.models import AuditEvent
from optimization.models import ExecutionManifestEntry
from optimization.services import track_hold_start
from plans.models import Track
from tenants.models import Role, TenantPolicy
from tests.conftest import agent_headers
from tests.optimization.conftest import entry

pytestmark = pytest.mark.django_db


@pytest.fixture
def sync(client, live):
    headers = agent_headers(live)  # creating the key is audited: before any snapshot

    def put(entries):
        return client.put(
            "/api/v1/tracks/always_on/manifest",
            {"entries": entries},
            content_type="application/json",
            **headers,
        )

    return put


def snapshot(acme):
    return (
        sorted(
            ExecutionManifestEntry.objects.filter(tenant=acme).values_list(
                "entity_id", "state", "plan_version"
            )
        ),
        AuditEvent.objects.filter(tenant=acme).count(),
    )


@pytest.mark.parametrize("budget", ["330.00", "3000.00", "299.99", "0.00"])
def test_a_sync_changing_a_live_entitys_budget_is_refused_and_writes_nothing(sync, live, budget):
    before = snapshot(live)
    response = sync(
        [entry("search-brand", "search", budget), entry("brand-new", "search", "50.00")],
    )
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "budget_needs_change_set"
    assert "POST /api/v1/change-sets" in body["detail"]
    assert "google_ads:search-brand" in body["detail"]
    assert "300.00" in body["detail"]  # what is live now
    assert list(body["fields"]) == ["entries[0].state.daily_budget"]
    assert snapshot(live) == before  # the new entity of the same sync is not written either


def test_a_sync_dropping_a_live_entitys_budget_is_refused(sync, live):
    before = snapshot(live)
    sent = entry("search-brand", "search", "300.00")
    del sent["state"]["daily_budget"]
    response = sync([sent])
    assert response.status_code == 422
    assert response.json()["error"] == "budget_needs_change_set"
    assert snapshot(live) == before


def test_a_paused_entity_that_was_live_keeps_its_budget_too(sync, live):
    sync([entry("search-generic", "search", "200.00", status="paused")])
    response = sync([entry("search-generic", "search", "900.00", status="paused")])
    assert response.status_code == 422
    row = ExecutionManifestEntry.objects.get(entity_id="search-generic")
    assert row.state["daily_budget"] == "200.00"


def test_a_sync_may_describe_and_repoint_a_live_entity_with_its_budget_unchanged(sync, live):
    sent = entry("search-brand", "search", "300")  # the same amount, spelled otherwise
    sent["state"]["bid_strategy"] = "max_conversions"
    sent["state"]["audiences"] = ["in-market"]
    response = sync([sent])
    assert response.status_code == 200, response.content
    row = ExecutionManifestEntry.objects.get(entity_id="search-brand")
    assert row.state["daily_budget"] == "300.00"
    assert row.state["audiences"] == ["in-market"]
    event = AuditEvent.objects.filter(action="manifest.synced").order_by("seq").last()
    assert event.data["changed"][0]["entity"] == "google_ads:search-brand"


def test_an_entity_never_live_may_still_get_its_budget_from_a_sync(sync, live):
    TenantPolicy.objects.filter(tenant=live).update(first_launch_requires_human=False)
    response = sync([entry("search-new", "search", "120.00", status="paused")])
    assert response.status_code == 200, response.content
    row = ExecutionManifestEntry.objects.get(entity_id="search-new")
    assert row.state["daily_budget"] == "120.00"


def test_a_sync_cannot_bring_entities_of_a_track_on_hold_live(sync, live, people):
    """Holds hold: while all spend is paused, a sync sending a held entity `active` again is 423
    `track_on_hold` and writes nothing; describing a held entity (status unchanged) still syncs."""
    track = Track.objects.get(tenant=live, key="always_on")
    track_hold_start(track=track, actor=Actor.for_user(people[Role.OPERATOR]), reason="audit")
    before = snapshot(live)
    response = sync([entry("search-brand", "search", "300.00")])  # status active
    assert response.status_code == 423, response.content
    assert response.json()["error"] == "track_on_hold"
    assert "always_on" in response.json()["detail"]
    assert snapshot(live) == before
    held = entry("search-brand", "search", "300.00", status="paused")
    held["state"]["bid_strategy"] = "max_conversions"
    assert sync([held]).status_code == 200


def test_a_sync_moving_a_live_entity_to_another_channel_is_refused_and_writes_nothing(sync, live):
    """A channel is structural for a change set (blocked, it needs a replan); a sync can't move a
    live entity's spend from search to social either."""
    before = snapshot(live)
    moved = entry("search-brand", "social", "300.00", platform="google_ads")
    response = sync([entry("brand-new", "search", "50.00"), moved])
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "structural_needs_replan"
    assert "google_ads:search-brand" in body["detail"]
    assert "search" in body["detail"] and "social" in body["detail"]
    assert "replan" in body["detail"] and "/drafts" in body["detail"]
    assert list(body["fields"]) == ["entries[1].channel"]
    assert snapshot(live) == before
    assert ExecutionManifestEntry.objects.get(entity_id="search-brand").channel == "search"


@pytest.mark.parametrize("field_name", ["objective", "geo"])
def test_a_sync_changing_a_live_entitys_objective_or_geo_is_refused(sync, live, field_name):
    """The other structural fields of a change set, as the manifest state keeps them."""
    sync([entry("search-generic", "search", "200.00", status="paused")])  # was live: paused now
    first = entry("search-generic", "search", "200.00", status="paused")
    before = snapshot(live)
    first["state"][field_name] = "FR" if field_name == "geo" else "leads"
    response = sync([first])
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "structural_needs_replan"
    assert "google_ads:search-generic" in body["detail"]
    assert list(body["fields"]) == [f"entries[0].state.{field_name}"]
    assert snapshot(live) == before


def test_an_entity_never_live_may_still_change_channel_through_a_sync(sync, live):
    TenantPolicy.objects.filter(tenant=live).update(first_launch_requires_human=False)
    moved = entry("search-new", "social", "0.00", status="paused", platform="google_ads")
    moved["state"]["geo"] = "DE"
    response = sync([moved])
    assert response.status_code == 200, response.content
    row = ExecutionManifestEntry.objects.get(entity_id="search-new")
    assert (row.channel, row.state["geo"]) == ("social", "DE")
