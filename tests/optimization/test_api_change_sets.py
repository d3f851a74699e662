"""docs/agent-api.md "Execution, optimization, performance" over HTTP: change sets (idempotent by
change_set_id), their detail with history, performance rows and recommendations."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection
from django.test import Client

from approvals.models import Ticket
from audit.models import AuditEvent
from optimization.models import ChangeSet, PerformanceRow, Recommendation

pytestmark = pytest.mark.django_db
RUN = {
    "run_id": "run-93ab",
    "main_task_id": "weekly-report",
    "agent": "optimizer",
    "model": "gpt-5-mini",
    "estimated_cost_usd": "2.00",
}

SEARCH_UP = {
    "change_set_id": "0b5a9c4e-6c5e-4d53-9a1b-2f1d8e7c6a01",
    "track": "always_on",
    "run_id": "",
    "agent": "bid-optimizer",
    "reason": "search CPA is €31, under target",
    "items": [
        {"entity_id": "search-brand", "field": "daily_budget", "before": 300, "after": "350.00"}
    ],
}


def post(client, headers, path, body):
    return client.post(
        f"/api/v1{path}", json.dumps(body), content_type="application/json", **headers
    )


def test_a_change_within_the_guardrails_is_applied(client, live, acme_headers):
    response = post(client, acme_headers, "/change-sets", SEARCH_UP)
    assert response.status_code == 201, response.content
    assert response.json() == {
        "change_set_id": SEARCH_UP["change_set_id"],
        "status": "applied",
        "path": "optimization",
        "ticket": None,
        "reason": "Within the guardrails: applied.",
    }


def test_a_change_beyond_the_guardrail_answers_with_its_a3(client, live, acme_headers):
    body = {**SEARCH_UP, "items": [{**SEARCH_UP["items"][0], "after": "390.00"}]}
    answer = post(client, acme_headers, "/change-sets", body).json()
    # +€90 of €500 moves search 18% and drifts it 18% from the plan: beyond both bounds, and
    # drift beyond the bound is what a plan revise is for.
    assert (answer["status"], answer["path"]) == ("pending_approval", "revise")
    assert answer["ticket"].startswith("A3-")
    assert Ticket.objects.get(public_id=answer["ticket"]).change_set_id == body["change_set_id"]


def test_a_structural_change_is_blocked(client, live, acme_headers):
    body = {
        **SEARCH_UP,
        "items": [{"entity_id": None, "field": "channel", "before": None, "after": "tiktok"}],
    }
    answer = post(client, acme_headers, "/change-sets", body).json()
    assert (answer["status"], answer["path"], answer["ticket"]) == ("blocked", "replan", None)


def test_the_same_id_and_body_again_is_200_with_the_first_answer(client, live, acme_headers):
    first = post(client, acme_headers, "/change-sets", SEARCH_UP)
    again = post(client, acme_headers, "/change-sets", SEARCH_UP)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert ChangeSet.objects.count() == 1


def test_the_same_id_with_another_body_is_409_and_writes_nothing(client, live, acme_headers):
    post(client, acme_headers, "/change-sets", SEARCH_UP)
    events = AuditEvent.objects.count()
    other = {**SEARCH_UP, "reason": "another reason"}
    response = post(client, acme_headers, "/change-sets", other)
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"track": "branding"}, "track"),
        ({"items": [{**SEARCH_UP["items"][0], "entity_id": "nope"}]}, "items[0].entity_id"),
        ({"items": []}, "items"),
        ({"items": [{**SEARCH_UP["items"][0], "field": "colour"}]}, "items[0].field"),
        ({"change_set_id": ""}, "change_set_id"),
    ],
    ids=["unknown-track", "unknown-entity", "no-items", "unknown-field", "empty-id"],
)
def test_bad_input_is_a_422_naming_the_field_and_writes_nothing(
    client, live, acme_headers, change, field
):
    events = AuditEvent.objects.count()
    response = post(client, acme_headers, "/change-sets", {**SEARCH_UP, **change})
    assert response.status_code == 422, response.content
    assert field in response.json()["fields"]
    assert not ChangeSet.objects.exists()
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (
            {"change_set_id": "c" * 101},
            "change_set_id",
            "String should have at most 100 characters",
        ),
        ({"reason": "r" * 2001}, "reason", "String should have at most 2000 characters"),
        (
            {"items": [{**SEARCH_UP["items"][0], "entity_id": "e" * 121}]},
            "items[0].entity_id",
            "String should have at most 120 characters",  # it once said "at most 120 items"
        ),
    ],
    ids=["id", "reason", "optional-entity-id"],
)
def test_a_too_long_text_says_at_most_n_characters(
    client, live, acme_headers, change, field, problem
):
    response = post(client, acme_headers, "/change-sets", {**SEARCH_UP, **change})
    assert response.status_code == 422, response.content
    assert response.json()["fields"] == {field: [problem]}
    assert not ChangeSet.objects.exists()


def test_a_before_that_is_no_longer_live_is_409_naming_the_entity(client, live, acme_headers):
    body = {**SEARCH_UP, "items": [{**SEARCH_UP["items"][0], "before": "280"}]}
    response = post(client, acme_headers, "/change-sets", body)
    assert response.status_code == 409
    assert response.json()["error"] == "stale_before"
    assert "search-brand is now €300, not €280" in response.json()["detail"]


def test_another_tenants_key_sees_no_entity_and_no_change_set(client, live, globex):
    from tests.conftest import agent_headers

    post(client, agent_headers(live), "/change-sets", SEARCH_UP)
    headers = agent_headers(globex)
    assert (
        post(client, headers, "/change-sets", {**SEARCH_UP, "change_set_id": "x"}).status_code
        == 422
    )
    assert (
        client.get(f"/api/v1/change-sets/{SEARCH_UP['change_set_id']}", **headers).status_code
        == 404
    )


def test_the_detail_gives_items_history_and_tickets(client, live, acme_headers, people):
    from approvals.services import ticket_decide
    from audit.actors import Actor
    from optimization.services import change_set_approve_with_edit
    from tenants.models import Role, TenantPolicy

    TenantPolicy.objects.filter(tenant=live).update(client_must_approve_budget_increase=False)
    body = {**SEARCH_UP, "items": [{**SEARCH_UP["items"][0], "after": "390.00"}]}
    post(client, acme_headers, "/change-sets", body)
    change_set = ChangeSet.objects.get()
    change_set_approve_with_edit(
        change_set=change_set, actor=Actor.for_user(people[Role.OPERATOR]), approved={0: "350"}
    )
    detail = client.get(f"/api/v1/change-sets/{body['change_set_id']}", **acme_headers).json()
    assert detail["status"] == "applied"
    assert detail["items"] == [
        {
            "entity_id": "search-brand",
            "field": "daily_budget",
            "before": "300.00",
            "after": "390.00",
            "approved_after": "350.00",
            "applied_after": "350.00",
        }
    ]
    assert [h["kind"] for h in detail["history"]] == [
        "proposed",
        "pending_approval",
        "edited",
        "applied",
    ]
    assert [(t["type"], t["status"]) for t in detail["tickets"]] == [("A3", "approved")]
    assert ticket_decide  # the decision itself went through ticket_decide in the service


def test_a_stale_approval_tells_the_agent_what_moved(client, live, acme_headers, people):
    from approvals.services import ticket_decide
    from audit.actors import Actor
    from tenants.models import Role

    body = {**SEARCH_UP, "items": [{**SEARCH_UP["items"][0], "after": "390.00"}]}
    ticket = post(client, acme_headers, "/change-sets", body).json()["ticket"]
    post(
        client,
        acme_headers,
        "/change-sets",
        {
            **SEARCH_UP,
            "change_set_id": "meanwhile",
            "items": [{**SEARCH_UP["items"][0], "after": "320"}],
        },
    )
    for role in (Role.OPERATOR, Role.CLIENT):
        ticket_decide(
            ticket=Ticket.objects.get(public_id=ticket),
            actor=Actor.for_user(people[role]),
            verdict="approve",
        )
    detail = client.get(f"/api/v1/change-sets/{body['change_set_id']}", **acme_headers).json()
    assert detail["status"] == "stale"
    assert "live daily budget of search-brand is now €320, not €300" in detail["reason"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_sixteen_concurrent_posts_of_one_change_set_make_one(live, acme_headers):
    barrier = threading.Barrier(16)
    statuses: list[int] = []

    def send():
        try:
            barrier.wait()
            statuses.append(post(Client(), acme_headers, "/change-sets", SEARCH_UP).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] * 15 + [201]
    assert ChangeSet.objects.count() == 1
    assert AuditEvent.objects.filter(action="change_set.proposed").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_agents_moving_one_channel_at_once_see_each_others_drift(live, acme_headers):
    """Each move alone is within the drift bound (+40 of €500: 8%); together they would drift
    16%: the second one, queued behind the first on the channel's entities, needs an A3."""
    bodies = [
        {**SEARCH_UP, "change_set_id": "a", "items": [{**SEARCH_UP["items"][0], "after": "340"}]},
        {
            **SEARCH_UP,
            "change_set_id": "b",
            "items": [
                {
                    "entity_id": "search-generic",
                    "field": "daily_budget",
                    "before": 200,
                    "after": 240,
                }
            ],
        },
    ]
    barrier = threading.Barrier(2)
    answers = []

    def send(body):
        try:
            barrier.wait()
            answers.append(post(Client(), acme_headers, "/change-sets", body).json()["status"])
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == ["applied", "pending_approval"]


