"""The dashboard, ticket page and client portal, clicked through in Chromium by their users."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from approvals.models import Ticket, TicketStatus
from approvals.services import ticket_decide
from audit.actors import Actor
from tenants.models import Role
from tests.approvals.factories import open_ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BUDGET_DIFF = {
    "summary": ["Search budget up 12% (€40,000 → €44,800) from 1 Dec"],
    "changes": [
        {"field": "search.budget", "before": 40000, "after": 44800, "note": "+12%"},
        {"field": "search.flights", "before": "Dec", "after": "Dec–Jan"},
    ],
    "budget_table": {
        "currency": "EUR",
        "columns": ["Channel", "Before", "After"],
        "rows": [["search", 40000, 44800], ["social", 20000, 20000]],
        "totals": ["Total", 60000, 64800],
    },
    "kpi_impact": ["More conversions at a similar CPA."],
}


@pytest.fixture
def world(acme, make_member):
    people = {role: make_member(f"acme-{role}", acme, role) for role in Role.values}
    tickets = {
        "a3": open_ticket(
            acme,
            "A3",
            title="Search daily budget over guardrail",
            change_set_id="cs-2f9a41c7",
            platform="google_ads",
            requesting_agent="optimizer-agent",
            diff={
                "summary": ["Search daily budget +18% (€500 → €590)"],
                "changes": [{"field": "daily_budget", "before": 500, "after": 590}],
            },
        ),
        "a1": open_ticket(acme, "A1", title="Always-on plan v11", plan_version=11, platform="meta"),
        "a5": open_ticket(
            acme,
            "A5",
            title="Revise always_on: search budget up 12%",
            plan_version=12,
            platform="google_ads",
            requesting_agent="planning-agent",
            required_roles=["planner", "client"],
            diff=BUDGET_DIFF,
        ),
        "a8": open_ticket(
            acme,
            "A8",
            title="Reporting agent stuck in tool calls",
            run_id="run-7781",
            requesting_agent="reporting-agent",
            red_flag={"loop_type": "tool_rounds", "attempt_count": 6},
        ),
        "a9": open_ticket(
            acme,
            "A9",
            title="Cost Guard tripped on creative brief",
            run_id="run-7790",
            requesting_agent="creative-agent",
            red_flag={"estimated_usd": "1.20", "actual_usd": "3.75"},
        ),
    }
    return people, tickets


def _narrow(page, screenshot, name):
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(f"{name}-390")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_an_operator_filters_the_inbox_and_approves_an_a3(page, screenshot, browser_login, world):
    people, tickets = world
    browser_login(page, "acme-operator")
    expect(page.get_by_role("heading", name="Human Touch Dashboard")).to_be_visible()
    screenshot("approvals-inbox-1280")
    _narrow(page, screenshot, "approvals-inbox")

    page.get_by_label("Type").select_option("A3")  # htmx refreshes the inbox on change
    inbox = page.locator("#inbox")
    expect(inbox.get_by_test_id("inbox-count")).to_have_text("1 ticket")
    expect(inbox).to_contain_text("Search daily budget over guardrail")
    expect(inbox).not_to_contain_text("Always-on plan v11")
    assert "type=A3" in page.url

    inbox.get_by_role("link", name=tickets["a3"].public_id).click()
    expect(page.get_by_role("heading", name="Search daily budget over guardrail")).to_be_visible()
    page.get_by_role("button", name="Approve A3 for change set cs-2f9a41c7").click()
    expect(page.locator("#decision").get_by_test_id("status")).to_have_text("Approved")
    screenshot("approvals-ticket-a3-approved-1280")

    assert Ticket.objects.get(pk=tickets["a3"].pk).status == TicketStatus.APPROVED


def test_a_client_approves_a_budget_increase_but_cannot_open_an_internal_ticket(
    page, screenshot, browser_login, world
):
    people, tickets = world
    ticket_decide(ticket=tickets["a5"], actor=Actor.for_user(people["planner"]), verdict="approve")
    browser_login(page, "acme-client")
    expect(page.get_by_role("heading", name="Waiting for you")).to_be_visible()
    expect(page.get_by_text("Search budget up 12% (€40,000 → €44,800) from 1 Dec")).to_be_visible()
    screenshot("approvals-portal-home-1280")
    _narrow(page, screenshot, "approvals-portal-home")

    page.get_by_role("link", name="Review and decide").click()
    expect(
        page.get_by_test_id("budget-table").get_by_role("cell", name="€64,800", exact=True)
    ).to_be_visible()
    screenshot("approvals-portal-item-1280")
    _narrow(page, screenshot, "approvals-portal-item")
    page.get_by_role("button", name="Approve budget increase").click()
    expect(page.get_by_text("Thank you: you approved")).to_be_visible()
    assert Ticket.objects.get(pk=tickets["a5"].pk).status == TicketStatus.APPROVED

    page.get_by_role("link", name="Your decisions").click()
    expect(page.get_by_test_id("history")).to_contain_text("Revise always_on")

    for path in (
        f"/tickets/{tickets['a8'].public_id}/",
        f"/portal/items/{tickets['a9'].public_id}/",
    ):
        response = page.goto(path)
        assert response.status == 404
        expect(page.locator("body")).not_to_contain_text("Reporting agent stuck")


def test_a_planner_requests_changes_with_a_comment(page, screenshot, browser_login, world):
    people, tickets = world
    browser_login(page, "acme-planner")
    page.goto(f"/tickets/{tickets['a5'].public_id}/")
    expect(page.get_by_test_id("changes")).to_contain_text("Dec–Jan")
    screenshot("approvals-ticket-a5-1280")
    _narrow(page, screenshot, "approvals-ticket-a5")

    page.get_by_label("Comment (optional; the requester sees it)").fill(
        "Split the increase by month, please."
    )
    page.get_by_role("button", name="Request changes on A5 for v12").click()

    expect(page.locator("#decision").get_by_test_id("status")).to_have_text("Changes requested")
    expect(page.locator("#thread")).to_contain_text("Split the increase by month, please.")
    screenshot("approvals-ticket-a5-changes-requested-1280")
    assert Ticket.objects.get(pk=tickets["a5"].pk).status == TicketStatus.CHANGES_REQUESTED

    page.get_by_label("Add a comment").fill("Draft v13 follows tomorrow.")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator("#thread")).to_contain_text("Draft v13 follows tomorrow.")


def test_the_red_flag_lane_shows_a8_and_a9_details(page, screenshot, browser_login, world):
    people, tickets = world
    browser_login(page, "acme-admin")

    lane = page.get_by_test_id("redflag-lane")
    a8 = lane.get_by_test_id("redflag-a8")
    a9 = lane.get_by_test_id("redflag-a9")
    expect(a8).to_contain_text("tool_rounds")
    expect(a8).to_contain_text("Attempts 6")
    expect(a9).to_contain_text("Estimated $1.20")
    expect(a9).to_contain_text("Actual $3.75")
    expect(a9).to_contain_text("3.1× the estimate")
    screenshot("approvals-redflags-1280")

    page.get_by_label("Type").select_option("A1")  # the lane stays whatever the filter
    expect(page.locator("#inbox").get_by_test_id("inbox-count")).to_have_text("1 ticket")
    expect(lane.get_by_test_id("redflag-a8")).to_be_visible()
    _narrow(page, screenshot, "approvals-redflags")


@pytest.mark.parametrize(
    ("due_in_hours", "opened_hours_ago", "text", "css_class"),
    [
        pytest.param(30, 2, "1d 6h left", "sla-ok", id="ok"),
        pytest.param(2, 20, "2h left", "sla-amber", id="amber-under-4h"),
        pytest.param(10, 50, "10h left", "sla-amber", id="amber-under-a-quarter"),
        pytest.param(-2, 30, "overdue 2h", "sla-red", id="overdue"),
    ],
)
def test_the_sla_timer_script_ticks_with_the_same_rule_as_the_server(
    page, browser_login, world, due_in_hours, opened_hours_ago, text, css_class
):
    errors = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    browser_login(page, "acme-operator")
    expect(page.locator("[data-sla-due]").first).to_be_visible()

    # A timer as the server renders one, then the tick htmx triggers after a swap.
    page.evaluate(
        """([dueIn, openedAgo]) => {
            const hour = 3600 * 1000, now = Date.now(), slack = Math.sign(dueIn) * 30000;
            const el = document.createElement("span");
            el.id = "probe";
            el.className = "sla sla-ok";
            // Half a minute of slack either way, so the minute shown is stable.
            el.dataset.slaDue = new Date(now + dueIn * hour + slack).toISOString();
            el.dataset.slaOpened = new Date(now - openedAgo * hour).toISOString();
            document.querySelector("main").append(el);
            document.dispatchEvent(new Event("htmx:afterSettle"));
        }""",
        [due_in_hours, opened_hours_ago],
    )

    probe = page.locator("#probe")
    expect(probe).to_have_text(text)
    expect(probe).to_have_class(f"sla {css_class}")
    assert errors == []  # no CSP violation, no script error
