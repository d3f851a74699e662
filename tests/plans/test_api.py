"""docs/agent-api.md "Plans" endpoints: current version, drafts (kind checked by the classifier),
submit. A key sees only its own tenant."""

import pytest

from approvals.models import Ticket
from audit.actors import Actor
from plans.models import PlanVersion
from tests.conftest import agent_headers
from tests.plans.plan_samples import changed, search_up_12_pct, winter_plan

pytestmark = pytest.mark.django_db
SEED = Actor.system("tests")
WINTER = winter_plan()


def post(client, url, body, headers):
    return client.post(url, body, content_type="application/json", **headers)


def test_current_returns_the_approved_version(client, acme_headers, acme_v1):
    response = client.get("/api/v1/tracks/always_on/current", **acme_headers)
    assert response.status_code == 200
    body = response.json()
    assert body["number"] == 1
    assert body["status"] == "approved"
    assert body["kind"] == "initial"
    assert body["track"] == "always_on"
    assert body["payload_hash"] == acme_v1.payload_hash
    assert body["payload"]["channels"][0]["budget"] == "40000.00"
    assert body["approved_at"].startswith(acme_v1.approved_at.date().isoformat())


def test_current_is_404_for_a_track_without_an_approved_version(client, acme_headers):
    response = client.get("/api/v1/tracks/branding/current", **acme_headers)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_another_tenants_track_is_404(client, globex, acme_v1):
    response = client.get("/api/v1/tracks/always_on/current", **agent_headers(globex))
    assert response.status_code == 404


def test_a_draft_is_created_with_the_classifier_path_and_the_diff(client, acme_headers, acme_v1):
    response = post(
        client,
        "/api/v1/tracks/always_on/drafts",
        {"kind": "revise", "payload": changed(WINTER, search_up_12_pct), "reason": "drift"},
        acme_headers,
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["number"], body["status"], body["path"], body["parent"]) == (
        2,
        "draft",
        "revise",
        1,
    )
    assert body["diff"]["budgets"][0]["change_pct"] == "12.0"
    version = PlanVersion.objects.get(number=2)
    assert version.trigger == "api"
    assert version.created_by == "test-agent"


def test_a_new_channel_filed_as_a_revise_is_422_with_the_reason(client, acme_headers, acme_v1):
    with_tiktok = changed(
        WINTER,
        lambda p: p["channels"].append(
            {"channel": "tiktok", "platform": "tiktok_ads", "budget": 5000, "flights": []}
        ),
    )
    response = post(
        client,
        "/api/v1/tracks/always_on/drafts",
        {"kind": "revise", "payload": with_tiktok, "reason": "try tiktok"},
        acme_headers,
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "kind_contradicts_classifier"
    assert "which says replan" in body["detail"]
    assert "new channel tiktok is a structural change" in body["detail"]
    assert PlanVersion.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "error", "fragment"),
    [
        pytest.param(
            {"kind": "revise", "payload": {"objective": "x"}},
            "invalid_payload",
            "channels: Field required",
            id="payload missing fields",
        ),
        pytest.param(
            {"kind": "rewrite", "payload": {}}, "validation_error", "kind", id="unknown kind"
        ),
        pytest.param({"payload": {}}, "validation_error", "kind", id="no kind"),
    ],
)
def test_bad_draft_input_is_422_and_writes_nothing(
    client, acme_headers, acme_v1, body, error, fragment
):
    response = post(client, "/api/v1/tracks/always_on/drafts", body, acme_headers)
    assert response.status_code == 422
    assert response.json()["error"] == error
    assert fragment in response.json()["detail"]
    assert PlanVersion.objects.count() == 1