def test_a_change_set_on_a_run_blocked_by_a_loop_limit_is_423(client, acme_headers, live):
    post(client, acme_headers, "/runs", RUN)
    for _ in range(2):
        post(client, acme_headers, "/runs/run-93ab/gate", {"kind": "orchestrator_retry"})
    body = {
        "change_set_id": "cs-1",
        "track": "always_on",
        "run_id": "run-93ab",
        "items": [
            {"entity_id": "search-brand", "field": "daily_budget", "before": 300, "after": 310}
        ],
    }
    response = post(client, acme_headers, "/change-sets", body)
    assert response.status_code == 423
    assert response.json()["error"] == "run_blocked"
    assert "waits for A8-" in response.json()["detail"]
    assert not ChangeSet.objects.exists()


def test_a_change_set_naming_an_unknown_run_is_refused(client, acme_headers, live):
    body = {
        "change_set_id": "cs-1",
        "track": "always_on",
        "run_id": "run-nobody",
        "items": [
            {"entity_id": "search-brand", "field": "daily_budget", "before": 300, "after": 310}
        ],
    }
    response = post(client, acme_headers, "/change-sets", body)
    assert response.status_code == 422
    assert "run_id" in response.json()["fields"]


# --- Performance ------------------------------------------------------------------------------
def rows(**change):
    base = {
        "date": "2026-11-09",
        "channel": "search",
        "spend": "500.00",
        "conversions": 12,
        "kpi": "cpa",
        "kpi_value": "41.67",
        "source": "ga4",
    }
    return [{**base, **change}]


