"""Creative themes clicked through in Chromium (issue 17 item 3): globex's client approves a
creative theme in the portal, in the client's words, at 1280 and 390 px; a planner reads the
track's Creative themes page."""

from __future__ import annotations

import pytest
from django.db import transaction
from playwright.sync_api import expect

from approvals.models import Ticket, TicketStatus
from approvals.services import ticket_decide
from audit.actors import Actor
from optimization.models import CreativeTheme
from optimization.services.themes import ThemeRequest, creative_theme_propose_within
from plans.services import plan_version_import_approved
from tenants.models import Role
from tests.conftest import TEST_ACTOR
from tests.plans.plan_samples import changed, winter_plan

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _narrow(page, screenshot, name):
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(f"{name}-390")
    page.set_viewport_size({"width": 1280, "height": 900})


@pytest.fixture
def theme(globex, make_member):
    plan_version_import_approved(
        tenant=globex,
        track_key="always_on",
        kind="initial",
        payload=changed(winter_plan(), lambda p: p.update(geos=["US"], currency="USD")),
        actor=TEST_ACTOR,
        approved_by="tests",
    )
    with transaction.atomic():
        theme = creative_theme_propose_within(
            tenant=globex,
            track_key="always_on",
            request=ThemeRequest(
                theme_id="theme-posture",
                name="Posture at the desk",
                headlines=["Sit better, feel better", "Two minutes for your back"],
                imagery_note="Office worker stretching at a standing desk",
                claims=["Developed with physiotherapists"],
            ),
            actor=Actor.service("creative-agent"),
        )
    a7 = Ticket.objects.get(public_id=theme.ticket)
    for name, role in (("globex-planner", Role.PLANNER), ("globex-legal", Role.LEGAL)):
        ticket_decide(
            ticket=Ticket.objects.get(pk=a7.pk),
            actor=Actor.for_user(make_member(name, globex, role)),
            verdict="approve",
        )
    make_member("globex-client", globex, Role.CLIENT)
    return theme


def test_globex_client_approves_a_creative_theme_in_the_portal(
    page, screenshot, browser_login, theme
):
    browser_login(page, "globex-client")
    page.goto("/portal/")
    item = page.get_by_test_id("portal-item")
    expect(item).to_contain_text("new creative theme \u201cPosture at the desk\u201d")
    expect(page.locator("main")).not_to_contain_text("your account team is deciding")
    screenshot("themes-portal-home-1280")
    _narrow(page, screenshot, "themes-portal-home")

    item.get_by_role("link", name="Review and decide").click()
    main = page.locator("main")
    expect(main).to_contain_text("Headline: \u201cSit better, feel better\u201d")
    expect(main).to_contain_text("Imagery: Office worker stretching at a standing desk")
    expect(main).not_to_contain_text("creative_theme")
    screenshot("themes-portal-item-1280")
    _narrow(page, screenshot, "themes-portal-item")
    page.get_by_role("button", name="Approve creative theme").click()
    expect(page.get_by_text("Thank you. You approved")).to_be_visible()
    assert Ticket.objects.get(public_id=theme.ticket).status == TicketStatus.APPROVED
    assert CreativeTheme.objects.get(pk=theme.pk).status == "approved"


def test_a_planner_reads_the_creative_themes_of_a_track(page, screenshot, browser_login, theme):
    browser_login(page, "globex-planner")
    page.goto("/t/globex/plans/tracks/always_on/creative-themes/")
    expect(page.get_by_role("heading", name="always_on · creative themes")).to_be_visible()
    table = page.get_by_test_id("themes")
    expect(table).to_contain_text("Posture at the desk")
    expect(table).to_contain_text("In compliance review")
    screenshot("themes-page-1280")
    _narrow(page, screenshot, "themes-page")
    table.get_by_role("link", name=theme.ticket).click()
    expect(page.get_by_test_id("theme-panel")).to_contain_text("Sit better, feel better")
