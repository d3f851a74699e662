"""Execution aligns (issue 16 item 5): on approval of v2 the remaining delta becomes alignment work
(GET /api/v1/tracks/{track}/alignment); a change set of kind "alignment" moves each field exactly
to its target, without a ticket, and re-points the entity to v2; anything else is refused 422,
nothing written. The work is due `alignment_sla_hours` business hours after the approval."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from approvals.sla import business_hours_due_at
from audit.actors import Actor
from audit.models import AuditEvent
from notifications.models import OutboxEvent
from optimization.alignment import track_alignment
from optimization.models import ChangeSet, ExecutionManifestEntry, ManifestVersionLink
from optimization.services import (
    ChangeSetRequest,
    change_set_submit,
    track_hold_end,
    track_hold_start,
)
from optimization.services.alignment import alignment_settle
from plans.models import Track
from plans.services import plan_version_import_approved
from tenants.models import Role
from tests.conftest import TEST_ACTOR
from tests.plans.plan_samples import changed, winter_plan

pytestmark = pytest.mark.django_db
AGENT = Actor.service("optimizer")


def more_social(plan):
    social = plan["channels"][1]
    social["budget"] += 3000
    social["flights"][0]["budget"] += 3000


@pytest.fixture
def v2(live, django_capture_on_commit_callbacks):
    """v2 adds €100 a day to social (€333.33 → €433.33); search runs its plan already."""
    with django_capture_on_commit_callbacks(execute=True):
        version = plan_version_import_approved(
            tenant=live,
            track_key="always_on",
            kind="revise",
            payload=changed(winter_plan(), more_social),
            actor=TEST_ACTOR,
            approved_by="tests",
        )
    return version


def track(tenant) -> Track:
    return Track.objects.select_related("current_version").get(tenant=tenant, key="always_on")


def entry(entity_id) -> ExecutionManifestEntry:
    return ExecutionManifestEntry.objects.get(entity_id=entity_id)


def get_alignment(client, headers):
    return client.get("/api/v1/tracks/always_on/alignment", **headers)


def post(client, headers, body):
    return client.post(
        "/api/v1/change-sets", json.dumps(body), content_type="application/json", **headers
    )


def align_body(after="433.33", before="333.33", change_set_id=None, entity="social-prospecting"):
    return {
        "change_set_id": change_set_id or f"align-{uuid.uuid4().hex[:8]}",
        "track": "always_on",
        "kind": "alignment",
        "reason": "v2 approved",
        "items": [{"entity_id": entity, "field": "daily_budget", "before": before, "after": after}],
    }


def test_the_approval_turns_the_remaining_delta_into_alignment_work(client, v2, acme_headers):
    answer = get_alignment(client, acme_headers)
    assert answer.status_code == 200
    body = answer.json()
    assert body["version"] == 2
    assert body["aligned"] is False
    assert body["entities"] == [
        {
            "entity_id": "social-prospecting",
            "platform": "meta",
            "field": "daily_budget",
            "live": "333.33",
            "target": "433.33",
        }
    ]
    # Tuesday 10 November 11:00 in Berlin + 24 business hours of 9–18: Tue 7h, Wed 9h, Thu 8h.
    assert body["due_at"].startswith("2026-11-12T16:00:00")
    # search already runs v2's plan: its entities were re-pointed when the approval committed.
    assert entry("search-brand").plan_version == 2
    assert entry("social-prospecting").plan_version == 1
    assert AuditEvent.objects.filter(action="manifest.aligned").count() == 1
    due = OutboxEvent.objects.get(kind="alignment.due")
    assert due.data["track"] == "always_on" and due.data["to_align"] == 1


def test_an_exact_alignment_applies_without_a_ticket_and_re_points(client, v2, acme_headers):
    response = post(client, acme_headers, align_body())
    assert response.status_code == 201, response.content
    assert response.json()["status"] == "applied"
    assert response.json()["ticket"] is None
    social = entry("social-prospecting")
    assert social.state["daily_budget"] == "433.33"
    assert social.plan_version == 2
    link = ManifestVersionLink.objects.get(entry=social, until__isnull=True)
    assert link.plan_version == 2
    body = get_alignment(client, acme_headers).json()
    assert body["aligned"] is True and body["entities"] == []
    assert track_alignment(track=track(v2.tenant)).words == "aligned"


def test_the_same_alignment_again_answers_the_same_and_applies_once(client, v2, acme_headers):
    body = align_body(change_set_id="align-once")
    first = post(client, acme_headers, body)
    again = post(client, acme_headers, body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert ChangeSet.objects.filter(change_set_id="align-once").count() == 1


@pytest.mark.parametrize(
    "body, field",
    [
        (align_body(after="430.00"), "items"),  # not exactly the target
        (align_body(entity="search-brand", before="300.00", after="310.00"), "items"),
        ({**align_body(), "kind": "cleanup"}, "kind"),
        ({**align_body(), "items": []}, "items"),
    ],
)
def test_anything_but_an_exact_alignment_is_422_and_writes_nothing(
    client, v2, acme_headers, body, field
):
    events = AuditEvent.objects.count()
    response = post(client, acme_headers, body)
    assert response.status_code == 422, response.content
    assert set(response.json()) >= {"error", "detail"}
    assert field in json.dumps(response.json())
    assert not ChangeSet.objects.exists()
    assert AuditEvent.objects.count() == events
    assert entry("social-prospecting").state["daily_budget"] == "333.33"
    assert entry("social-prospecting").plan_version == 1


def test_an_alignment_when_nothing_is_left_is_422(client, v2, acme_headers):
    assert post(client, acme_headers, align_body()).status_code == 201
    again = post(client, acme_headers, align_body(before="433.33"))
    assert again.status_code == 422
    assert again.json()["error"] == "not_alignment"
    assert "nothing to align" in again.json()["detail"]


def test_an_unknown_track_is_404_and_another_tenant_sees_nothing(client, v2, globex):
    from tests.conftest import agent_headers

    headers = agent_headers(globex)
    answer = get_alignment(client, headers)
    assert answer.status_code == 404
    assert answer.json()["error"]
    assert post(client, headers, align_body()).status_code == 422


def test_an_alignment_during_a_hold_waits_and_applies_on_resume(v2, people):
    operator = Actor.for_user(people[Role.OPERATOR])
    track_hold_start(track=track(v2.tenant), actor=operator, reason="audit")
    change_set = change_set_submit(
        tenant=v2.tenant,
        request=ChangeSetRequest(
            change_set_id="align-held",
            track="always_on",
            kind="alignment",
            items=[
                {
                    "entity_id": "social-prospecting",
                    "field": "daily_budget",
                    "before": "333.33",
                    "after": "433.33",
                }
            ],
        ),
        actor=AGENT,
    )
    assert change_set.status == "approved_waiting"
    assert entry("social-prospecting").state["daily_budget"] == "333.33"
    track_hold_end(track=track(v2.tenant), actor=operator)
    change_set.refresh_from_db()
    assert change_set.status == "applied"
    assert entry("social-prospecting").plan_version == 2


# GET /alignment while the track is on hold ("Pause all spend"): the hold stops spending, it does
# not do the alignment work. An agent reads the work as it will be on resume (the held entities as
# they ran before the pause), `on_hold` saying change sets wait; nothing is re-pointed meanwhile.
HELD_WORK = {
    "entity_id": "social-prospecting",
    "platform": "meta",
    "field": "daily_budget",
    "live": "333.33",
    "target": "433.33",
}


def test_during_a_hold_the_agent_reads_the_work_it_will_do_on_resume(
    client, v2, people, acme_headers
):
    operator = Actor.for_user(people[Role.OPERATOR])
    before = get_alignment(client, acme_headers).json()
    assert before["entities"] == [HELD_WORK]
    track_hold_start(track=track(v2.tenant), actor=operator, reason="brand safety")
    assert entry("social-prospecting").state["status"] == "paused"

    body = get_alignment(client, acme_headers).json()
    assert body["aligned"] is False
    assert body["entities"] == [HELD_WORK]  # the work as on resume: not "paused" → "paused"
    assert body["due_at"] == before["due_at"]
    assert (before["on_hold"], body["on_hold"]) == (False, True)
    assert body["hold"]["reason"] == "brand safety"

    # Nothing re-points the paused entity to v2 while the hold lasts.
    alignment_settle(track_id=track(v2.tenant).pk, actor=operator)
    assert entry("social-prospecting").plan_version == 1

    track_hold_end(track=track(v2.tenant), actor=operator)
    after = get_alignment(client, acme_headers).json()
    assert after["entities"] == [HELD_WORK] and after["on_hold"] is False
    assert track_alignment(track=track(v2.tenant)).words == "1 to align"


def test_an_aligned_track_on_hold_says_so_too(client, v2, people, acme_headers):
    assert post(client, acme_headers, align_body()).status_code == 201
    operator = Actor.for_user(people[Role.OPERATOR])
    track_hold_start(track=track(v2.tenant), actor=operator, reason="brand safety")
    body = get_alignment(client, acme_headers).json()
    assert (body["aligned"], body["entities"], body["on_hold"]) == (True, [], True)
    assert body["hold"]["reason"] == "brand safety"


def test_overdue_alignment_reads_overdue_after_its_sla(v2, on_10_november):
    alignment = track_alignment(track=track(v2.tenant))
    assert not alignment.overdue and alignment.words == "1 to align"
    on_10_november.move_to(alignment.due_at + timedelta(minutes=1))
    assert track_alignment(track=track(v2.tenant)).overdue


def test_business_hours_skip_the_weekend_and_holidays():
    friday = datetime(2026, 11, 6, 9, 0, tzinfo=UTC)  # 10:00 in Paris
    due = business_hours_due_at(
        opened_at=friday,
        hours=40,
        country="FR",
        time_zone="Europe/Paris",
        start_hour=9,
        end_hour=18,
    )
    # Fri 8h, Mon 9h, Tue 9h, Wednesday 11 November is Armistice Day, Thu 9h, Fri 5h.
    assert due == datetime(2026, 11, 13, 13, 0, tzinfo=UTC)


# --- Pages, dashboard and metrics -----------------------------------------------------------
def test_the_track_pages_read_n_to_align_then_aligned(client, v2, people):
    from django.urls import reverse

    client.force_login(people[Role.OPERATOR])
    pages = [
        reverse("optimization:manifest", args=[v2.tenant.slug, "always_on"]),
        reverse("plans:timeline", args=[v2.tenant.slug, "always_on"]),
        reverse("plans:version", args=[v2.tenant.slug, 2]),
    ]
    for url in pages:
        assert "1 to align to v2" in client.get(url).content.decode(), url
    change_set_submit(
        tenant=v2.tenant,
        request=ChangeSetRequest(
            change_set_id="align-pages",
            track="always_on",
            kind="alignment",
            items=[align_body()["items"][0]],
        ),
        actor=AGENT,
    )
    for url in pages:
        assert "aligned with v2" in client.get(url).content.decode(), url


def test_overdue_alignment_shows_on_the_dashboard_and_in_the_metrics(
    client, v2, people, on_10_november
):
    from django.urls import reverse

    client.force_login(people[Role.OPERATOR])
    page = client.get(reverse("dashboard")).content.decode()
    assert 'data-testid="alignment-work"' in page and "1 to align" in page
    assert "overdue" not in page.split('data-testid="alignment-work"')[1].split("</section>")[0]
    on_10_november.move_to(track_alignment(track=track(v2.tenant)).due_at + timedelta(hours=2))
    page = client.get(reverse("dashboard")).content.decode()
    panel = page.split('data-testid="alignment-work"')[1].split("</section>")[0]
    assert "1 overdue" in panel and "overdue 2h" in panel
    metrics_page = client.get(reverse("metrics:tenant", args=[v2.tenant.slug])).content.decode()
    assert "Alignment with approved versions" in metrics_page
    assert "1 track to align, 1 overdue" in metrics_page