def test_performance_rows_upsert_by_track_date_channel_and_source(client, live, acme_headers):
    path = "/tracks/always_on/performance"
    assert post(client, acme_headers, path, {"rows": rows()}).json() == {"upserted": 1}
    post(client, acme_headers, path, {"rows": rows(spend="520.00") + rows(source="google_ads")})
    assert sorted(PerformanceRow.objects.values_list("source", "spend")) == [
        ("ga4", pytest.approx(520)),
        ("google_ads", pytest.approx(500)),
    ]
    assert AuditEvent.objects.filter(action="performance.ingested").count() == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"date": "yesterday"}, "rows[0].date"),
        ({"spend": -1}, "rows[0].spend"),
        ({"spend": "1e999"}, "rows[0].spend"),
        ({"channel": ""}, "rows[0].channel"),
        ({"source": "ga4\u0000"}, "rows[0].source"),
    ],
)
def test_bad_performance_rows_are_422_and_write_nothing(client, live, acme_headers, change, field):
    response = post(client, acme_headers, "/tracks/always_on/performance", {"rows": rows(**change)})
    assert response.status_code == 422, response.content
    assert field in response.json()["fields"]
    assert not PerformanceRow.objects.exists()


def test_performance_for_an_unknown_track_is_422(client, live, acme_headers):
    response = post(client, acme_headers, "/tracks/branding/performance", {"rows": rows()})
    assert response.status_code == 422
    assert "track" in response.json()["fields"]


# --- Recommendations --------------------------------------------------------------------------
def test_an_agent_recommends_a_revise_and_gets_a_ticket_approving_nothing(
    client, live, acme_headers
):
    body = {
        "track": "always_on",
        "path": "revise",
        "reason": "Search CPA has beaten target for 30 days: raise its share.",
        "evidence": {"cpa_30d": "31.20"},
    }
    response = post(client, acme_headers, "/recommendations", body)
    assert response.status_code == 201
    ticket = Ticket.objects.get(public_id=response.json()["ticket"])
    assert (ticket.type, ticket.status, ticket.required_roles) == ("A5", "open", ["planner"])
    assert ticket.sla_kind == "revise_draft"
    recommendation = Recommendation.objects.get()
    assert (recommendation.signal, recommendation.source) == ("agent", "test-agent")
    again = post(client, acme_headers, "/recommendations", body)
    assert (again.status_code, again.json()["ticket"]) == (200, ticket.public_id)


@pytest.mark.parametrize(
    "change", [{"path": "approve"}, {"reason": ""}, {"track": "nope"}], ids=str
)
def test_a_bad_recommendation_is_422(client, live, acme_headers, change):
    body = {"track": "always_on", "path": "revise", "reason": "x", **change}
    response = post(client, acme_headers, "/recommendations", body)
    assert response.status_code == 422
    assert not Ticket.objects.exists()


def test_an_agents_recommendation_in_words_is_accepted_without_a_draft(
    client, live, acme_headers, people
):
    from approvals.services import ticket_decide
    from audit.actors import Actor
    from tenants.models import Role

    body = {"track": "always_on", "path": "revise", "reason": "Raise social's share."}
    ticket = Ticket.objects.get(
        public_id=post(client, acme_headers, "/recommendations", body).json()["ticket"]
    )
    ticket_decide(ticket=ticket, actor=Actor.for_user(people[Role.PLANNER]), verdict="approve")
    recommendation = Recommendation.objects.get()
    assert (recommendation.status, recommendation.draft_number) == ("accepted", None)
    assert ticket.__class__.objects.get(pk=ticket.pk).status == "approved"
