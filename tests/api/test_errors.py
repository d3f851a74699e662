"""The API's error answers: one DomainError shape, fields named as sent, 413 for a body over the
limit, 409 "try again" for a deadlock, references checked, and an OpenAPI schema that says all
of it."""

from __future__ import annotations

import json

import psycopg.errors
import pytest
from django.db import OperationalError

from approvals.models import Ticket
from config.api import api

pytestmark = pytest.mark.django_db


def post(client, path, headers, body):
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


def test_a_validation_error_names_the_field_as_the_client_sent_it(client, acme, acme_headers):
    response = post(client, "/api/v1/tickets", acme_headers, {"type": "A4", "title": ""})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_error"
    assert list(body["fields"]) == ["title"]
    assert body["detail"].startswith("title:")


def test_a_nested_field_is_named_by_its_path(client, acme, acme_headers, acme_v1):
    from tests.plans.plan_samples import winter_plan

    plan = winter_plan()
    plan["channels"][0]["budget"] = -1
    response = post(
        client,
        "/api/v1/tracks/always_on/drafts",
        acme_headers,
        {"kind": "revise", "payload": plan},
    )
    assert response.status_code == 422
    assert "payload.channels[0].budget" in response.json()["fields"]


@pytest.mark.parametrize(
    ("field", "value", "label"),
    [
        ("plan_version", 404, "plan version"),
        ("change_set_id", "cs-nothing", "change set"),
        ("run_id", "run-nothing", "agent run"),
    ],
)
def test_a_reference_the_tenant_does_not_have_is_a_422_naming_the_field(
    client, acme, acme_headers, field, value, label
):
    response = post(
        client, "/api/v1/tickets", acme_headers, {"type": "A7", "title": "x", field: value}
    )
    assert response.status_code == 422
    body = response.json()
    assert list(body["fields"]) == [field]
    assert f"no {label}" in body["detail"]
    assert not Ticket.objects.exists()


def test_another_tenants_plan_version_is_not_a_reference_of_mine(client, acme, globex, acme_v1):
    from tests.conftest import agent_headers

    response = post(
        client,
        "/api/v1/tickets",
        agent_headers(globex),
        {"type": "A7", "title": "x", "plan_version": acme_v1.number},
    )
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["plan_version"]


def test_a_plan_version_of_the_tenant_is_a_valid_reference(client, acme, acme_headers, acme_v1):
    response = post(
        client,
        "/api/v1/tickets",
        acme_headers,
        {"type": "A7", "title": "Claims in v1", "plan_version": acme_v1.number},
    )
    assert response.status_code == 201
    assert Ticket.objects.get().plan_version == acme_v1.number


def test_a_body_over_the_limit_is_a_413(client, acme, acme_headers, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = {"type": "A4", "title": "x", "summary": "y" * 20_000}
    response = post(client, "/api/v1/tickets", acme_headers, body)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert "10,000 bytes" in response.json()["detail"]
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,  # Python's parser gives up: RecursionError
        '{"a":' * 5_000 + "1" + "}" * 5_000,
        '{"type": "A4", "title": "x", "diff": ' + '{"a": ' * 40 + "1" + "}" * 40 + "}",
    ],
    ids=["arrays", "objects", "a-diff-40-deep"],
)
def test_json_nested_too_deeply_is_a_422_invalid_json(client, acme, acme_headers, body):
    response = client.post("/api/v1/tickets", body, content_type="application/json", **acme_headers)
    assert response.status_code == 422, response.content
    assert response.json()["error"] == "invalid_json"
    assert "nested more than 32 levels deep" in response.json()["detail"]
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(("levels", "status"), [(32, 201), (33, 422)])
def test_json_is_read_up_to_32_levels_deep(client, acme, acme_headers, levels, status):
    diff = {"raw": 1}
    for _ in range(levels - 2):  # the body, then the diff's levels
        diff = {"raw": diff}
    body = {"type": "A4", "title": "x", "diff": diff}
    response = post(client, "/api/v1/tickets", acme_headers, body)
    assert response.status_code == status, response.content


