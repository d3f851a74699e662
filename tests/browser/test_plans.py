"""The plan pages clicked through in Chromium: a planner drafts a revise raising search by 12%,
sees the verdict, submits; the client approves in the portal; the planner approves the ticket;
the track timeline shows the new version current and the old one superseded."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from plans.models import MasterPlan, PlanStatus, PlanVersion
from plans.services import master_plan_set, plan_version_import_approved
from tenants.models import Role
from tests.browser.widths import screenshot_both_widths
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
    screenshot_both_widths(page, screenshot, f"plans-{name}")


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
    decision = page.locator("#decision")
    expect(decision.get_by_role("heading", level=2)).to_have_text(f"Decision: A5 for v{number}")
    expect(decision.get_by_role("button", name="Approve", exact=True)).to_have_count(0)

    # Another planner approves on the ticket page, reached from the version page.
    log_in_as(page, browser_login, "paula")
    page.goto(f"/t/acme/plans/v/{number}/")
    page.get_by_role("link", name=public_id).click()
    decision = page.locator("#decision")
    expect(decision.get_by_role("heading", level=2)).to_have_text(f"Decision: A5 for v{number}")
    decision.get_by_role("button", name="Approve", exact=True).click()
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
    # On a phone the budget and the compare pickers stay in sight.
    page.set_viewport_size({"width": 390, "height": 844})
    for cell in (new_row.locator("td.num"), new_row.locator("td.compare-col")):
        box = cell.bounding_box()
        assert box and box["x"] + box["width"] <= 390, box
    page.set_viewport_size({"width": 1280, "height": 900})

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
    # The verdict says "the marked fields": the field is marked, with its message beside it.
    expect(page.locator("#id_channels-2-budget")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#err_channels-2-budget")).to_have_text("Enter a number, e.g. 12000.00.")
    page.locator("#id_channels-2-budget").fill("")
    page.locator("#id_channels-2-budget").press_sequentially("5000")
    expect(page.locator("#verdict")).to_contain_text("Verdict: replan")
    # Valid again: the mark and its message are gone.
    expect(page.locator("#err_channels-2-budget")).to_have_count(0)
    expect(page.locator("#id_channels-2-budget")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("#verdict")).to_contain_text("new channel tiktok")

    page.get_by_label("Kind").select_option("revise")
    page.get_by_role("button", name="Create draft for always_on").click()
    expect(page.locator("#err_kind")).to_contain_text(
        "A revise contradicts the classifier, which says replan"
    )
    expect(page.get_by_label("Kind")).to_have_attribute("aria-invalid", "true")
    both_widths(page, screenshot, "editor-refused")
    assert PlanVersion.objects.filter(tenant=v1.tenant).count() == 1


def test_adding_rows_shows_no_errors_and_marks_clear_as_fields_become_valid(
    page, screenshot, browser_login, world
):
    v1, _ = world
    log_in_as(page, browser_login, "alice")
    page.goto("/t/acme/plans/tracks/always_on/new/")
    errors = page.locator("#plan-editor .errorlist li")

    # A new channel is a row to fill in, not a row of errors.
    page.get_by_role("button", name="Add channel").click()
    expect(page.locator("#id_channels-2-channel")).to_be_visible()
    expect(errors).to_have_count(0)
    expect(page.locator("#plan-editor [aria-invalid='true']")).to_have_count(0)
    expect(page.locator("#verdict")).to_contain_text(
        "fill in channel 3 (channel, platform, budget)"
    )
    page.locator("#id_channels-2-channel").press_sequentially("tiktok")
    expect(page.locator("#verdict")).to_contain_text("channel 3 (platform, budget)")
    expect(errors).to_have_count(0)  # typing in the new row marks none of its empty fields

    # A flight added to it: still no error anywhere.
    page.get_by_role("button", name="Add flight to this channel").click()
    expect(page.locator("#id_channels-2-flights-0-start")).to_be_visible()
    expect(errors).to_have_count(0)
    both_widths(page, screenshot, "editor-new-rows")

    # Saving now marks every empty field; each mark goes as its field becomes valid.
    page.get_by_label("Kind").select_option("replan")
    page.get_by_role("button", name="Create draft for always_on").click()
    expect(page.get_by_text("Nothing was saved")).to_be_visible()
    expect(page.locator("#id_channels-2-platform")).to_have_attribute("aria-invalid", "true")
    page.locator("#id_channels-2-platform").press_sequentially("tiktok_ads")
    expect(page.locator("#err_channels-2-platform")).to_have_count(0)
    expect(page.locator("#id_channels-2-budget")).to_have_attribute("aria-invalid", "true")
    page.locator("#id_channels-2-budget").press_sequentially("3100")
    for key, value in (("start", "2026-12-15"), ("end", "2026-12-31"), ("budget", "3100")):
        page.locator(f"#id_channels-2-flights-0-{key}").fill(value)
        page.locator(f"#id_channels-2-flights-0-{key}").dispatch_event("change")
    expect(page.locator("#verdict")).to_contain_text("Verdict: replan")
    expect(errors).to_have_count(0)
    expect(page.get_by_text("Nothing was saved")).to_have_count(0)
    both_widths(page, screenshot, "editor-fixed")
    page.get_by_role("button", name="Create draft for always_on").click()

    number = v1.number + 1
    expect(page).to_have_url(re.compile(rf"/t/acme/plans/v/{number}/$"))
    # The new channel's flight starts later: the live comparison says when, not "aligned".
    expect(page.locator(".manifest-table tr[data-channel='tiktok']")).to_contain_text(
        "starts 15 Dec — to launch"
    )
    assert PlanVersion.objects.get(tenant=v1.tenant, number=number).payload["channels"][2][
        "flights"
    ] == [{"start": "2026-12-15", "end": "2026-12-31", "budget": "3100.00"}]


def test_a_planner_discards_a_draft_and_its_number_stays_used(
    page, screenshot, browser_login, world
):
    v1, _ = world
    log_in_as(page, browser_login, "alice")
    page.goto("/t/acme/plans/tracks/always_on/new/")
    page.locator("#id_channels-0-budget").fill("44800.00")  # +12%: a revise
    page.get_by_label("Kind").select_option("revise")
    page.get_by_role("button", name="Create draft for always_on").click()
    number = v1.number + 1
    expect(page).to_have_url(re.compile(rf"/t/acme/plans/v/{number}/$"))

    page.get_by_text(f"Discard v{number}…").click()
    expect(page.get_by_text("its number is not used again")).to_be_visible()
    page.get_by_label("Why discard it").fill("replaced by a replan")
    both_widths(page, screenshot, "version-discard")
    page.get_by_role("button", name=f"Discard draft v{number} for good").click()

    expect(page).to_have_url(re.compile(r"/t/acme/plans/tracks/always_on/$"))
    expect(page.get_by_text(f"Draft v{number} discarded")).to_be_visible()
    row = page.locator(f"tr[data-version='{number}']")
    expect(row).to_contain_text("Discarded")
    expect(row).to_contain_text(f"v{number} · 2nd version of always_on")
    expect(page.locator("#numbering")).to_contain_text("Version numbers count per tenant")
    both_widths(page, screenshot, "timeline-discarded")

    # The next draft takes the next number: the discarded one is never reused.
    page.get_by_role("link", name="New draft for always_on").first.click()
    page.locator("#id_channels-0-budget").fill("44800.00")  # +12%: a revise
    page.get_by_label("Kind").select_option("revise")
    page.get_by_role("button", name="Create draft for always_on").click()
    expect(page).to_have_url(re.compile(rf"/t/acme/plans/v/{number + 1}/$"))
    statuses = dict(PlanVersion.objects.filter(tenant=v1.tenant).values_list("number", "status"))
    assert statuses[number] == PlanStatus.DISCARDED
    assert statuses[number + 1] == PlanStatus.DRAFT


def test_the_envelope_changes_with_a_draft_through_the_clients_approval(
    page, screenshot, browser_login, world
):
    v1, _ = world
    log_in_as(page, browser_login, "alice")
    page.goto("/t/acme/plans/")
    expect(page.locator("#envelope-change")).to_contain_text("propose a new total or track caps")

    # Search up to 55,000: always_on would plan 75,000, above its cap of 70,000.
    page.get_by_role("link", name="New draft for always_on").click()
    page.locator("#id_channels-0-budget").fill("55000.00")
    page.get_by_label("Kind").select_option("revise")
    page.get_by_role("button", name="Create draft for always_on").click()
    number = v1.number + 1
    expect(page).to_have_url(re.compile(rf"/t/acme/plans/v/{number}/$"))
    expect(page.locator(".approval-needs")).to_contain_text(
        "always_on would plan €75,000, above its cap of €70,000"
    )

    # Submitting as it stands is refused, and says what to do.
    page.get_by_role("button", name=f"Submit v{number} for approval").click()
    expect(page.get_by_text("propose a new master envelope")).to_be_visible()

    # The proposal form is open (the draft breaks the envelope) and starts from today's.
    expect(page.get_by_label("always_on cap")).to_have_value("70000.00")
    page.get_by_label("Total envelope").fill("160000")
    page.get_by_label("always_on cap").fill("80000")
    both_widths(page, screenshot, "version-envelope-form")
    page.get_by_role("button", name=f"Propose this envelope with v{number}").click()
    expect(
        page.get_by_text(f"v{number} proposes a new master envelope: the client")
    ).to_be_visible()
    expect(page.locator(".envelope-proposal")).to_contain_text("Always-on cap")
    expect(page.locator(".approval-needs")).to_contain_text(
        "Client sign-off: the master budget envelope changes."
    )
    both_widths(page, screenshot, "version-envelope-proposed")
    page.get_by_role("button", name=f"Submit v{number} for approval").click()
    expect(page.get_by_text(f"v{number} submitted for approval.")).to_be_visible()

    # The client reads the envelope change in the portal and approves.
    log_in_as(page, browser_login, "cathy")
    page.goto("/portal/")
    page.get_by_role("link", name="Review and decide").first.click()
    expect(page.get_by_test_id("summary")).to_contain_text(
        "Master budget envelope: total €150,000 → €160,000; Always-on cap €70,000 → €80,000."
    )
    both_widths(page, screenshot, "portal-envelope")
    page.get_by_role("button", name=re.compile(r"^Approve")).click()

    # Another planner approves the version; the envelope is the new one.
    log_in_as(page, browser_login, "paula")
    page.goto(f"/t/acme/plans/v/{number}/")
    page.locator(".tickets-table a").first.click()
    decision = page.locator("#decision")
    expect(decision.get_by_role("heading", level=2)).to_have_text(f"Decision: A5 for v{number}")
    decision.get_by_role("button", name="Approve", exact=True).click()
    expect(page.get_by_text("by paula as planner")).to_be_visible()
    page.goto("/t/acme/plans/")
    envelope = page.locator(".envelope-table")
    expect(envelope).to_contain_text("€80,000")
    expect(envelope).to_contain_text("€160,000")
    both_widths(page, screenshot, "overview-new-envelope")

    master = MasterPlan.objects.get(tenant=v1.tenant)
    assert (master.total_budget, master.track_caps["always_on"]) == (
        Decimal("160000.00"),
        "80000.00",
    )
