"""One clear path on a recommendation (issue 18 item 5), clicked through by a planner in Chromium
at 1280 and at 390 px: the scan pre-drafted a revise (a flight 14 days ahead), another version's
approval outdated it since; the ticket page says so and offers one action, Approve, which
carries the pre-draft forward onto the current version and opens that draft in the editor."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from playwright.sync_api import expect

from approvals.models import Ticket
from approvals.services import ticket_decide
from audit.actors import Actor
from optimization.models import Recommendation
from optimization.services import manifest_sync, seasonal_change_set, triggers_scan
from plans.models import SUBJECT_TYPE, PlanStatus, PlanVersion, Track
from plans.services import plan_version_create_draft, plan_version_submit
from tenants.models import Role
from tests.conftest import TEST_ACTOR
from tests.optimization.conftest import NOW, entry
from tests.plans.plan_samples import changed, winter_plan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def new_messaging(plan):
    plan["messaging"] = "Winter deals, warmly wrapped."


@pytest.fixture
def clock():
    # Time runs (the browser and the live server need it to) from 10 November 2026.
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def outdated_predraft(clock, acme, acme_v1, make_member):
    manifest_sync(
        tenant=acme,
        track_key="always_on",
        entries=[entry("social-prospecting", "social", "333.33")],
        actor=TEST_ACTOR,
        launched_by="tests",
    )
    seasonal_change_set(
        track=Track.objects.get(tenant=acme, key="always_on"),
        channel="social",
        starts_on=date(2026, 11, 24),
        ends_on=date(2026, 11, 24) + timedelta(days=6),
        budget=Decimal("5000"),
        note="Black Friday week",
        actor=TEST_ACTOR,
    )
    triggers_scan()
    recommendation = Recommendation.objects.get(signal="seasonality")
    paul = make_member("paul", acme, Role.PLANNER)
    make_member("pia", acme, Role.PLANNER)
    version = plan_version_submit(
        version=plan_version_create_draft(
            tenant=acme,
            track_key="always_on",
            kind="revise",
            payload=changed(winter_plan(), new_messaging),
            actor=Actor.for_user(paul),
            reason="the winter wording",
        ),
        actor=Actor.for_user(paul),
    )
    deciders = {}
    for ticket in Ticket.objects.filter(
        subject_type=SUBJECT_TYPE, subject_id=str(version.number), status="open"
    ):
        for slot in ticket.required_roles:
            role = slot.split("/")[0]
            deciders.setdefault(role, make_member(f"decider-{role}", acme, role))
            ticket_decide(
                ticket=ticket, actor=Actor.for_user(deciders[role]), verdict="approve", role=role
            )
    predraft = PlanVersion.objects.get(number=recommendation.draft_number)
    assert predraft.status == PlanStatus.OUTDATED
    return recommendation, predraft, version


@pytest.mark.parametrize("width", [1280, 390])
def test_a_planner_approves_an_outdated_predraft_and_lands_in_the_editor(
    page, screenshot, browser_login, outdated_predraft, width
):
    recommendation, predraft, approved = outdated_predraft
    page.set_viewport_size({"width": width, "height": 900 if width > 390 else 844})
    browser_login(page, "pia")
    page.goto(f"/tickets/{recommendation.ticket}/")
    draft_line = page.get_by_test_id("evidence-draft")
    expect(draft_line).to_contain_text(f"draft v{predraft.number} of always_on, outdated")
    expect(draft_line).to_contain_text(f"v{approved.number} was approved since")
    expect(draft_line).to_contain_text("Approving carries it forward onto the current version")
    expect(page.get_by_role("button", name=re.compile("Take up|Turn into"))).to_have_count(0)
    approve = page.locator("#decision").get_by_role("button", name="Approve", exact=True)
    expect(approve).to_be_visible()
    screenshot(f"recommendation-outdated-predraft-{width}")

    approve.click()
    expect(page).to_have_url(re.compile(r"/plans/v/\d+/edit/$"))
    recommendation.refresh_from_db()
    expect(page).to_have_url(re.compile(rf"/plans/v/{recommendation.draft_number}/edit/$"))
    expect(
        page.get_by_text(
            f"draft v{recommendation.draft_number} of always_on "
            f"(v{predraft.number} carried forward) is ready to review and submit"
        )
    ).to_be_visible()
    screenshot(f"recommendation-carried-draft-{width}")
    carried = PlanVersion.objects.get(number=recommendation.draft_number)
    assert (carried.carried_from_id, carried.parent_id) == (predraft.pk, approved.pk)
    # The page never scrolls sideways at this width.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
