"""Two planners' competing drafts, clicked through in Chromium at 1280 and 390 px (issue 16 item 1):
alice's v2 and paul's v3 are both built on v1. Paul's page says v2 competes; paul submits, v3 is
approved, and alice's v2 is outdated — her dashboard says so, the client's item reads "Replaced",
and alice carries v2 forward onto v3."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from approvals.models import Ticket, TicketStatus
from approvals.services import ticket_decide
from audit.actors import Actor
from plans.models import PlanStatus, PlanVersion
from plans.services import plan_version_create_draft, plan_version_submit
from tenants.models import Role
from tests.browser.widths import screenshot_both_widths
from tests.plans.plan_samples import changed, search_up_12_pct, winter_plan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def new_messaging(plan):
    plan["messaging"] = "Winter deals, warmly wrapped."


@pytest.fixture
def world(acme, acme_v1, alice, make_member):
    people = {
        "alice": alice,
        "paul": make_member("paul", acme, Role.PLANNER),
        Role.PLANNER: make_member("paula", acme, Role.PLANNER),
        Role.CLIENT: make_member("cathy", acme, Role.CLIENT),
        Role.LEGAL: make_member("lena", acme, Role.LEGAL),  # new messaging: compliance (A7)
    }
    v2 = plan_version_create_draft(
        tenant=acme,
        track_key="always_on",
        kind="revise",
        payload=changed(winter_plan(), search_up_12_pct),
        actor=Actor.for_user(alice),
        reason="search converts",
    )
    v2 = plan_version_submit(version=v2, actor=Actor.for_user(alice))
    v3 = plan_version_create_draft(
        tenant=acme,
        track_key="always_on",
        kind="revise",
        payload=changed(winter_plan(), new_messaging),
        actor=Actor.for_user(people["paul"]),
        reason="the winter wording",
    )
    return people, v2, v3


def both_widths(page, screenshot, name: str) -> None:
    screenshot_both_widths(page, screenshot, f"competing-{name}")


def log_in_as(page, browser_login, username: str) -> None:
    page.context.clear_cookies()
    browser_login(page, username)


def approve_all(version, people) -> None:
    for ticket in Ticket.objects.filter(
        tenant_id=version.tenant_id, subject_id=str(version.number), status=TicketStatus.OPEN
    ):
        for slot in ticket.required_roles:
            role = slot.split("/")[0]
            ticket_decide(
                ticket=ticket, actor=Actor.for_user(people[role]), verdict="approve", role=role
            )


def test_the_second_draft_is_outdated_and_carried_forward(page, screenshot, browser_login, world):
    people, v2, v3 = world

    # Paul's draft page says alice's v2 competes with it before he submits.
    log_in_as(page, browser_login, "paul")
    page.goto(f"/t/acme/plans/v/{v3.number}/")
    competitors = page.get_by_test_id("competitors")
    expect(competitors).to_contain_text(
        f"v{v2.number} (pending approval, by alice) is also built on v1"
    )
    expect(competitors).to_contain_text("whichever is approved first outdates the other")
    both_widths(page, screenshot, "submit-step")
    page.get_by_role("button", name=f"Submit v{v3.number} for approval").click()
    expect(page.locator("h1")).to_contain_text("Pending approval")

    # Another planner (and the client, where asked) approves paul's v3 first.
    approve_all(PlanVersion.objects.get(pk=v3.pk), people)
    assert PlanVersion.objects.get(pk=v2.pk).status == PlanStatus.OUTDATED

    # The client's item for v2 no longer waits for them: it reads "Replaced".
    client_ticket = Ticket.objects.get(subject_id=str(v2.number), client_visible=True)
    log_in_as(page, browser_login, "cathy")
    page.goto("/portal/")
    expect(page.locator("main")).not_to_contain_text(client_ticket.public_id)
    page.goto(f"/portal/items/{client_ticket.public_id}/")
    expect(page.get_by_test_id("status")).to_have_text("Replaced")
    expect(page.get_by_test_id("note")).to_contain_text("Replaced by the plan")
    expect(page.get_by_role("button", name=re.compile("^Approve"))).to_have_count(0)
    both_widths(page, screenshot, "portal-replaced")

    # Alice's dashboard tells her; her version page offers to carry v2 forward onto v3.
    log_in_as(page, browser_login, "alice")
    page.goto("/")
    panel = page.get_by_test_id("outdated-versions")
    expect(panel).to_contain_text(f"v{v2.number} of always_on is outdated")
    both_widths(page, screenshot, "dashboard")
    panel.get_by_role("link", name=f"v{v2.number} of always_on is outdated").click()
    expect(page.get_by_test_id("outdated")).to_contain_text(f"v{v3.number} was approved")
    both_widths(page, screenshot, "outdated")
    page.get_by_role("button", name=f"Carry v{v2.number} forward onto v{v3.number}").click()

    carried = PlanVersion.objects.get(carried_from_id=v2.pk)
    expect(page).to_have_url(re.compile(rf"/plans/v/{carried.number}/$"))
    expect(page.get_by_test_id("carried-from")).to_contain_text(
        f"Carried forward from v{v2.number}. Every change of v{v2.number} was re-applied."
    )
    expect(page.locator("h1")).to_contain_text("Draft")
    both_widths(page, screenshot, "carried")
    assert carried.parent_id == v3.pk
    assert carried.payload["messaging"] == "Winter deals, warmly wrapped."
    assert carried.payload["channels"][0]["budget"] == "44800.00"
