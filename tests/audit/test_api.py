"""GET /api/v1/audit/events: an agent reads its own tenant's trail, a page at a time."""

import pytest

from agents.services import agent_key_create
from audit.models import AuditEvent
from tests.conftest import TEST_ACTOR


@pytest.fixture
def acme_bearer(acme):
    return {
        "Authorization": f"Bearer {agent_key_create(tenant=acme, name='a', actor=TEST_ACTOR)[1]}"
    }


@pytest.mark.django_db
def test_it_pages_through_the_keys_tenant_events_in_chain_order(
    client, acme, globex, acme_bearer, append_events
):
    append_events(acme, 5)
    append_events(globex, 3)
    total = AuditEvent.objects.filter(tenant=acme).count()

    seen, after, pages = [], 0, 0
    while True:
        response = client.get(
            f"/api/v1/audit/events?after_seq={after}&limit=3", headers=acme_bearer
        )
        assert response.status_code == 200
        page = response.json()
        pages += 1
        seen += page["events"]
        after = page["next_after_seq"]
        if not page["has_more"]:
            break
    assert [e["seq"] for e in seen] == list(range(1, total + 1))
    assert pages == -(-total // 3)
    hashes = dict(AuditEvent.objects.filter(tenant=acme).values_list("seq", "hash"))
    assert all(e["hash"] == hashes[e["seq"]] for e in seen)


@pytest.mark.django_db
def test_an_event_carries_the_chain_and_the_actor(client, acme, acme_bearer, append_events):
    event = append_events(acme, 1, action="ticket.approved")[0]
    response = client.get(f"/api/v1/audit/events?after_seq={event.seq - 1}", headers=acme_bearer)
    (got,) = response.json()["events"]
    assert got["seq"] == event.seq
    assert (got["action"], got["actor_type"], got["actor_label"]) == (
        "ticket.approved",
        "service",
        "tests",
    )
    assert (got["resource_type"], got["resource_id"], got["data"]) == ("ticket", "1", {"n": 0})
    assert (got["prev_hash"], got["hash"]) == (event.prev_hash, event.hash)


@pytest.mark.django_db
def test_past_the_end_is_an_empty_page_that_keeps_the_cursor(client, acme_bearer):
    response = client.get("/api/v1/audit/events?after_seq=10000", headers=acme_bearer)
    assert response.json() == {"events": [], "next_after_seq": 10000, "has_more": False}


@pytest.mark.django_db
def test_another_tenants_events_never_show(client, acme, globex, acme_bearer, append_events):
    append_events(globex, 4, action="globex.secret")
    response = client.get("/api/v1/audit/events?limit=500", headers=acme_bearer)
    assert "globex.secret" not in {e["action"] for e in response.json()["events"]}


@pytest.mark.django_db
def test_a_page_costs_a_fixed_number_of_queries(
    client, acme, acme_bearer, append_events, django_assert_max_num_queries
):
    append_events(acme, 30)
    # The key, its rate-limit count, then the page: however many events there are.
    with django_assert_max_num_queries(5):
        response = client.get("/api/v1/audit/events?limit=500", headers=acme_bearer)
    assert len(response.json()["events"]) >= 30
