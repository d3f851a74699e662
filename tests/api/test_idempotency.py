"""Idempotency is by the whole request (docs/agent-api.md): the same key with an equal body gets the
first answer with 200, the same key with any other body a 409 — also under concurrent replays."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from api.models import IdempotencyKey
from approvals.models import Ticket
from audit.models import AuditEvent

ACCESS_REQUEST = {
    "type": "A4",
    "title": "Grant Business Manager access to the agency",
    "summary": "The Meta BM of Acme must add our system user as admin.",
    "platform": "meta",
    "client_visible": True,
    "diff": {"summary": ["Add system user to the Business Manager"]},
    "idempotency_key": "bm-acme-1",
}


def post(client, headers, body):
    return client.post(
        "/api/v1/tickets", json.dumps(body), content_type="application/json", **headers
    )


@pytest.mark.django_db
def test_an_equal_body_in_another_order_gets_the_first_answer(client, acme, acme_headers):
    first = post(client, acme_headers, ACCESS_REQUEST)
    reordered = dict(reversed(list(ACCESS_REQUEST.items())))
    again = post(client, acme_headers, reordered)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert Ticket.objects.count() == 1


@pytest.mark.parametrize(
    "change",
    [
        {"summary": "Another summary"},
        {"diff": {"summary": ["Something else"]}},
        {"client_visible": False},
        {"platform": "google_ads"},
        {"agent": "another-agent"},
        {"title": "Another title"},
    ],
    ids=lambda change: next(iter(change)),
)
@pytest.mark.django_db
def test_the_same_key_with_any_other_body_is_a_409_and_writes_nothing(
    client, acme, acme_headers, change
):
    post(client, acme_headers, ACCESS_REQUEST)
    events = AuditEvent.objects.count()
    response = post(client, acme_headers, {**ACCESS_REQUEST, **change})
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert "bm-acme-1" in response.json()["detail"]
    assert Ticket.objects.count() == 1
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_a_refused_request_is_not_remembered(client, acme, acme_headers):
    refused = post(client, acme_headers, {**ACCESS_REQUEST, "plan_version": 404})
    assert refused.status_code == 422
    assert not IdempotencyKey.objects.exists()
    assert post(client, acme_headers, ACCESS_REQUEST).status_code == 201


@pytest.mark.django_db
def test_keys_are_per_tenant(client, acme, globex, acme_headers):
    from tests.conftest import agent_headers

    assert post(client, acme_headers, ACCESS_REQUEST).status_code == 201
    assert post(client, agent_headers(globex), ACCESS_REQUEST).status_code == 201
    assert sorted(Ticket.objects.values_list("tenant__slug", flat=True)) == ["acme", "globex"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sixteen_concurrent_replays_of_one_key_open_exactly_one_ticket(acme, acme_headers):
    barrier = threading.Barrier(16)
    statuses: list[int] = []
    answers: list[str] = []

    def replay():
        try:
            barrier.wait()
            response = post(Client(), acme_headers, ACCESS_REQUEST)
            statuses.append(response.status_code)
            answers.append(response.json().get("ticket", ""))
        finally:
            connection.close()

    threads = [threading.Thread(target=replay) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 15 + [201]
    assert len(set(answers)) == 1
    assert Ticket.objects.count() == 1
    assert AuditEvent.objects.filter(action="ticket.opened").count() == 1
