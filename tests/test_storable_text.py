"""One storable-text rule for every free-text field (config/text.py): the API, the plan payload
schema and every HTML form refuse NUL, lone surrogates and over-long text by name, with a 4xx
that writes nothing."""

from __future__ import annotations

import json

import pytest

from approvals.models import Ticket, TicketComment
from audit.models import AuditEvent
from config.errors import DomainError
from config.text import REASON_MAX, clean_text, json_problem, storable_text, text_problem
from plans.models import PlanVersion
from tests.plans.plan_samples import changed, search_up_12_pct, winter_plan
from tests.plans.test_forms import PAYLOAD, post_of


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("plain words", None),
        ("", None),
        ("emoji 🚀 and umlauts äöü", None),
        ("a\x00b", "may not contain NUL characters"),
        ("a\ud800b", "may not contain lone surrogates (not valid UTF-8)"),
    ],
)
def test_the_text_rule(value, problem):
    assert text_problem(value) == problem
    if problem:
        with pytest.raises(ValueError, match=problem.split(" (")[0]):
            storable_text(value)
    else:
        assert storable_text(value) == value


@pytest.mark.parametrize(
    ("value", "max_bytes", "problem"),
    [
        ({"a": [1, "x"]}, None, None),
        ({"a": float("nan")}, None, "must be plain JSON (no NaN or Infinity)"),
        ({"a": "x\x00"}, None, "may not contain NUL characters"),
        ({"a\ud800": 1}, None, "may not contain lone surrogates (not valid UTF-8)"),
        ({"a": "x" * 20}, 10, "is 29 bytes as JSON; at most 10"),
    ],
)
def test_the_json_rule(value, max_bytes, problem):
    assert json_problem(value, max_bytes=max_bytes) == problem


def test_clean_text_trims_and_refuses_by_name():
    assert clean_text("  why  ", name="reason", max_length=10) == "why"
    with pytest.raises(DomainError) as error:
        clean_text("x" * 11, name="reason", max_length=10)
    assert error.value.fields == {"reason": ["is at most 10 characters (11 sent)"]}


# --- The API ---------------------------------------------------------------------------------
def draft_body(**overrides) -> str:
    plan = changed(winter_plan(), search_up_12_pct)
    plan.update(overrides.pop("payload", {}))
    return json.dumps({"kind": "revise", "payload": plan, **overrides})


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"messaging": "Winter\x00 sale"}, "payload.messaging"),
        ({"creative_themes": ["snow", "gifts\x00"]}, "payload.creative_themes[1]"),
        ({"creative_themes": ["\udc00"]}, "payload.creative_themes[0]"),
        ({"kpi_targets": {"cpa\x00": 40}}, "payload.kpi_targets"),
    ],
    ids=["nul-in-messaging", "nul-in-theme", "surrogate-in-theme", "nul-in-kpi-name"],
)
@pytest.mark.django_db
def test_unstorable_text_in_a_plan_payload_is_a_422_naming_the_field(
    client, acme, acme_headers, acme_v1, payload, field
):
    response = client.post(
        "/api/v1/tracks/always_on/drafts",
        draft_body(payload=payload),
        content_type="application/json",
        **acme_headers,
    )
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "invalid_payload"
    assert any(name.startswith(field) for name in body["fields"]), body["fields"]
    assert PlanVersion.objects.count() == 1


@pytest.mark.django_db
def test_a_reason_over_2000_characters_is_a_422_from_the_api(client, acme, acme_headers, acme_v1):
    response = client.post(
        "/api/v1/tracks/always_on/drafts",
        draft_body(reason="x" * (REASON_MAX + 1)),
        content_type="application/json",
        **acme_headers,
    )
    assert response.status_code == 422
    assert list(response.json()["fields"]) == ["reason"]
    assert PlanVersion.objects.count() == 1


# --- The pages -------------------------------------------------------------------------------
@pytest.fixture
def planner_client(client, alice):
    client.force_login(alice)
    return client


def new_draft(**fields) -> dict:
    data = post_of(changed(PAYLOAD, lambda p: p["channels"][0].update(budget="44800.00")))
    data.update({"kind": "revise", "reason": "search drifted up", **fields})
    return data


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"messaging": "Winter\x00 sale"}, "may not contain NUL characters"),
        ({"creative_themes": "snow, gifts\x00"}, "may not contain NUL characters"),
        ({"reason": "x" * 2_000_000}, "at most 2000 characters"),
        ({"reason": "drift\x00"}, "Null characters are not allowed"),
    ],
    ids=["nul-in-messaging", "nul-in-theme", "two-megabyte-reason", "nul-in-reason"],
)
@pytest.mark.django_db
def test_the_draft_editor_refuses_unstorable_text_beside_the_field(
    planner_client, acme, acme_v1, fields, message
):
    events = AuditEvent.objects.count()
    response = planner_client.post(
        f"/t/{acme.slug}/plans/tracks/always_on/new/", new_draft(**fields)
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "Nothing was saved" in page
    assert message in page
    assert PlanVersion.objects.count() == 1
    assert AuditEvent.objects.count() == events


@pytest.mark.django_db
def test_a_comment_over_the_limit_is_refused_on_the_ticket_page(client, acme, alice):
    from tests.approvals.factories import open_ticket

    ticket = open_ticket(acme, "A1")
    client.force_login(alice)
    response = client.post(f"/tickets/{ticket.public_id}/comments/", {"body": "x" * 10_001})
    assert response.status_code == 422
    assert not TicketComment.objects.exists()
    assert Ticket.objects.get().status == "open"
