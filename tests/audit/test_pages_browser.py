"""The audit log and a resource trail in a real browser, as a planner uses them.
Screenshots at 1280 px and 390 px go to test-artifacts/."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from audit.actors import Actor
from audit.services import audit_event_append
from tenants.models import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def busy_acme(acme, make_member):
    planner = make_member("planner", acme, Role.PLANNER)
    for i in range(55):
        audit_event_append(
            tenant=acme,
            actor=Actor.service("optimizer"),
            action="change_set.applied",
            resource=("changeset", f"cs-{i}"),
            plan_version=12,
            data={"i": i},
        )
    audit_event_append(
        tenant=acme,
        actor=Actor.for_user(planner),
        action="ticket.approved",
        resource=("ticket", "T-42"),
        plan_version=12,
    )
    return acme


def test_a_planner_filters_pages_and_follows_a_resource_to_its_trail(
    page, screenshot, browser_login, busy_acme
):
    browser_login(page, "planner")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit").click()
    expect(page).to_have_title(re.compile(r"^Audit log · Acme Retail"))
    count = page.get_by_test_id("audit-count")
    expect(count).to_contain_text("page 1 of 2")
    table = page.get_by_test_id("audit-table")
    expect(table.locator("tbody tr").first).to_contain_text("ticket.approved")
    screenshot("audit-log-1280")

    # Paging swaps only the events region (htmx) and keeps the address shareable.
    page.get_by_role("link", name="Older events →").click()
    expect(count).to_contain_text("page 2 of 2")
    expect(page).to_have_url(re.compile(r"\?page=2$"))

    page.get_by_label("Action").select_option("ticket.approved")
    page.get_by_role("button", name="Show matching events").click()
    expect(count).to_have_text("1 event matches these filters")
    expect(page).to_have_url(re.compile(r"action=ticket.approved"))
    export = page.get_by_role("link", name="Export these events as CSV")
    expect(export).to_have_attribute("href", re.compile(r"export\.csv\?.*action=ticket.approved"))

    # The resource reads in words and links its object; "trail" opens every event about it.
    row = page.locator("tbody tr", has_text="Ticket T-42")
    expect(row.get_by_role("link", name="Ticket T-42")).to_have_attribute("href", "/tickets/T-42/")
    row.get_by_role("link", name="trail").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Audit trail of ticket T-42 · Acme Retail"
    )
    trail = page.get_by_test_id("audit-trail")
    expect(trail.locator("tbody tr")).to_have_count(1)
    expect(trail).to_contain_text("planner")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("audit-trail-390")
    page.get_by_role("link", name="Audit log", exact=True).first.click()
    screenshot("audit-log-390")
    # On a phone the action and the resource of each event stay in sight.
    for label in ("Action", "Resource"):
        box = page.locator(f"td[data-label={label}]").first.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (label, box)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the page itself must not scroll sideways on a phone"


def test_the_export_downloads_a_csv_of_the_shown_events(page, browser_login, busy_acme):
    browser_login(page, "planner")
    page.goto("/t/acme/audit/?actor=planner")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export these events as CSV").click()
    download = download_info.value
    assert re.fullmatch(r"audit-acme-\d{8}-\d{6}\.csv", download.suggested_filename)
    lines = Path(download.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("seq,created_at,actor_type")
    assert len(lines) == 2 and ",ticket.approved," in lines[1]
