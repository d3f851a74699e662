"""The API base: bearer keys, and every error as {"error", "detail"} JSON with a 4xx."""

import re

import pytest

from agents.services import agent_key_revoke
from tests.conftest import TEST_ACTOR, bearer


def assert_error(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == error
    assert isinstance(body["detail"], str) and body["detail"]
    return body


@pytest.mark.django_db
def test_a_valid_key_acts_for_its_tenant_and_hears_the_api_version(client, acme_key):
    response = client.get("/api/v1/whoami", **bearer(acme_key[1]))
    assert response.status_code == 200
    assert response.json() == {
        "tenant": "acme",
        "key_name": "optimizer",
        "key_prefix": acme_key[0].prefix,
        "api_version": "1",
    }


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer ht_000000000000_nothing"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
    ],
    ids=["no-key", "wrong-key", "other-scheme", "empty-bearer"],
)
@pytest.mark.django_db
def test_a_missing_or_wrong_key_is_401_json(client, headers):
    body = assert_error(client.get("/api/v1/whoami", headers=headers), 401, "unauthorized")
    assert "Bearer" in body["detail"]


@pytest.mark.django_db
def test_a_revoked_key_is_401_json(client, acme_key):
    agent_key_revoke(key=acme_key[0], actor=TEST_ACTOR)
    assert_error(client.get("/api/v1/whoami", **bearer(acme_key[1])), 401, "unauthorized")


@pytest.mark.parametrize(
    "path", ["/api/v1/nothing-here", "/api/v1/", "/api/v1/audit/events/extra"], ids=str
)
@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.django_db
def test_an_unknown_path_under_the_api_is_404_json(client, acme_key, path, method):
    response = getattr(client, method)(path, **bearer(acme_key[1]))
    body = assert_error(response, 404, "not_found")
    assert "/api/v1/" in body["detail"]


@pytest.mark.django_db
def test_a_method_the_path_does_not_take_is_405_json(client, acme_key):
    response = client.delete("/api/v1/whoami", **bearer(acme_key[1]))
    body = assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "GET"
    assert "DELETE" in body["detail"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=many", "limit"),
        ("after_seq=-1", "after_seq"),
    ],
    ids=["limit-zero", "limit-over-500", "limit-not-a-number", "negative-after-seq"],
)
@pytest.mark.django_db
def test_a_bad_query_is_422_json_naming_the_field(client, acme_key, query, field):
    response = client.get(f"/api/v1/audit/events?{query}", **bearer(acme_key[1]))
    body = assert_error(response, 422, "validation_error")
    assert body["detail"].startswith(f"{field}:")
    assert list(body["fields"]) == [field]


def json_body_endpoint() -> str:
    """Any POST endpoint taking a JSON object body (they come from other apps), path filled."""
    from config.api import api

    for path, operations in api.get_openapi_schema()["paths"].items():
        body = operations.get("post", {}).get("requestBody", {})
        if "application/json" in body.get("content", {}):
            return re.sub(r"{[^}]+}", "1", path)
    pytest.skip("no POST endpoint with a JSON body is registered yet")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"kind": ', "invalid_json"),
        (b"not json at all", "invalid_json"),
        (b'{"amount": NaN}', "invalid_json"),
        (b"\xff\xfe{}", "invalid_json"),
        (b"[1, 2]", "validation_error"),
    ],
    ids=["truncated", "text", "nan", "not-utf8", "array-instead-of-object"],
)
@pytest.mark.django_db
def test_a_body_that_is_not_the_expected_json_is_422_json(client, acme_key, body, error):
    response = client.post(
        json_body_endpoint(),
        data=body,
        content_type="application/json",
        **bearer(acme_key[1]),
    )
    assert_error(response, 422, error)
