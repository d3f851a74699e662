"""The optimization pages clicked through in Chromium by their users: an operator approves an A3
raised by an 18% change for +10% instead and sees the manifest and the log; an operator rolls a
change set back; a planner opens a drift recommendation, reads its chart and evidence and approves
it, which opens its new draft in the editor. State is built with the real services on 10 November
2026, when the November flights run (search €500 a day)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from playwright.sync_api import expect

from approvals.models import Ticket
from approvals.services import ticket_decide
from audit.actors import Actor
from optimization.models import ChangeSet, ExecutionManifestEntry, Recommendation, Signal
from optimization.services import (
    ChangeSetRequest,
    change_set_submit,
    manifest_sync,
    triggers_scan,
)
from plans.models import PlanStatus, PlanVersion
from tenants.models import Role, TenantPolicy
from tests.browser.widths import screenshot_both_widths
from tests.conftest import TEST_ACTOR
from tests.optimization.conftest import NOW, entry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
AGENT = Actor.service("optimizer")


@pytest.fixture
def clock():
    # Time runs (the browser and the live server need it to) from 10 November 2026.
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def world(clock, acme, acme_v1, make_member):
    TenantPolicy.objects.filter(tenant=acme).update(client_must_approve_budget_increase=False)
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
    return {role: make_member(f"acme-{role}", acme, role) for role in Role.values}


def submit(tenant, change_set_id, entity_id, before, after):
    return change_set_submit(
        tenant=tenant,
        request=ChangeSetRequest(
            change_set_id=change_set_id,
            track="always_on",
            items=[
                {"entity_id": entity_id, "field": "daily_budget", "before": before, "after": after}
            ],
            agent="optimizer",
            reason="CPA well under target",
        ),
        actor=AGENT,
    )


def both_widths(page, screenshot, name: str) -> None:
    screenshot_both_widths(page, screenshot, f"optimization-{name}")


def test_an_operator_approves_an_18_percent_raise_for_10_percent_and_sees_manifest_and_log(
    page, screenshot, browser_login, acme, world
):
    change_set = submit(acme, "cs-7f3a9c41e2", "search-brand", "300.00", "390.00")  # +18%
    assert change_set.status == "pending_approval"
    browser_login(page, "acme-operator")
    page.goto(f"/tickets/{change_set.ticket}/")
    panel = page.get_by_test_id("change-set-panel")
    expect(panel).to_contain_text("search-brand")
    both_widths(page, screenshot, "a3-ticket")

    panel.get_by_role("link", name="Approve a smaller move instead").click()
    expect(
        page.get_by_role("heading", name="Approve a smaller move of cs-7f3a9c41e2")
    ).to_be_visible()
    expect(page.get_by_test_id("checks")).to_contain_text("18%")
    page.get_by_label(re.compile(r"search-brand: daily budget €300 → €390 asked")).fill("350")
    page.get_by_label("Comment (optional; the agent sees it)").fill("+10% for now")
    both_widths(page, screenshot, "approve-smaller")
    page.locator("#approve-smaller").get_by_role("button", name="Approve", exact=True).click()

    expect(page.get_by_text("cs-7f3a9c41e2 approved for a smaller move: applied.")).to_be_visible()
    items = page.get_by_test_id("items")
    expect(items.get_by_role("cell", name="€390", exact=True)).to_be_visible()  # asked
    expect(items.get_by_role("cell", name="€350", exact=True)).to_have_count(2)  # approved, applied
    expect(page.get_by_test_id("history")).to_contain_text("Approved for a smaller move")
    both_widths(page, screenshot, "change-set-applied")

    page.get_by_role("link", name="Live manifest of always_on").click()
    manifest = page.get_by_test_id("manifest")
    expect(manifest.locator('[data-entity="search-brand"]')).to_contain_text("€350")
    expect(page.get_by_role("link", name="cs-7f3a9c41e2")).to_be_visible()  # its history
    both_widths(page, screenshot, "manifest")

    page.get_by_role("navigation", name="Pages of always_on").get_by_role(
        "link", name="Optimization log"
    ).click()
    row = page.locator('[data-change-set="cs-7f3a9c41e2"]')
    expect(row).to_contain_text("€300 → €390")
    expect(row).to_contain_text("approved €350 · applied €350")
    expect(row).to_contain_text("Applied")
    page.get_by_label("Outcome").select_option("applied")  # htmx swaps the rows
    expect(page.get_by_test_id("log-count")).to_have_text("1 change set matches these filters")
    both_widths(page, screenshot, "log")

    assert ExecutionManifestEntry.objects.get(entity_id="search-brand").state["daily_budget"] == (
        "350.00"
    )


def test_an_operator_rolls_a_change_set_back(page, screenshot, browser_login, acme, world):
    submit(acme, "cs-b81d2e907a", "search-brand", "300.00", "330.00")  # +6%: applied at once
    browser_login(page, "acme-operator")
    page.goto("/t/acme/plans/tracks/always_on/optimization/")
    page.get_by_role("link", name="cs-b81d2e907a").click()
    preview = page.get_by_test_id("rollback-preview")
    expect(preview).to_contain_text("€330")
    expect(page.get_by_text("within them, it applies at once.")).to_be_visible()
    page.get_by_label("Reason (optional)").fill("Conversions dropped after the raise")
    both_widths(page, screenshot, "rollback-preview")

    page.get_by_role("button", name="Roll back cs-b81d2e907a").click()
    expect(
        page.get_by_text(re.compile(r"cs-b81d2e907a rolled back by rollback-\w+: applied\."))
    ).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Change set rollback-"))).to_be_visible()
    expect(page.get_by_text("Reverts")).to_be_visible()
    both_widths(page, screenshot, "rollback-done")

    rollback = ChangeSet.objects.get(kind="rollback")
    assert rollback.reverts.change_set_id == "cs-b81d2e907a"
    assert ExecutionManifestEntry.objects.get(entity_id="search-brand").state["daily_budget"] == (
        "300.00"
    )


def test_a_planner_turns_a_drift_recommendation_into_a_draft(
    page, screenshot, browser_login, clock, acme, world
):
    submit(acme, "cs-4c1e", "search-brand", "300.00", "350.00")  # +10%: drift 10%, applied
    clock.shift(timedelta(days=3))
    beyond = submit(acme, "cs-9d27", "search-generic", "200.00", "250.00")  # drift 20%: an A3
    ticket_decide(
        ticket=Ticket.objects.get(public_id=beyond.ticket),
        actor=Actor.for_user(world[Role.OPERATOR]),
        verdict="approve",
    )
    clock.shift(timedelta(days=2))
    triggers_scan()
    recommendation = Recommendation.objects.get(signal=Signal.DRIFT)

    browser_login(page, "acme-planner")
    # The inbox row of the recommendation's ticket: its title is the link.
    row = page.locator("#inbox").get_by_test_id("inbox-row").filter(has_text=recommendation.ticket)
    row.locator("a.ticket-link").click()
    expect(page).to_have_url(re.compile(rf"/tickets/{recommendation.ticket}/$"))
    evidence = page.get_by_test_id("evidence")
    expect(
        evidence.get_by_role("img", name=re.compile("Cumulative drift per channel"))
    ).to_be_visible()
    figures = evidence.get_by_test_id("evidence-figures")
    expect(figures.get_by_role("row", name=re.compile("Cumulative drift"))).to_contain_text("20%")
    expect(figures.get_by_role("row", name=re.compile("Threshold"))).to_contain_text("15%")
    expect(evidence.get_by_test_id("evidence-change-sets")).to_contain_text("cs-9d27")
    both_widths(page, screenshot, "drift-recommendation")

    # One action: the decision panel's Approve, which opens the new draft in the editor.
    expect(page.get_by_role("button", name=re.compile("Take up|Turn into"))).to_have_count(0)
    page.locator("#decision").get_by_role("button", name="Approve", exact=True).click()
    expect(page).to_have_url(re.compile(r"/plans/v/\d+/edit/$"))
    expect(
        page.get_by_text(re.compile(r"draft v\d+ of always_on is ready to review and submit"))
    ).to_be_visible()
    recommendation.refresh_from_db()
    draft = PlanVersion.objects.get(number=recommendation.draft_number)
    assert draft.status == PlanStatus.DRAFT
    expect(page).to_have_url(re.compile(rf"/plans/v/{draft.number}/edit/$"))
    both_widths(page, screenshot, "drift-draft")

    page.goto("/t/acme/plans/tracks/always_on/drift/")
    expect(page.get_by_test_id("drift-table")).to_contain_text("+20%")
    both_widths(page, screenshot, "drift-panel")


def test_a_planner_puts_a_flight_change_on_the_seasonality_calendar(
    page, screenshot, browser_login, world
):
    browser_login(page, "acme-planner")
    page.goto("/t/acme/plans/tracks/always_on/")
    page.get_by_role("navigation", name="Pages of always_on").get_by_role(
        "link", name="Seasonality calendar"
    ).click()
    form = page.locator(".calendar-form")
    form.get_by_label("Channel").select_option("search")
    form.get_by_label("Flight starts").fill("2026-12-20")
    form.get_by_label("Flight ends").fill("2026-12-10")
    form.get_by_label("Flight budget (EUR)").fill("9000")
    form.get_by_label("Note (optional)").fill("Christmas push")
    page.get_by_role("button", name="Add to the calendar of always_on").click()
    expect(page.get_by_text("The flight ends before it starts.")).to_be_visible()
    expect(form.get_by_label("Note (optional)")).to_have_value("Christmas push")
    both_widths(page, screenshot, "seasonality-error")

    form.get_by_label("Flight ends").fill("2026-12-31")
    page.get_by_role("button", name="Add to the calendar of always_on").click()
    calendar = page.get_by_test_id("calendar")
    expect(calendar).to_contain_text("20 Dec 2026 – 31 Dec 2026")
    expect(calendar).to_contain_text("€9,000")
    both_widths(page, screenshot, "seasonality")
