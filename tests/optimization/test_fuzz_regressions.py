"""PUT /api/v1/tracks/{track}/manifest inputs a fuzzer found that once became a 500 (most only
on PostgreSQL, which refuses NUL in text and jsonb): each is a 422 now and writes nothing."""

import json

import pytest

from audit.actors import Actor
from audit.models import AuditEvent
from optimization.models import ExecutionManifestEntry
from optimization.services import ManifestError, manifest_sync
from tests.conftest import agent_headers

pytestmark = pytest.mark.django_db
SEED = Actor.system("tests")


def entry(**changes) -> dict:
    return {
        "platform": "meta",
        "entity_id": "adset-7",
        "channel": "social",
        "plan_version": 1,
        "state": {"status": "active"},
        **changes,
    }


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"entity_id": "adset\x007"}, "entries[0].entity_id", "NUL"),
        ({"entity_id": "\ud800"}, "entries[0].entity_id", "lone surrogates"),
        ({"platform": "me\x00ta"}, "entries[0].platform", "NUL"),
        ({"channel": "social\ud83d"}, "entries[0].channel", "lone surrogates"),
        ({"state": {"note": "a\x00b"}}, "entries[0].state", "NUL"),
        ({"state": {"no\x00te": 1}}, "entries[0].state", "NUL"),
        ({"state": {"note": ["\udfff"]}}, "entries[0].state", "lone surrogates"),
    ],
    ids=[
        "nul-in-entity-id",
        "surrogate-in-entity-id",
        "nul-in-platform",
        "surrogate-in-channel",
        "nul-in-state-value",
        "nul-in-state-key",
        "surrogate-in-state-list",
    ],
)
def test_unstorable_text_in_an_entry_is_422_naming_the_field(
    client, acme, acme_v1, changes, field, reason
):
    response = client.put(
        "/api/v1/tracks/always_on/manifest",
        json.dumps({"entries": [entry(**changes)]}),
        content_type="application/json",
        **agent_headers(acme),
    )
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "invalid_manifest"
    assert body["detail"].startswith(f"{field}:") and reason in body["detail"]
    assert not ExecutionManifestEntry.objects.exists()
    assert not AuditEvent.objects.filter(action="manifest.synced").exists()


def test_a_state_number_too_large_for_json_is_422(client, acme, acme_v1):
    body = '{"entries": [{"platform": "meta", "entity_id": "adset-7", "channel": "social", '
    body += '"plan_version": 1, "state": {"reach": 1e999}}]}'
    response = client.put(
        "/api/v1/tracks/always_on/manifest",
        body,
        content_type="application/json",
        **agent_headers(acme),
    )
    assert response.status_code == 422, response.content
    assert response.json()["error"] == "invalid_json"
    assert "1e999" in response.json()["detail"]
    assert not ExecutionManifestEntry.objects.exists()


def test_the_service_refuses_an_infinite_state_number_from_any_caller(acme, acme_v1):
    with pytest.raises(
        ManifestError, match=r"entries\[0\]\.state: must be plain JSON \(no NaN or Infinity\)"
    ):
        manifest_sync(
            tenant=acme,
            track_key="always_on",
            entries=[entry(state={"reach": float("inf")})],
            actor=SEED,
            launched_by="tests",
        )
    assert not ExecutionManifestEntry.objects.exists()


@pytest.mark.parametrize(
    ("agent", "reason"),
    [("exec\x00agent", "NUL"), ("\ud800", "lone surrogates")],
    ids=["nul", "sur"],
)
def test_an_unstorable_agent_name_is_422(client, acme, acme_v1, agent, reason):
    response = client.put(
        "/api/v1/tracks/always_on/manifest",
        json.dumps({"entries": [entry()], "agent": agent}),
        content_type="application/json",
        **agent_headers(acme),
    )
    assert response.status_code == 422, response.content
    assert response.json()["error"] == "validation_error"
    assert response.json()["detail"].startswith("agent:") and reason in response.json()["detail"]
    assert not ExecutionManifestEntry.objects.exists()


def test_a_nul_in_the_track_name_is_422_not_a_failed_lookup(client, acme, acme_v1):
    response = client.put(
        "/api/v1/tracks/always%00on/manifest",
        json.dumps({"entries": [entry()]}),
        content_type="application/json",
        **agent_headers(acme),
    )
    assert response.status_code == 422, response.content
    assert response.json()["detail"].startswith("track:")
    assert not ExecutionManifestEntry.objects.exists()