def test_a_bad_track_name_is_422(client, acme_headers):
    response = post(
        client,
        "/api/v1/tracks/Always%20On/drafts",
        {"kind": "initial", "payload": WINTER},
        acme_headers,
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_track"


def test_submit_opens_the_ticket_and_answers_with_its_id(client, acme_headers, acme_v1):
    created = post(
        client,
        "/api/v1/tracks/always_on/drafts",
        {"kind": "revise", "payload": changed(WINTER, search_up_12_pct)},
        acme_headers,
    ).json()
    response = client.post(f"/api/v1/plan-versions/{created['number']}/submit", **acme_headers)
    assert response.status_code == 200, response.json()
    body = response.json()
    ticket = Ticket.objects.get(public_id=body["ticket"])
    assert (body["number"], body["status"]) == (2, "pending_approval")
    assert ticket.type == "A5"
    assert ticket.plan_version == 2
    assert body["tickets"] == [body["ticket"]]


def test_submitting_an_approved_version_is_409(client, acme_headers, acme_v1):
    response = client.post("/api/v1/plan-versions/1/submit", **acme_headers)
    assert response.status_code == 409
    assert response.json()["error"] == "invalid_status"


def test_submitting_another_tenants_version_is_404(client, globex, acme_v1):
    response = client.post("/api/v1/plan-versions/1/submit", **agent_headers(globex))
    assert response.status_code == 404


def test_no_key_is_401(client):
    assert client.get("/api/v1/tracks/always_on/current").status_code == 401


@pytest.mark.parametrize(
    "master_change",
    [
        pytest.param({"track_caps": {}}, id="no total"),
        pytest.param({"total_budget": "NaN"}, id="not a number"),
        pytest.param({"total_budget": "-1"}, id="negative"),
        pytest.param({"total_budget": "1e999999"}, id="huge"),
        # numeric(14,2) keeps at most 999,999,999,999.99: 1e12 passed, then failed at approval.
        pytest.param({"total_budget": "1000000000000"}, id="past-its-column"),
        pytest.param({"total_budget": "100", "track_caps": {"branding": 1e12}}, id="cap-past-it"),
        pytest.param({"total_budget": "100", "track_caps": {"Always On": "5"}}, id="bad track"),
        pytest.param({"total_budget": "100", "track_caps": {"branding": "NaN"}}, id="bad cap"),
        pytest.param({"total_budget": "100", "track_caps": ["branding"]}, id="caps not a map"),
    ],
)
def test_a_bad_master_change_is_422(client, acme_headers, acme_v1, master_change):
    response = post(
        client,
        "/api/v1/tracks/always_on/drafts",
        {
            "kind": "revise",
            "payload": changed(WINTER, search_up_12_pct),
            "master_change": master_change,
        },
        acme_headers,
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_master_change"
    assert PlanVersion.objects.count() == 1


def test_an_unknown_version_number_is_404(client, acme_headers):
    response = client.post("/api/v1/plan-versions/100000000000000000000/submit", **acme_headers)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_the_openapi_schema_lists_the_plan_and_manifest_endpoints(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "get" in paths["/api/v1/tracks/{track}/current"]
    assert "post" in paths["/api/v1/tracks/{track}/drafts"]
    assert "post" in paths["/api/v1/plan-versions/{number}/submit"]
    assert "put" in paths["/api/v1/tracks/{track}/manifest"]


def test_a_draft_and_its_submit_name_the_other_open_versions_of_the_track(
    client, acme_headers, acme_v1
):
    """Issue 16 item 1: an agent is told another version competes with its draft."""
    first = post(
        client,
        "/api/v1/tracks/always_on/drafts",
        {"kind": "revise", "payload": changed(WINTER, search_up_12_pct), "reason": "drift"},
        acme_headers,
    ).json()
    assert first["competing"] == []
    second = post(
        client,
        "/api/v1/tracks/always_on/drafts",
        {
            "kind": "revise",
            "payload": changed(WINTER, lambda p: p.update(messaging="New words.")),
            "reason": "wording",
        },
        acme_headers,
    ).json()
    assert second["competing"] == [
        {"number": first["number"], "status": "draft", "parent": 1, "same_parent": True}
    ]
    submitted = post(
        client, f"/api/v1/plan-versions/{first['number']}/submit", {}, acme_headers
    ).json()
    assert submitted["competing"] == [
        {"number": second["number"], "status": "draft", "parent": 1, "same_parent": True}
    ]
