"""POST /api/v1/tickets and GET /api/v1/tickets/{id}: agents open A4/A7 and read their tickets."""

from __future__ import annotations

import pytest

from agents.services import agent_key_create
from approvals.models import Ticket
from audit.models import AuditEvent
from tests.approvals.factories import SYSTEM, open_ticket


@pytest.fixture
def acme_key(acme):
    return agent_key_create(tenant=acme, name="onboarding-agent", actor=SYSTEM)[1]


@pytest.fixture
def globex_key(globex):
    return agent_key_create(tenant=globex, name="globex-agent", actor=SYSTEM)[1]


@pytest.fixture
def api(client):
    def call(method, path, key, body=None):
        kwargs = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
        if body is not None:
            kwargs.update(data=body, content_type="application/json")
        return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return call


ACCESS_REQUEST = {
    "type": "A4",
    "title": "Grant Business Manager access to the agency",
    "summary": "The Meta BM of Acme must add our system user as admin.",
    "platform": "meta",
    "agent": "onboarding-agent",
    "client_visible": True,
    "diff": {"summary": ["Add system user to the Business Manager"]},
}


def test_an_agent_opens_an_access_request(acme, acme_key, api):
    response = api("post", "/tickets", acme_key, ACCESS_REQUEST)
    assert response.status_code == 201
    body = response.json()
    assert body["ticket"].startswith("A4-")
    assert (body["status"], body["type"], body["required_roles"], body["pending_roles"]) == (
        "open",
        "A4",
        ["admin/client"],
        ["admin/client"],
    )
    assert body["blocks"] == "Onboarding completion"
    ticket = Ticket.objects.get(public_id=body["ticket"])
    assert (ticket.tenant, ticket.requesting_agent, ticket.client_visible) == (
        acme,
        "onboarding-agent",
        True,
    )
    event = AuditEvent.objects.get(action="ticket.opened", resource_id=ticket.public_id)
    assert (event.actor_type, event.actor_label) == ("agent", "onboarding-agent")


def test_an_agent_raises_a_compliance_flag(acme, acme_key, api):
    response = api(
        "post",
        "/tickets",
        acme_key,
        {"type": "A7", "title": "Claim 'cures colds' in ad copy", "platform": "meta"},
    )
    assert response.status_code == 201
    assert response.json()["required_roles"] == ["planner", "legal"]
    assert Ticket.objects.get(public_id=response.json()["ticket"]).type == "A7"


def test_the_same_idempotency_key_returns_the_same_ticket(acme, acme_key, api):
    body = {**ACCESS_REQUEST, "idempotency_key": "dns-acme-1"}
    first = api("post", "/tickets", acme_key, body)
    again = api("post", "/tickets", acme_key, body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["ticket"] == again.json()["ticket"]
    assert Ticket.objects.count() == 1


def test_an_idempotency_key_reused_for_another_ticket_is_a_conflict(acme, acme_key, api):
    api("post", "/tickets", acme_key, {**ACCESS_REQUEST, "idempotency_key": "k1"})
    response = api(
        "post", "/tickets", acme_key, {**ACCESS_REQUEST, "title": "Other", "idempotency_key": "k1"}
    )
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize("type_id", ["A1", "A2", "A3", "A5", "A6", "A8", "A9"])
def test_an_agent_may_not_open_types_the_system_opens(acme, acme_key, api, type_id):
    response = api("post", "/tickets", acme_key, {"type": type_id, "title": "x"})
    assert response.status_code == 403
    body = response.json()
    assert body["error"] == "forbidden"
    assert "opened by the system itself" in body["detail"]
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"type": "A0", "title": "x"}, "type", id="unknown-type"),
        pytest.param({"type": "A4"}, "title", id="no-title"),
        pytest.param({"type": "A4", "title": ""}, "title", id="empty-title"),
        pytest.param({"type": "A4", "title": "x" * 201}, "title", id="title-too-long"),
        pytest.param({"type": "A7", "title": "  "}, "title", id="blank-title"),
        pytest.param({"type": "A4", "title": "x", "diff": [1]}, "diff", id="diff-not-object"),
        pytest.param(
            {"type": "A4", "title": "x", "plan_version": "v3"}, "plan_version", id="bad-version"
        ),
    ],
)
def test_bad_input_is_a_422_and_writes_nothing(acme, acme_key, api, body, field):
    events = AuditEvent.objects.count()
    response = api("post", "/tickets", acme_key, body)
    assert response.status_code == 422
    payload = response.json()
    assert payload["error"] == "validation_error"
    assert field in payload["detail"]
    assert not Ticket.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_malformed_body_is_a_4xx(acme, acme_key, client):
    response = client.post(
        "/api/v1/tickets",
        data="{not json",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {acme_key}",
    )
    assert 400 <= response.status_code < 500
    assert "error" in response.json()


def test_without_a_key_it_is_401(acme, client):
    response = client.post("/api/v1/tickets", data=ACCESS_REQUEST, content_type="application/json")
    assert response.status_code == 401
    assert not Ticket.objects.exists()


def test_an_agent_reads_its_tenants_ticket_with_decisions(acme, acme_key, api, alice):
    from approvals.services import ticket_decide
    from audit.actors import Actor

    ticket = open_ticket(acme, "A7", plan_version=5, title="Health claim")
    ticket_decide(ticket=ticket, actor=Actor.for_user(alice), verdict="approve", comment="ok")
    response = api("get", f"/tickets/{ticket.public_id}", acme_key)
    assert response.status_code == 200
    body = response.json()
    assert (body["ticket"], body["status"], body["plan_version"]) == (ticket.public_id, "open", 5)
    assert (body["approved_roles"], body["pending_roles"]) == (["planner"], ["legal"])
    assert [(d["role"], d["verdict"]) for d in body["decisions"]] == [("planner", "approve")]


def test_another_tenants_ticket_is_a_404(acme, globex, globex_key, api):
    ticket = open_ticket(acme, "A4")
    response = api("get", f"/tickets/{ticket.public_id}", globex_key)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert api("get", "/tickets/A4-NOSUCH00", globex_key).status_code == 404


def test_a_red_flag_reads_with_its_figures(acme, acme_key, api):
    ticket = open_ticket(acme, "A9", red_flag={"estimated_usd": "2.00", "actual_usd": "6.10"})
    body = api("get", f"/tickets/{ticket.public_id}", acme_key).json()
    assert body["red_flag"] == {"estimated_usd": "2.00", "actual_usd": "6.10"}


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param('{"type": "A4", "title": "x", "diff": {"v": NaN}}', id="nan-in-diff"),
        pytest.param('{"type": "A4", "title": "x\\u0000y"}', id="nul-in-title"),
        pytest.param(
            '{"type": "A4", "title": "x", "plan_version": 99999999999}', id="huge-version"
        ),
        pytest.param('{"type": "A4", "title": "x", "subject_id": 12}', id="subject-id-number"),
        pytest.param('["A4"]', id="not-an-object"),
    ],
)
def test_input_no_database_can_store_is_a_4xx_and_writes_nothing(acme, acme_key, client, raw):
    response = client.post(
        "/api/v1/tickets",
        data=raw,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {acme_key}",
    )
    assert 400 <= response.status_code < 500
    assert set(response.json()) >= {"error", "detail"}
    assert not Ticket.objects.exists()