def test_a_diff_over_256_kb_is_refused(client, acme, acme_headers):
    body = {"type": "A4", "title": "x", "diff": {"raw": "z" * (256 * 1024 + 1)}}
    response = post(client, "/api/v1/tickets", acme_headers, body)
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["diff"]


def deadlock() -> OperationalError:
    error = OperationalError("deadlock detected")
    error.__cause__ = psycopg.errors.DeadlockDetected("deadlock detected")
    return error


def test_a_deadlock_reaching_the_api_is_a_409_try_again(client, acme, acme_headers, monkeypatch):
    def deadlocked(**kwargs):
        raise deadlock()

    monkeypatch.setattr("approvals.api.ticket_open", deadlocked)
    response = post(client, "/api/v1/tickets", acme_headers, {"type": "A4", "title": "x"})
    assert response.status_code == 409
    assert response.json()["error"] == "try_again"
    assert "try again" in response.json()["detail"].lower()


def test_a_deadlock_reaching_a_page_is_a_409_try_again(client, acme, alice, monkeypatch):
    from tests.approvals.factories import open_ticket

    ticket = open_ticket(acme, "A1")

    def deadlocked(**kwargs):
        raise deadlock()

    monkeypatch.setattr("approvals.views.ticket_decide", deadlocked)
    client.force_login(alice)
    response = client.post(f"/tickets/{ticket.public_id}/decide/", {"verdict": "approve"})
    assert response.status_code == 409
    assert "Please try again" in response.content.decode()


def test_an_ordinary_database_error_is_not_taken_for_a_conflict(
    client, acme, acme_headers, monkeypatch
):
    def broken(**kwargs):
        raise OperationalError("disk full")

    monkeypatch.setattr("approvals.api.ticket_open", broken)
    response = post(client, "/api/v1/tickets", acme_headers, {"type": "A4", "title": "x"})
    assert response.status_code == 500
    assert response.json()["error"] == "server_error"


# --- The OpenAPI schema tells the truth ------------------------------------------------------
SCHEMA = None


def schema() -> dict:
    global SCHEMA
    SCHEMA = SCHEMA or api.get_openapi_schema()
    return SCHEMA


def operations():
    for path, methods in schema()["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def test_every_operation_lists_401_with_the_error_schema():
    for name, operation in operations():
        answer = operation["responses"].get("401") or operation["responses"].get(401)
        assert answer, name
        assert answer["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorOut"
        }, name


def test_every_operation_with_a_body_lists_413_and_422():
    for name, operation in operations():
        if "requestBody" in operation:
            assert {413, 422} <= {int(s) for s in operation["responses"]}, name


def test_every_error_answer_uses_the_error_schema():
    for name, operation in operations():
        for status, answer in operation["responses"].items():
            if int(status) >= 400:
                ref = answer["content"]["application/json"]["schema"]
                assert ref == {"$ref": "#/components/schemas/ErrorOut"}, (name, status)


def test_request_schemas_are_as_strict_as_the_validation():
    components = schema()["components"]["schemas"]
    ticket_type = components["TicketIn"]["properties"]["type"]
    assert ticket_type["enum"] == ["A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9"]
    draft = components["DraftIn"]["properties"]
    assert draft["payload"] == {"$ref": "#/components/schemas/PlanPayload"}
    assert set(components["PlanPayload"]["required"]) >= {"objective", "channels", "geos"}
    assert components["TicketIn"]["properties"]["title"]["minLength"] == 1


def test_the_documented_endpoints_declare_their_own_errors():
    answers = {name: {int(s) for s in op["responses"]} for name, op in operations()}
    assert {404, 409, 422} <= answers["POST /api/v1/plan-versions/{number}/submit"]
    assert {403, 409, 422} <= answers["POST /api/v1/tickets"]
    assert 404 in answers["GET /api/v1/tickets/{public_id}"]
