"""Reconciliation (A6) in Chromium: an admin decides one both ways — accepting the platform's
value moves the manifest, restoring the manifest's value leaves it and asks the agent — at 1280
and at 390 px."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from approvals.models import Ticket, TicketStatus
from audit.actors import Actor
from optimization.models import ExecutionManifestEntry, Reconciliation
from optimization.services import manifest_sync
from optimization.services.reconcile import observations_report, reconcile
from tenants.models import Role
from tests.conftest import TEST_ACTOR
from tests.optimization.conftest import entry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def a6s(acme, acme_v1, make_member):
    make_member("acme-admin", acme, Role.ADMIN)
    manifest_sync(
        tenant=acme,
        track_key="always_on",
        entries=[
            entry("social-prospecting", "social", "333.33"),
            entry("search-brand", "search", "300.00"),
        ],
        actor=TEST_ACTOR,
        launched_by="tests",
    )
    observed_at = (timezone.now() - timedelta(minutes=5)).isoformat()
    observations_report(
        tenant=acme,
        track_key="always_on",
        observations=[
            {
                "platform": "meta",
                "entity_id": "social-prospecting",
                "daily_budget": "380.00",
                "status": "active",
                "observed_at": observed_at,
            },
            {
                "platform": "google_ads",
                "entity_id": "search-brand",
                "daily_budget": "300.00",
                "status": "paused",
                "observed_at": observed_at,
            },
        ],
        actor=Actor.service("execution-agent"),
    )
    reconcile(tenant=acme)
    by_entity = {r.manifest_entry.entity_id: r.ticket for r in Reconciliation.objects.all()}
    return {entity: Ticket.objects.get(public_id=ticket) for entity, ticket in by_entity.items()}


@pytest.mark.parametrize("width", [1280, 390])
def test_an_admin_accepts_one_a6_and_restores_the_other(
    page, screenshot, browser_login, a6s, width
):
    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, "acme-admin")

    social = a6s["social-prospecting"]
    page.goto(f"/tickets/{social.public_id}/")
    figures = page.get_by_test_id("reconciliation-figures")
    expect(figures).to_contain_text("€333.33")
    expect(figures).to_contain_text("€380")
    expect(page.get_by_test_id("reconciliation-history")).to_contain_text("€380")
    screenshot(f"reconciliation-a6-{width}")
    page.get_by_label("Comment (optional; the requester sees it)").fill(
        "Raised in Ads Manager for the weekend sale."
    )
    decision = page.locator("#decision")
    expect(decision).to_contain_text("the platform's value of meta:social")
    decision.get_by_role("button", name="Approve", exact=True).click()
    expect(page.locator("#decision").get_by_test_id("status")).to_have_text("Approved")
    expect(page.get_by_test_id("reconciliation-status")).to_have_text("Platform's value accepted")
    social_entry = ExecutionManifestEntry.objects.get(entity_id="social-prospecting")
    assert social_entry.state["daily_budget"] == "380.00"

    search = a6s["search-brand"]
    page.goto(f"/tickets/{search.public_id}/")
    expect(page.get_by_test_id("reconciliation-figures")).to_contain_text("paused")
    expect(page.locator("#decision")).to_contain_text("the platform's value of google_ads")
    page.locator("#decision").get_by_role("button", name="Reject", exact=True).click()
    page.get_by_label("Why do you reject it?").fill("Nobody here paused it: restore it.")
    page.get_by_role("button", name="Confirm: reject").click()
    expect(page.locator("#decision").get_by_test_id("status")).to_have_text("Rejected")
    expect(page.get_by_test_id("reconciliation-status")).to_have_text(
        "Manifest's value being restored"
    )
    screenshot(f"reconciliation-a6-restored-{width}")
    assert Ticket.objects.get(pk=search.pk).status == TicketStatus.REJECTED
    search_entry = ExecutionManifestEntry.objects.get(entity_id="search-brand")
    assert search_entry.state["status"] == "active"
    assert Reconciliation.objects.get(ticket=search.public_id).status == "restoring"


# --- Onboarding (A4): from request to ready ---------------------------------------------------
@pytest.mark.parametrize("width", [1280, 390])
def test_an_admin_follows_an_onboarding_from_request_to_ready(
    page, screenshot, browser_login, acme, acme_v1, make_member, width
):
    from optimization.services import manifest_sync as sync
    from optimization.services.onboarding import platform_account_request, platform_account_verify

    make_member("acme-admin", acme, Role.ADMIN)
    agent = Actor.service("onboarding-agent")
    account, _ = platform_account_request(
        tenant=acme,
        platform="meta",
        kind="ad_account",
        external_id="act_55120",
        client_owned=False,
        actor=agent,
    )
    paused = entry("social-new", "social", "100.00", status="paused")
    paused["state"]["account"] = "act_55120"
    sync(tenant=acme, track_key="always_on", entries=[paused], actor=TEST_ACTOR)

    page.set_viewport_size({"width": width, "height": 900})
    browser_login(page, "acme-admin")
    page.goto("/t/acme/onboarding/")
    expect(page.get_by_test_id("state-act_55120")).to_have_text("Requested")
    expect(page.get_by_test_id("completion-always_on")).to_contain_text(
        "waiting for meta:act_55120"
    )
    screenshot(f"onboarding-requested-{width}")

    page.get_by_role("link", name=account.ticket).click()
    expect(page.locator("#decision")).to_contain_text("access to meta:act_55120")
    page.locator("#decision").get_by_role("button", name="Approve", exact=True).click()
    expect(page.locator("#decision").get_by_test_id("status")).to_have_text("Approved")
    page.goto("/t/acme/onboarding/")
    expect(page.get_by_test_id("state-act_55120")).to_have_text("Granted, not verified yet")

    platform_account_verify(tenant=acme, account_id=account.pk, actor=agent)
    page.reload()
    expect(page.get_by_test_id("state-act_55120")).to_have_text("Ready")
    expect(page.get_by_test_id("completion-always_on")).not_to_contain_text("waiting")
    screenshot(f"onboarding-ready-{width}")
