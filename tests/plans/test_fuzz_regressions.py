"""Plans API inputs a fuzzer found that once became a 500 (NUL only on PostgreSQL, which refuses
it in text; a lone surrogate on every engine): each is a 422 now and writes nothing."""

import json

import pytest

from audit.actors import Actor
from plans.models import PlanVersion
from tests.plans.plan_samples import changed, search_up_12_pct, winter_plan

pytestmark = pytest.mark.django_db
SEED = Actor.system("tests")


def revise(**fields) -> str:
    body = {"kind": "revise", "payload": changed(winter_plan(), search_up_12_pct), **fields}
    return json.dumps(body)


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"reason": "drift\x00"}, "reason", "NUL"),
        ({"reason": "drift \ud800"}, "reason", "lone surrogates"),
        ({"agent": "planner\x00agent"}, "agent", "NUL"),
        ({"agent": "\udc00"}, "agent", "lone surrogates"),
    ],
    ids=["nul-in-reason", "surrogate-in-reason", "nul-in-agent", "surrogate-in-agent"],
)
def test_an_unstorable_reason_or_agent_is_422_and_no_draft_is_made(
    client, acme_headers, acme_v1, fields, field, reason
):
    response = client.post(
        "/api/v1/tracks/always_on/drafts",
        revise(**fields),
        content_type="application/json",
        **acme_headers,
    )
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "validation_error"
    assert body["detail"].startswith(f"{field}:") and reason in body["detail"]
    assert list(PlanVersion.objects.values_list("number", flat=True)) == [1]


def test_a_nul_in_the_track_name_of_current_is_422(client, acme_headers, acme_v1):
    response = client.get("/api/v1/tracks/always%00on/current", **acme_headers)
    assert response.status_code == 422, response.content
    assert response.json()["error"] == "validation_error"
    assert response.json()["detail"].startswith("track:")


def test_a_nul_in_the_track_name_of_a_draft_is_422(client, acme_headers, acme_v1):
    response = client.post(
        "/api/v1/tracks/always%00on/drafts",
        revise(),
        content_type="application/json",
        **acme_headers,
    )
    assert response.status_code == 422, response.content
    assert response.json()["detail"].startswith("track:")
    assert PlanVersion.objects.count() == 1


@pytest.mark.parametrize(
    "url",
    ["/t/acme/plans/tracks/%00/", "/t/acme/plans/tracks/always%00on/new/"],
    ids=["timeline", "editor"],
)
def test_a_nul_in_a_track_page_url_is_404(client, alice, acme_v1, url):
    # %00 once failed the track lookup on PostgreSQL with a 500.
    client.force_login(alice)
    assert client.get(url).status_code == 404


# --- Text that survives canonicalisation (issue 14) ----------------------------------------------
def draft_with(client, headers, change):
    payload = changed(winter_plan(), search_up_12_pct)
    change(payload)
    return client.post(
        "/api/v1/tracks/always_on/drafts",
        json.dumps({"kind": "revise", "payload": payload}),
        content_type="application/json",
        **headers,
    )


@pytest.mark.parametrize(
    "theme", ["   ", "\u3000", "\t\n", "\u2028"], ids=["spaces", "ideographic", "tab", "line-sep"]
)
def test_a_creative_theme_that_is_only_whitespace_is_422_naming_it(
    client, acme_headers, acme_v1, theme
):
    # It once passed validation, was stored as "" and failed the next parse (a 500).
    response = draft_with(
        client, acme_headers, lambda p: p.update(creative_themes=["winter sale", theme])
    )

    assert response.status_code == 422, response.content
    body = response.json()
    assert body["fields"] == {
        "payload.creative_themes[1]": ["String should have at least 1 character"]
    }
    assert PlanVersion.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (
            lambda p: p.update(creative_themes=["x" * 81]),
            "payload.creative_themes[0]",
            "String should have at most 80 characters",
        ),
        (
            lambda p: p.update(messaging="y" * 5001),
            "payload.messaging",
            "String should have at most 5000 characters",
        ),
    ],
    ids=["theme", "messaging"],
)
def test_a_too_long_text_says_at_most_n_characters(
    client, acme_headers, acme_v1, change, field, problem
):
    response = draft_with(client, acme_headers, change)

    assert response.status_code == 422, response.content
    assert response.json()["fields"] == {field: [problem]}
    assert "items" not in response.json()["detail"]
