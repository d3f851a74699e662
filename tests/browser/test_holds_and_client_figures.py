"""Issue 16 in Chromium, at 1280 and 390 px: an operator pauses all spend with a reason while the
client approves an A3 — nothing applies until spend resumes; and an approval for a smaller move as
the client sees it in the portal (before they decide, and after they approved the bigger move).
State is built with the real services on 10 November 2026 (search runs €500 a day)."""

from __future__ import annotations

import re

import pytest
import time_machine
from playwright.sync_api import expect

from approvals.models import Ticket
from approvals.services import ticket_decide
from audit.actors import Actor
from optimization.models import ExecutionManifestEntry
from optimization.services import (
    change_set_approve_with_edit,
    manifest_sync,
)
from tenants.models import Role
from tests.browser.test_optimization import submit
from tests.browser.widths import screenshot_both_widths
from tests.conftest import TEST_ACTOR
from tests.optimization.conftest import NOW, entry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
AGENT = Actor.service("optimizer")


@pytest.fixture
def world(acme, acme_v1, make_member):
    with time_machine.travel(NOW, tick=True):
        manifest_sync(
            tenant=acme,
            track_key="always_on",
            entries=[
                entry("search-brand", "search", "300.00"),
                entry("search-generic", "search", "200.00"),
                entry("social-prospecting", "social", "333.33"),
            ],
            actor=TEST_ACTOR,
            launched_by="tests",
        )
        yield {role: make_member(f"acme-{role}", acme, role) for role in Role.values}


def both_widths(page, screenshot, name: str) -> None:
    screenshot_both_widths(page, screenshot, f"hold-{name}")


def live_budget(entity_id: str) -> str:
    return ExecutionManifestEntry.objects.get(entity_id=entity_id).state["daily_budget"]


def test_an_operator_pauses_with_a_reason_while_the_client_approves_an_a3(
    page, browser, live_server, screenshot, browser_login, acme, world
):
    change_set = submit(acme, "cs-5e1a", "search-brand", "300.00", "390.00")  # +18%: an A3
    ticket = Ticket.objects.get(public_id=change_set.ticket)
    assert ticket.required_roles == ["operator", "client"]
    ticket_decide(ticket=ticket, actor=Actor.for_user(world[Role.OPERATOR]), verdict="approve")

    browser_login(page, "acme-operator")
    page.goto("/t/acme/plans/tracks/always_on/manifest/")
    expect(page.get_by_label(re.compile("Reason"))).to_have_attribute("required", "")
    page.get_by_label(re.compile("Reason")).fill("Client's stock count")
    page.get_by_role("button", name="Pause all spend on always_on…").click()
    confirm = page.get_by_test_id("hold-confirm")
    expect(confirm).to_contain_text("This stops 3 entities spending €833.33 a day on always_on")
    assert ExecutionManifestEntry.objects.filter(state__status="paused").count() == 0
    both_widths(page, screenshot, "confirm")
    confirm.get_by_role("button", name=re.compile(r"Confirm: pause 3 entities")).click()
    expect(page.get_by_role("heading", name="All spend paused")).to_be_visible()

    # Meanwhile the client approves the raise in the portal.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    portal = context.new_page()
    browser_login(portal, "acme-client")
    portal.get_by_test_id("portal-item").get_by_role("link", name="Review and decide").click()
    portal.get_by_role("button", name="Approve budget increase").click()
    expect(portal.locator(".messages")).to_contain_text("Thank you. You approved")
    portal.goto(f"/portal/items/{ticket.public_id}/")
    expect(portal.locator("main")).to_contain_text(
        "All spend on this plan is paused for now: it applies when spend resumes"
    )
    both_widths(portal, screenshot, "portal-approved-during-hold")
    context.close()

    change_set.refresh_from_db()
    assert change_set.status == "approved_waiting"
    assert live_budget("search-brand") == "300.00"

    page.reload()
    waiting = page.get_by_test_id("waiting-for-hold")
    expect(waiting).to_contain_text("cs-5e1a")
    expect(waiting).to_contain_text("Approved, waiting for the hold to end")
    both_widths(page, screenshot, "manifest-waiting")
    page.get_by_role(
        "button", name="Resume spend on always_on and check 1 waiting change set"
    ).click()
    expect(page.locator(".messages")).to_contain_text("cs-5e1a: applied.")
    both_widths(page, screenshot, "resumed")
    assert live_budget("search-brand") == "390.00"
    assert ExecutionManifestEntry.objects.get(entity_id="search-brand").state["status"] == "active"


def test_the_client_sees_the_smaller_move_the_team_approved(
    page, screenshot, browser_login, acme, world
):
    operator, client = Actor.for_user(world[Role.OPERATOR]), Actor.for_user(world[Role.CLIENT])
    # Edited before the client decided: they are asked for the smaller move.
    before = submit(acme, "cs-77b0", "search-brand", "300.00", "390.00")
    change_set_approve_with_edit(change_set=before, actor=operator, approved={0: "350.00"})
    # Edited after the client approved the bigger one: their approval stands, and they are told.
    after = submit(acme, "cs-81c4", "social-prospecting", "333.33", "400.00")
    ticket_decide(
        ticket=Ticket.objects.get(public_id=after.ticket), actor=client, verdict="approve"
    )
    change_set_approve_with_edit(change_set=after, actor=operator, approved={0: "360.00"})

    browser_login(page, "acme-client")
    item = page.get_by_test_id("portal-item")
    expect(item).to_have_count(1)
    expect(
        item.get_by_role("heading", name="Always-on plan: Search daily budget €500 → €550")
    ).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("€590")
    item.get_by_role("link", name="Review and decide").click()
    expect(page.locator("main")).to_contain_text("Search daily budget +€50 (€500 → €550).")
    both_widths(page, screenshot, "portal-smaller-move")
    page.get_by_role("button", name="Approve budget increase").click()
    expect(page.locator(".messages")).to_contain_text(
        "Thank you. You approved Always-on plan: Search daily budget €500 → €550"
    )
    assert live_budget("search-brand") == "350.00"

    page.get_by_role("link", name="Your decisions").click()
    history = page.get_by_test_id("history")
    expect(history).to_contain_text("Search daily budget €500 → €550")
    expect(history).to_contain_text("Social daily budget €333.33 → €360")
    both_widths(page, screenshot, "portal-history")
    page.goto(f"/portal/items/{after.ticket}/")
    expect(page.locator("main")).to_contain_text(
        "Your team approved a smaller move: +€26.67 instead of +€66.67."
    )
    both_widths(page, screenshot, "portal-kept-approval")
    assert live_budget("social-prospecting") == "360.00"
