"""The plan pages clicked through in Chromium: a planner drafts a revise raising search by 12%,
sees the verdict, submits; the client approves in the portal; the planner approves the ticket;
the track timeline shows the new version current and the old one superseded."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from plans.models import PlanStatus, PlanVersion
from plans.services import master_plan_set, plan_version_import_approved
from tenants.models import Role
from tests.conftest import TEST_ACTOR
from tests.plans.test_forms import PAYLOAD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(acme, alice, make_member):
    client_user = make_member("cathy", acme, Role.CLIENT)
    make_member("paula", acme, Role.PLANNER)  # approves what alice drafts (four eyes)
    master_plan_set(
        tenant=acme,
        period_start="2026-11-01",
        period_end="2027-01-31",
        currency="EUR",
        total_budget="150000",
        track_caps={"always_on": "70000", "branding": "40000"},
        actor=TEST_ACTOR,
    )
    v1 = plan_version_import_approved(
        tenant=acme,
        track_key="always_on",
        kind="initial",
        payload=PAYLOAD,
        actor=TEST_ACTOR,
        approved_by="alice",
    )
    return v1, client_user


def both_widths(page, screenshot, name: str) -> None:
    screenshot(f"plans-{name}-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(f"plans-{name}-390")
    page.set_viewport_size({"width": 1280, "height": 900})


def log_in_as(page, browser_login, username: str) -> None:
    page.context.clear_cookies()
    browser_login(page, username)


def test_a_revise_goes_from_draft_to_current_through_the_client_and_the_planner(
    page, screenshot, browser_login, world
):
    v1, _ = world

    # The planner starts a draft from the overview.
    log_in_as(page, browser_login, "alice")
    page.goto("/t/acme/plans/")
    expect(page).to_have_title(re.compile(r"^Plans · Acme Retail"))
    expect(page.locator("tr[data-track='always_on']")).to_contain_text(f"v{v1.number}")
    both_widths(page, screenshot, "overview")
    page.get_by_role("link", name="New draft for always_on").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New draft for always_on")

    # Raising search by 12% is a revise, and the verdict says so while the planner types.
    budget = page.locator("#id_channels-0-budget")
    budget.fill("")
    budget.press_sequentially("44800.00")  # typed: the editor asks for a verdict on keyup
    verdict = page.locator("#verdict")
    expect(verdict).to_contain_text("Verdict: revise")
    expect(verdict).to_contain_text("search budget moves 12.0%")
    page.get_by_label("Kind").select_option("revise")
    page.get_by_label("Why this draft").fill("Search outperformed: codify the higher budget")
    both_widths(page, screenshot, "editor")
    page.get_by_role("button", name="Create draft for always_on").click()

    # Versions are numbered per tenant: the draft is the next number after v1.
    number = v1.number + 1
    expect(page).to_have_url(re.compile(rf"/t/acme/plans/v/{number}/$"))
    expect(page.get_by_text("Search budget up 12% (€40,000 → €44,800)")).to_be_visible()
    expect(page.get_by_text("A5 ticket, approved by planner and client.")).to_be_visible()
    page.get_by_role("button", name=f"Submit v{number} for approval").click()
    expect(page.get_by_text(f"v{number} submitted for approval.")).to_be_visible()
    ticket_link = page.locator(".tickets-table a").first
    public_id = ticket_link.inner_text()
    both_widths(page, screenshot, "version-pending")

    # The client approves the budget increase in the portal.
    log_in_as(page, browser_login, "cathy")
    page.goto("/portal/")
    page.get_by_role("link", name="Review and decide").first.click()
    page.get_by_role("button", name=re.compile(r"^Approve")).click()
    both_widths(page, screenshot, "portal-approved")

    # Alice drafted it, so she may not approve it: the ticket page says why.
    log_in_as(page, browser_login, "alice")
    page.goto(f"/t/acme/plans/v/{number}/")
    page.get_by_role("link", name=public_id).click()
    expect(page).to_have_url(re.compile(rf"/tickets/{public_id}/$"))
    expect(page.get_by_test_id("own-work")).to_have_text(
        f"You drafted v{number}; another planner must approve."
    )
    expect(page.get_by_role("button", name=re.compile(r"^Approve A5"))).to_have_count(0)

    # Another planner approves on the ticket page, reached from the version page.
    log_in_as(page, browser_login, "paula")
    page.goto(f"/t/acme/plans/v/{number}/")
    page.get_by_role("link", name=public_id).click()
    page.get_by_role("button", name=re.compile(r"^Approve A5")).click()
    expect(page.get_by_text("by paula as planner")).to_be_visible()

    # The timeline: the new version is current and approved, the old one superseded.
    page.goto("/t/acme/plans/tracks/always_on/")
    new_row = page.locator(f"tr[data-version='{number}']")
    old_row = page.locator(f"tr[data-version='{v1.number}']")
    expect(new_row).to_have_class(re.compile("is-current"))
    expect(new_row).to_contain_text("current")
    expect(new_row).to_contain_text("Approved")
    expect(old_row).to_contain_text("Superseded")
    expect(old_row).not_to_contain_text("current")
    both_widths(page, screenshot, "timeline")

    # Compare the two from the timeline's radio buttons.
    page.get_by_role("button", name="Compare the two selected versions").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Compare v{v1.number} (always_on) with v{number} (always_on)"
    )
    both_widths(page, screenshot, "compare")

    # Read the database only once the browser is done (SQLite shares one in-memory file).
    statuses = dict(PlanVersion.objects.filter(tenant=v1.tenant).values_list("number", "status"))
    assert statuses == {v1.number: PlanStatus.SUPERSEDED, number: PlanStatus.APPROVED}


def test_the_editor_adds_rows_with_htmx_and_keeps_bad_input_with_a_message(
    page, screenshot, browser_login, world
):
    v1, _ = world
    log_in_as(page, browser_login, "alice")
    page.goto("/t/acme/plans/tracks/always_on/new/")

    page.get_by_role("button", name="Add channel").click()
    expect(page.locator("#id_channels-2-channel")).to_be_visible()
    page.locator("#id_channels-2-channel").fill("tiktok")
    page.locator("#id_channels-2-platform").fill("tiktok_ads")
    page.locator("#id_channels-2-budget").fill("lots")
    page.locator("#id_channels-2-budget").press("Tab")  # change
    expect(page.locator("#verdict")).to_contain_text("correct the marked fields")
    page.locator("#id_channels-2-budget").fill("")
    page.locator("#id_channels-2-budget").press_sequentially("5000")
    expect(page.locator("#verdict")).to_contain_text("Verdict: replan")
    expect(page.locator("#verdict")).to_contain_text("new channel tiktok")

    page.get_by_label("Kind").select_option("revise")
    page.get_by_role("button", name="Create draft for always_on").click()
    expect(page.locator("#err_kind")).to_contain_text(
        "A revise contradicts the classifier, which says replan"
    )
    expect(page.get_by_label("Kind")).to_have_attribute("aria-invalid", "true")
    both_widths(page, screenshot, "editor-refused")
    assert PlanVersion.objects.filter(tenant=v1.tenant).count() == 1
