"""The dashboard, ticket page and client portal, clicked through in Chromium by their users."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from approvals.models import Ticket, TicketStatus
from approvals.services import ticket_decide, ticket_override
from audit.actors import Actor
from plans.services import plan_version_create_draft, plan_version_submit
from tenants.demo import DEMO_PASSWORD
from tenants.models import Role
from tests.approvals.factories import open_ticket
from tests.plans.plan_samples import changed, search_up_12_pct, winter_plan

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

    inbox.get_by_role("link", name="Search daily budget over guardrail").click()
    expect(page.get_by_role("heading", name="Search daily budget over guardrail")).to_be_visible()
    decision = page.locator("#decision")
    expect(decision.get_by_role("heading")).to_have_text("Decision: A3 for change set cs-2f9a41c7")
    decision.get_by_role("button", name="Approve", exact=True).click()
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
    expect(page.get_by_text("Thank you. You approved")).to_be_visible()
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
    decision = page.locator("#decision")
    expect(decision.get_by_role("heading")).to_have_text("Decision: A5 for v12")
    decision.get_by_role("button", name="Request changes", exact=True).click()

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


@pytest.fixture
def pending_revise(acme, acme_v1, make_member):
    """v2 of acme's always-on plan, drafted by alice: search +12% and new messaging, pending its
    A5 (planner and client) and its A7 (planner and legal)."""
    people = {
        "author": make_member("alice", acme, Role.PLANNER),
        Role.PLANNER: make_member("pete", acme, Role.PLANNER),
        Role.LEGAL: make_member("lena", acme, Role.LEGAL),
        Role.CLIENT: make_member("carol", acme, Role.CLIENT),
    }

    def search_up_and_new_words(plan):
        search_up_12_pct(plan)
        plan["messaging"] = "Warmer than ever: the winter sale goes on."

    draft = plan_version_create_draft(
        tenant=acme,
        track_key="always_on",
        kind="revise",
        payload=changed(winter_plan(), search_up_and_new_words),
        actor=Actor.for_user(people["author"]),
        reason="search converts well",
    )
    plan_version_submit(version=draft, actor=Actor.for_user(people["author"]))
    tickets = {t.type: t for t in Ticket.objects.filter(plan_version=draft.number)}
    return draft, people, tickets


def test_a_request_for_changes_warns_then_withdraws_legals_a7_which_links_back(
    page, screenshot, browser_login, pending_revise
):
    version, people, tickets = pending_revise
    a5, a7 = tickets["A5"], tickets["A7"]
    ticket_decide(ticket=a7, actor=Actor.for_user(people[Role.PLANNER]), verdict="approve")
    browser_login(page, "pete")
    page.goto(f"/tickets/{a5.public_id}/")
    warning = f"also withdraws {a7.public_id} (legal's review)."
    expect(page.get_by_test_id("withdraw-warning")).to_have_text(
        f"Rejecting or requesting changes {warning}"
    )
    screenshot("decisions-request-changes-warning-1280")
    _narrow(page, screenshot, "decisions-request-changes-warning")

    page.get_by_label("Comment (optional; the requester sees it)").fill("Split it by month.")
    decision = page.locator("#decision")
    expect(decision.get_by_role("heading")).to_have_text(f"Decision: A5 for v{version.number}")
    decision.get_by_role("button", name="Request changes", exact=True).click()
    confirm = page.get_by_test_id("confirm")  # swapped in by htmx: nothing written yet
    expect(confirm).to_contain_text(f"This {warning}")
    assert Ticket.objects.get(pk=a7.pk).status == TicketStatus.OPEN
    screenshot("decisions-request-changes-confirm-1280")
    _narrow(page, screenshot, "decisions-request-changes-confirm")
    expect(decision.get_by_role("heading")).to_have_text(f"Decision: A5 for v{version.number}")
    confirm.get_by_role("button", name="Confirm: request changes", exact=True).click()

    done = page.get_by_test_id("decision-done")
    expect(done).to_have_text(
        f"You requested changes on {a5.public_id} as planner: v{version.number} is back in "
        f"draft. {a7.public_id} (legal's review) was withdrawn with it."
    )
    expect(page.locator("#decision").get_by_test_id("status")).to_have_text("Changes requested")
    screenshot("decisions-request-changes-done-1280")

    page.get_by_role("button", name="Log out").click()
    browser_login(page, "lena")
    page.goto(f"/tickets/{a7.public_id}/")
    withdrawn = page.get_by_test_id("cancelled-by")
    expect(withdrawn).to_contain_text(f"Withdrawn because {a5.public_id} was sent back for changes")
    expect(withdrawn).to_contain_text("Split it by month.")
    expect(page.locator("#decision").get_by_test_id("slot").nth(1)).to_contain_text("withdrawn")
    screenshot("decisions-a7-withdrawn-1280")
    _narrow(page, screenshot, "decisions-a7-withdrawn")
    withdrawn.get_by_role("link", name=a5.public_id).click()
    expect(page).to_have_url(f"{page.url.split('/tickets/')[0]}/tickets/{a5.public_id}/")


def test_a_client_rejects_with_a_reason_after_a_confirmation_and_sees_it_quoted(
    page, screenshot, browser_login, pending_revise
):
    version, people, tickets = pending_revise
    a5 = tickets["A5"]
    browser_login(page, "carol")
    item = page.get_by_test_id("portal-item")
    expect(item.get_by_role("heading", name="Always-on plan, December update")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("always_on")
    expect(page.locator("main")).not_to_contain_text("threshold")
    item.get_by_role("link", name="Review and decide").click()
    screenshot("portal-revise-item-1280")
    _narrow(page, screenshot, "portal-revise-item")

    page.get_by_role("button", name="Reject budget increase").click()
    confirm = page.get_by_test_id("confirm")
    expect(confirm).to_contain_text("You are about to reject Always-on plan, December update")
    assert not a5.decisions.exists()  # the first Reject only asks
    screenshot("portal-reject-confirm-1280")
    _narrow(page, screenshot, "portal-reject-confirm")
    confirm.get_by_label("Why do you reject it?").fill("Not before the January figures.")
    confirm.get_by_role("button", name="Confirm: reject budget increase").click()

    expect(page.locator(".messages")).to_contain_text(
        "Thank you. You rejected Always-on plan, December update — “Search budget up 12% "
        "(€40,000 → €44,800) from 1 Dec."
    )
    expect(page.locator(".messages")).to_contain_text(
        "Your reason: “Not before the January figures.”"
    )
    expect(page.get_by_test_id("portal-item")).to_have_count(0)  # nothing waits any more
    screenshot("portal-rejected-1280")
    _narrow(page, screenshot, "portal-rejected")
    assert Ticket.objects.get(pk=a5.pk).status == TicketStatus.REJECTED

    page.get_by_role("link", name="Your decisions").click()
    history = page.get_by_test_id("history")
    expect(history).to_contain_text("Always-on plan, December update")
    expect(history).to_contain_text("Not before the January figures.")
    screenshot("portal-history-1280")
    _narrow(page, screenshot, "portal-history")


def test_the_demo_clients_portal_reads_in_their_words(page, screenshot, browser_login):
    call_command("seed_demo")
    browser_login(page, "client", DEMO_PASSWORD)
    main = page.locator("main")
    expect(main.get_by_role("heading", name="Always-on plan, December update")).to_be_visible()
    expect(
        main.get_by_role("heading", name="Always-on plan: Social daily budget €300 → €345")
    ).to_be_visible()
    for word in ("always_on", "guardrail", "threshold", "demo-", "agent"):
        expect(main).not_to_contain_text(word)
    screenshot("portal-demo-home-1280")
    _narrow(page, screenshot, "portal-demo-home")

    page.get_by_role("link", name="Your decisions").click()
    expect(page.get_by_test_id("history")).to_contain_text("Always-on plan, December replan")
    screenshot("portal-demo-history-1280")
    _narrow(page, screenshot, "portal-demo-history")


def test_an_override_and_its_ticket_link_both_ways_and_a_cleared_a8_reads_cleared(
    page, screenshot, browser_login, world
):
    people, tickets = world
    override = ticket_override(
        ticket=tickets["a3"],
        actor=Actor.for_user(people["admin"]),
        reason="The client agreed on the phone.",
    )
    browser_login(page, "acme-operator")
    page.goto(f"/tickets/{tickets['a3'].public_id}/")
    overridden = page.get_by_test_id("overridden-by")
    expect(overridden).to_contain_text("The client agreed on the phone.")
    expect(page.locator("#decision").get_by_test_id("slot")).to_contain_text(
        f"overridden by {override.public_id}"
    )
    screenshot("decisions-overridden-1280")
    _narrow(page, screenshot, "decisions-overridden")
    overridden.get_by_role("link", name=override.public_id).click()
    expect(page.get_by_test_id("overrides")).to_contain_text(tickets["a3"].public_id)
    screenshot("decisions-a6-override-1280")
    page.get_by_test_id("subject-link").click()
    expect(page.get_by_test_id("overridden-by")).to_be_visible()

    page.goto(f"/tickets/{tickets['a8'].public_id}/")
    decision = page.locator("#decision")
    expect(decision.get_by_role("heading")).to_have_text("Decision: A8 for run-7781")
    decision.get_by_role("button", name="Clear", exact=True).click()
    expect(page.get_by_test_id("decision-done")).to_have_text(
        f"You cleared {tickets['a8'].public_id} as operator: it is cleared."
    )
    expect(page.locator("#decision").get_by_test_id("status")).to_have_text("Cleared")
    screenshot("decisions-a8-cleared-1280")
    _narrow(page, screenshot, "decisions-a8-cleared")
