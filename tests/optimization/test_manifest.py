"""PUT /api/v1/tracks/{track}/manifest and manifest_sync: upsert, audit, validation, tenants."""

import pytest

from audit.actors import Actor
from audit.models import AuditEvent
from optimization.models import ExecutionManifestEntry
from optimization.services import ManifestError, manifest_sync
from plans.services import plan_version_import_approved
from tenants.models import TenantPolicy
from tests.conftest import agent_headers
from tests.plans.plan_samples import changed, winter_plan

pytestmark = pytest.mark.django_db
SEED = Actor.system("tests")


@pytest.fixture
def globex_v1(globex):
    return plan_version_import_approved(
        tenant=globex,
        track_key="always_on",
        kind="initial",
        payload=changed(winter_plan(), lambda p: p.update(geos=["US"], currency="USD")),
        actor=SEED,
        approved_by="tests",
    )


def entries(version=1, search_budget=483.87):
    return [
        {
            "platform": "google_ads",
            "entity_id": "cmp-100",
            "channel": "search",
            "plan_version": version,
            "state": {"daily_budget": search_budget, "status": "active", "bid_strategy": "tcpa"},
        },
        {
            "platform": "meta",
            "entity_id": "adset-7",
            "channel": "social",
            "plan_version": version,
            "state": {"daily_budget": "387.10", "status": "active", "audiences": ["lookalike"]},
        },
    ]


def put(client, track, body, headers):
    return client.put(
        f"/api/v1/tracks/{track}/manifest", body, content_type="application/json", **headers
    )


def test_a_sync_upserts_entries_and_audits_once(client, acme, acme_v1):
    # First launches through a sync wait for an A2 (tests/optimization/test_launches.py); here
    # the tenant lets them go live at once.
    TenantPolicy.objects.filter(tenant=acme).update(first_launch_requires_human=False)
    headers = agent_headers(acme)
    response = put(client, "always_on", {"entries": entries()}, headers)
    assert response.status_code == 200
    assert response.json() == {"upserted": 2}
    search = ExecutionManifestEntry.objects.get(tenant=acme, entity_id="cmp-100")
    assert search.state == {"daily_budget": "483.87", "status": "active", "bid_strategy": "tcpa"}
    assert search.plan_version == 1 and search.track.key == "always_on"
    event = AuditEvent.objects.get(action="manifest.synced")
    assert event.plan_version == 1
    assert event.data["created"] == ["google_ads:cmp-100", "meta:adset-7"]

    again = put(client, "always_on", {"entries": entries()}, headers)
    assert again.json() == {"upserted": 2}
    assert ExecutionManifestEntry.objects.count() == 2
    assert AuditEvent.objects.filter(action="manifest.synced").count() == 1  # nothing changed

    # A live entity's budget moves only through a change set (test_manifest_budget_guard.py);
    # what else the sync says about it is stored and audited.
    refused = put(client, "always_on", {"entries": entries(search_budget="520.00")}, headers)
    assert refused.status_code == 422
    assert refused.json()["error"] == "budget_needs_change_set"
    described = entries()
    described[0]["state"]["bid_strategy"] = "max_conversions"
    assert put(client, "always_on", {"entries": described}, headers).status_code == 200
    search.refresh_from_db()
    assert search.state["daily_budget"] == "483.87"
    assert search.state["bid_strategy"] == "max_conversions"
    changed_event = AuditEvent.objects.filter(action="manifest.synced").order_by("seq").last()
    assert changed_event.data["changed"][0]["entity"] == "google_ads:cmp-100"
    assert changed_event.data["changed"][0]["before"]["state"]["bid_strategy"] == "tcpa"


def test_tenants_keep_their_own_manifests(client, acme, globex, acme_v1, globex_v1):
    put(client, "always_on", {"entries": entries()}, agent_headers(acme))
    put(client, "always_on", {"entries": entries(search_budget="10.00")}, agent_headers(globex))
    acme_row = ExecutionManifestEntry.objects.get(tenant=acme, entity_id="cmp-100")
    globex_row = ExecutionManifestEntry.objects.get(tenant=globex, entity_id="cmp-100")
    assert acme_row.state["daily_budget"] == "483.87"
    assert globex_row.state["daily_budget"] == "10.00"


