"""The first hour (issue 18) in a real browser, on the demo world, at 1280 and 390 px: the inbox
sorted by urgency with its titles as links and "Waiting for" in sight on a phone; a client's
refusals and missing pages in the portal's layout; a decision whose buttons are one word under a
heading naming the subject, disabled and spinning while htmx sends them. Screenshots go to
test-artifacts/first-hour-*.png."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from approvals.models import Ticket, TicketStatus
from tenants.demo import DEMO_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _both_widths(page, screenshot, name):
    screenshot(f"first-hour-{name}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(f"first-hour-{name}-390")


def test_the_inbox_puts_the_most_overdue_on_top_and_its_titles_are_links(
    page, screenshot, browser_login
):
    call_command("seed_demo")
    browser_login(page, "admin", DEMO_PASSWORD)
    rows = page.locator("#inbox").get_by_test_id("inbox-row")
    expect(rows.first).to_be_visible()
    # The SLA column reads from the most urgent down: every overdue row before every other.
    states = [
        "overdue" if "overdue" in text else "other"
        for text in rows.locator("td .sla").all_inner_texts()
    ]
    assert "overdue" in states
    assert states == sorted(states, key=lambda state: state != "overdue")
    first = rows.first
    expect(first.locator(".sla")).to_contain_text("overdue")
    title_link = first.locator("a.ticket-link")
    title = title_link.inner_text()
    assert "optimization.scan_triggers" not in page.locator("#inbox").inner_text()
    _both_widths(page, screenshot, "inbox")

    waiting_header = page.locator("#inbox").get_by_role("columnheader", name="Waiting for")
    expect(waiting_header).to_be_visible()  # at 390 px too
    title_link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)


def test_a_client_refused_a_staff_page_stays_in_the_portal(page, screenshot, browser_login):
    call_command("seed_demo")
    browser_login(page, "client", DEMO_PASSWORD)
    expect(page.get_by_role("navigation", name="Portal")).to_be_visible()

    page.goto("/t/acme/plans/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "This page is not part of your portal"
    )
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("role")
    _both_widths(page, screenshot, "client-403")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/t/acme/no-such-page/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nothing here")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    _both_widths(page, screenshot, "client-404")
    page.get_by_role("link", name="Go to what is waiting for you").click()
    expect(page.get_by_role("navigation", name="Portal")).to_be_visible()


def test_a_decision_button_is_one_word_and_is_disabled_while_it_is_sent(
    page, screenshot, browser_login
):
    call_command("seed_demo")
    a4 = Ticket.objects.filter(type="A4", status=TicketStatus.OPEN, tenant__slug="acme").first()
    browser_login(page, "admin", DEMO_PASSWORD)
    page.goto(f"/tickets/{a4.public_id}/")
    decision = page.locator("#decision")
    expect(decision.get_by_role("heading", level=2)).to_contain_text("Decision: A4 for")
    approve = decision.get_by_role("button", name="Approve", exact=True)
    _both_widths(page, screenshot, "decision")
    page.set_viewport_size({"width": 1280, "height": 900})

    held = []
    page.route(f"**/tickets/{a4.public_id}/decide/", lambda route: held.append(route))
    approve.click()
    expect(approve).to_be_disabled()  # in flight: no second click, on any of its buttons
    expect(approve).to_have_attribute("data-in-flight", "pressed")
    expect(decision.get_by_role("button", name="Reject", exact=True)).to_be_disabled()
    screenshot("first-hour-decision-in-flight-1280")
    held[0].continue_()
    expect(decision.get_by_test_id("status")).not_to_have_text("Open")
    assert Ticket.objects.get(pk=a4.pk).decisions.count() == 1
