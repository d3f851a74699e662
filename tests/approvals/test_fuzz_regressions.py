"""Ticket API inputs a fuzzer found that once became a 500 (NUL only on PostgreSQL, which refuses
it in text and jsonb; a lone surrogate on every engine): each is a 422 now and opens nothing."""

from __future__ import annotations

import json

import pytest

from approvals.models import Ticket

pytestmark = pytest.mark.django_db


def open_ticket(client, headers, **fields):
    body = {"type": "A4", "title": "Grant BM access", **fields}
    return client.post(
        "/api/v1/tickets", json.dumps(body), content_type="application/json", **headers
    )


@pytest.mark.parametrize(
    ("fields", "field", "reason"),
    [
        ({"idempotency_key": "retry\x001"}, "idempotency_key", "NUL"),
        ({"platform": "me\x00ta"}, "platform", "NUL"),
        ({"run_id": "run\x00-1"}, "run_id", "NUL"),
        ({"diff": {"summary": "a \ud800 b"}}, "diff", "lone surrogates"),
    ],
    ids=[
        "nul-in-idempotency-key",
        "nul-in-platform",
        "nul-in-run-id",
        "surrogate-in-diff",
    ],
)
def test_unstorable_text_is_422_naming_the_field_and_opens_nothing(
    client, acme, acme_headers, fields, field, reason
):
    response = open_ticket(client, acme_headers, **fields)
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "validation_error"
    # The schema names a body field after the endpoint's parameter ("data.title"), the service
    # by itself ("diff").
    assert body["detail"].split(":")[0].split(".")[-1] == field
    assert reason in body["detail"]
    assert not Ticket.objects.filter(tenant=acme).exists()


def test_a_nul_in_a_ticket_id_is_422_not_a_failed_lookup(client, acme_headers):
    response = client.get("/api/v1/tickets/A4-%00", **acme_headers)
    assert response.status_code == 422, response.content
    assert response.json()["error"] == "validation_error"
    assert response.json()["detail"].startswith("public_id:")


# --- Pages: a %00 in a URL once failed the lookup on PostgreSQL (500); it names nothing: 404 ---
@pytest.mark.parametrize(
    "url",
    [
        "/tickets/%00/",
        "/tickets/A1-%00/",
        "/tickets/A1-%00/decide/",
        "/tickets/A1-%00/comments/",
    ],
    ids=["ticket", "ticket-with-prefix", "decide", "comment"],
)
def test_a_nul_in_a_ticket_url_is_404(client, alice, url):
    client.force_login(alice)
    response = client.post(url, {"verdict": "approve", "body": "ok"})
    assert response.status_code == 404
    assert client.get(url).status_code == 404


def test_a_nul_in_a_portal_item_url_is_404(client, acme, make_member):
    client.force_login(make_member("carol", acme, "client"))
    assert client.get("/portal/items/A1-%00/").status_code == 404
    assert client.post("/portal/items/A1-%00/decide/", {"verdict": "approve"}).status_code == 404