def test_a_version_of_another_track_or_tenant_is_refused(client, acme, globex, globex_v1):
    plan_version_import_approved(
        tenant=acme,
        track_key="branding",
        kind="track_draft",
        payload=winter_plan(),
        actor=SEED,
        approved_by="tests",
    )  # acme's v1 is on branding, not always_on
    response = put(client, "always_on", {"entries": entries()}, agent_headers(acme))
    assert response.status_code == 404  # acme has no always_on track
    response = put(client, "branding", {"entries": entries(version=2)}, agent_headers(acme))
    assert response.status_code == 422
    assert "v2 is not an approved version of branding" in response.json()["detail"]
    assert not ExecutionManifestEntry.objects.filter(tenant=acme).exists()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        pytest.param(
            lambda e: e[0].pop("entity_id"),
            "entries[0].entity_id: required",
            id="missing entity id",
        ),
        pytest.param(
            lambda e: e[1]["state"].update(daily_budget="lots"),
            "entries[1].state.daily_budget: must be an amount",
            id="budget as text",
        ),
        pytest.param(
            lambda e: e[1]["state"].update(daily_budget=-3),
            "must be an amount >= 0",
            id="negative budget",
        ),
        pytest.param(
            lambda e: e[0]["state"].update(status="exploded"),
            "entries[0].state.status: one of active",
            id="unknown status",
        ),
        pytest.param(
            lambda e: e.append(dict(e[0])), "google_ads:cmp-100 is listed twice", id="entity twice"
        ),
        pytest.param(
            lambda e: e[0].update(plan_version="one"),
            "entries[0].plan_version: the number of a plan version",
            id="bad version",
        ),
        pytest.param(
            lambda e: e[0].update(state=[1]),
            "entries[0].state: must be an object",
            id="state not an object",
        ),
    ],
)
def test_bad_entries_are_422_and_nothing_is_written(client, acme, acme_v1, change, fragment):
    body = entries()
    change(body)
    response = put(client, "always_on", {"entries": body}, agent_headers(acme))
    assert response.status_code == 422
    assert fragment in response.json()["detail"]
    assert not ExecutionManifestEntry.objects.exists()


def test_an_empty_or_missing_entry_list_is_422(client, acme, acme_v1):
    headers = agent_headers(acme)
    assert put(client, "always_on", {"entries": []}, headers).status_code == 422
    assert put(client, "always_on", {}, headers).status_code == 422


def test_manifest_sync_moves_an_entity_to_the_track_that_now_holds_it(acme, acme_v1):
    branding = plan_version_import_approved(
        tenant=acme,
        track_key="branding",
        kind="track_draft",
        payload=winter_plan(),
        actor=SEED,
        approved_by="tests",
    )
    manifest_sync(
        tenant=acme, track_key="always_on", entries=entries(), actor=SEED, launched_by="tests"
    )
    moved = [dict(entries()[0], plan_version=branding.number)]
    manifest_sync(tenant=acme, track_key="branding", entries=moved, actor=SEED, launched_by="tests")
    row = ExecutionManifestEntry.objects.get(entity_id="cmp-100")
    assert (row.track.key, row.plan_version) == ("branding", branding.number)
    with pytest.raises(ManifestError):
        manifest_sync(
            tenant=acme, track_key="event_x", entries=moved, actor=SEED, launched_by="tests"
        )


def test_a_version_number_beyond_any_integer_is_422(client, acme, acme_v1):
    body = entries(version=10**20)
    response = put(client, "always_on", {"entries": body}, agent_headers(acme))
    assert response.status_code == 422
    assert "entries[0].plan_version: the number of a plan version" in response.json()["detail"]
