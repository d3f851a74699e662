"""Approving a recommendation opens its draft (issue 18 item 5): the pre-drafted version, carried
forward first when another version's approval outdated it since the scan drafted it; the
ticket page offers one action (the decision panel's Approve), and the decision leads to the
editor."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from approvals.models import Ticket
from approvals.services import ticket_decide
from audit.actors import Actor
from audit.models import AuditEvent
from optimization.models import Recommendation, RecommendationStatus
from optimization.services import seasonal_change_set, triggers_scan
from plans.models import SUBJECT_TYPE, PlanStatus, PlanVersion, Track
from plans.services import plan_version_create_draft, plan_version_submit
from tenants.models import Role
from tests.conftest import TEST_ACTOR
from tests.plans.plan_samples import changed, winter_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def predrafted(live):
    """The scan pre-drafts a revise for a flight 14 days ahead (seasonality)."""
    start = date(2026, 11, 24)
    seasonal_change_set(
        track=Track.objects.get(tenant=live, key="always_on"),
        channel="social",
        starts_on=start,
        ends_on=start + timedelta(days=6),
        budget=Decimal("5000"),
        note="Black Friday week",
        actor=TEST_ACTOR,
    )
    triggers_scan()
    recommendation = Recommendation.objects.get(signal="seasonality")
    assert PlanVersion.objects.get(number=recommendation.draft_number).status == PlanStatus.DRAFT
    return recommendation


def new_messaging(plan):
    plan["messaging"] = "Winter deals, warmly wrapped."


@pytest.fixture
def outdated(live, predrafted, make_member):
    """Meanwhile a planner's own revise on the same version (new messaging) is approved: the
    pre-draft is outdated."""
    paul = make_member("paul", live, Role.PLANNER)
    version = plan_version_create_draft(
        tenant=live,
        track_key="always_on",
        kind="revise",
        payload=changed(winter_plan(), new_messaging),
        actor=Actor.for_user(paul),
        reason="new messaging",
    )
    version = plan_version_submit(version=version, actor=Actor.for_user(paul))
    deciders = {}
    for ticket in Ticket.objects.filter(
        subject_type=SUBJECT_TYPE, subject_id=str(version.number), status="open"
    ):
        for slot in ticket.required_roles:
            role = slot.split("/")[0]
            deciders.setdefault(role, make_member(f"decider-{role}", live, role))
            ticket_decide(
                ticket=ticket, actor=Actor.for_user(deciders[role]), verdict="approve", role=role
            )
    version.refresh_from_db()
    assert version.status == PlanStatus.APPROVED
    predraft = PlanVersion.objects.get(number=predrafted.draft_number)
    assert predraft.status == PlanStatus.OUTDATED
    return version, predraft


def approve_as(user, recommendation):
    ticket_decide(
        ticket=Ticket.objects.get(public_id=recommendation.ticket),
        actor=Actor.for_user(user),
        verdict="approve",
    )
    recommendation.refresh_from_db()
    return recommendation


def test_approving_keeps_a_predraft_that_is_still_current(predrafted, people):
    number = predrafted.draft_number
    recommendation = approve_as(people[Role.PLANNER], predrafted)
    assert (recommendation.status, recommendation.draft_number) == ("drafted", number)
    assert PlanVersion.objects.filter(carried_from__isnull=False).count() == 0


def test_approving_carries_an_outdated_predraft_forward_onto_the_current_version(
    outdated, predrafted, people
):
    approved, predraft = outdated
    recommendation = approve_as(people[Role.PLANNER], predrafted)
    assert recommendation.status == RecommendationStatus.DRAFTED
    carried = PlanVersion.objects.get(number=recommendation.draft_number)
    assert carried.number != predraft.number
    assert (carried.status, carried.carried_from_id, carried.parent_id) == (
        PlanStatus.DRAFT,
        predraft.pk,
        approved.pk,
    )
    # Both changes live in the carried draft: the approved messaging and the pre-drafted flight.
    assert carried.payload["messaging"] == "Winter deals, warmly wrapped."
    social = next(c for c in carried.payload["channels"] if c["channel"] == "social")
    assert {"start": "2026-11-24", "end": "2026-11-30", "budget": "5000.00"} in social["flights"]
    event = AuditEvent.objects.get(action="recommendation.drafted")
    assert event.data["carried_from"] == predraft.number
    assert event.data["draft"] == carried.number
    assert event.actor_label == people[Role.PLANNER].get_username()


def test_the_ticket_page_says_the_predraft_is_outdated_and_approving_opens_the_carried_draft(
    client, outdated, predrafted, people
):
    _approved, predraft = outdated
    client.force_login(people[Role.PLANNER])
    page = client.get(reverse("ticket", args=[predrafted.ticket])).content.decode()
    assert "outdated" in page and "carries it forward onto the current version" in page
    assert "Take up" not in page
    # Words and formats (item 6): the scan by what it does, dates in the tenant's words.
    assert "raised by Revise-trigger scan" in page
    assert "<dt>Requested by</dt><dd>Revise-trigger scan</dd>" in page
    assert ">optimization.scan_triggers<" not in page
    assert "social flight 24 Nov 2026 – 30 Nov 2026" in page  # the summary
    assert "<td>24 Nov 2026 – 30 Nov 2026</td>" in page  # the evidence figures
    assert "flight 2026-11-24" not in page and "2026-11-24 –" not in page
    assert page.count('name="verdict" value="approve"') == 1
    response = client.post(
        reverse("ticket_decide", args=[predrafted.ticket]),
        {"verdict": "approve"},
        headers={"HX-Request": "true"},
    )
    predrafted.refresh_from_db()
    assert predrafted.draft_number != predraft.number
    assert response["HX-Redirect"] == reverse("plans:edit", args=["acme", predrafted.draft_number])
    editor = client.get(response["HX-Redirect"]).content.decode()
    assert (
        f"draft v{predrafted.draft_number} of always_on (v{predraft.number} carried forward) "
        "is ready to review and submit" in editor
    )
