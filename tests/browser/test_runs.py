"""System Ops in Chromium: an operator follows an A9 from the dashboard to the run's page, reads
estimated against actual on the chart, clears it with a raised estimate, and the run's next gate
call is allowed. Runs are built through the agent API, as agents build them."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from agents.models import AgentRun, RunState
from approvals.models import Ticket, TicketStatus
from tenants.models import Role
from tenants.services import tenant_policy_update
from tests.agents.run_api import gate, qc, run_create, spend
from tests.conftest import TEST_ACTOR, agent_headers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(acme, make_member):
    """Three runs of the last hour, built through the agent API a few minutes apart (so the
    chart reads as a run does): one tripped the Cost Guard, one hit its tool-round limit and has
    a QC grain under the floor, one runs."""
    operator = make_member("acme-operator", acme, Role.OPERATOR)
    make_member("acme-planner", acme, Role.PLANNER)
    # Two results make a sample here, so the dashboard's QC panel has a grain under the floor.
    tenant_policy_update(tenant=acme, actor=TEST_ACTOR, changes={"min_sample_global": 2})
    headers = agent_headers(acme, "creative-agent")
    api = Client()
    with time_machine.travel(timezone.now() - timedelta(minutes=55), tick=False) as clock:
        run_create(
            api, headers, "run-brief-7790", agent="creative-agent", main_task_id="creative-brief"
        )
        run_create(api, headers, "run-report-7781", main_task_id="weekly-report")
        run_create(api, headers, "run-bids-7802", agent="bid-optimizer", main_task_id="bids")
        # $0.80 + $1.10 + $1.60 + $3.00 = $6.50: the last report crosses the $6 line.
        for cost, tokens in (("0.80", 2400), ("1.10", 3300), ("1.60", 4800), ("3.00", 9000)):
            clock.shift(timedelta(minutes=6))
            assert gate(api, headers, "run-brief-7790", "llm_call").status_code == 200
            spend(api, headers, "run-brief-7790", cost, tokens, tokens // 4)
            gate(api, headers, "run-report-7781", "tool_round")
            gate(api, headers, "run-bids-7802", "step")
        gate(api, headers, "run-report-7781", "tool_round")
        clock.shift(timedelta(minutes=4))
        assert gate(api, headers, "run-report-7781", "tool_round").status_code == 423
        for _ in range(2):
            qc(api, headers, "run-report-7781", "draft-summary", False, codes=["missing_kpi"])
        gate(api, headers, "run-bids-7802", "llm_call")
        spend(api, headers, "run-bids-7802", "0.42")
    return operator, headers, api


def _narrow(page, screenshot, name):
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(f"{name}-390")
    page.set_viewport_size({"width": 1280, "height": 900})


def test_an_operator_clears_an_a9_with_a_raised_estimate_and_the_run_goes_on(
    page, screenshot, browser_login, world
):
    operator, headers, api = world
    run = AgentRun.objects.get(run_id="run-brief-7790")
    browser_login(page, "acme-operator")

    lane = page.get_by_test_id("redflag-lane")
    a9 = lane.get_by_test_id("redflag-a9")
    expect(a9).to_contain_text("Estimated $2")
    expect(a9).to_contain_text("Actual $6.50")
    expect(page.get_by_test_id("qc-alerts")).to_contain_text("draft-summary")
    screenshot("sysops-dashboard-1280")
    _narrow(page, screenshot, "sysops-dashboard")

    a9.get_by_role("link", name=run.cost_ticket).click()
    expect(page.get_by_role("heading", name="Cost Guard: run-brief-7790")).to_be_visible()
    page.get_by_test_id("ticket-run").click()

    expect(page.get_by_role("heading", name="Run run-brief-7790")).to_be_visible()
    expect(page.get_by_test_id("run-state")).to_have_text("Blocked")
    chart = page.get_by_test_id("cost-chart-wide")
    expect(chart).to_be_visible()
    expect(chart.locator("text", has_text="actual $6.50")).to_be_visible()
    expect(chart.locator("text", has_text="estimate $2")).to_be_visible()
    expect(chart.locator("text", has_text="trip $6")).to_be_visible()
    expect(page.get_by_test_id("cost-figures")).to_contain_text("$6.50")
    screenshot("sysops-run-blocked-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.get_by_test_id("cost-chart-narrow")).to_be_visible()
    expect(chart).to_be_hidden()
    screenshot("sysops-run-blocked-390")
    page.set_viewport_size({"width": 1280, "height": 900})

    form = page.get_by_test_id("clear-a9-form")
    form.get_by_label("New estimate in USD (more than $2)").fill("2.00")
    form.get_by_label("Reason (on the ticket and the audit trail)").fill("The brief grew.")
    form.get_by_role("button", name=f"Clear {run.cost_ticket} and raise the estimate").click()
    expect(page.get_by_test_id("action-error")).to_contain_text(
        "A raised estimate is more than $2."
    )
    assert AgentRun.objects.get(pk=run.pk).state == RunState.BLOCKED

    form = page.get_by_test_id("clear-a9-form")
    form.get_by_label("New estimate in USD (more than $2)").fill("4.50")
    form.get_by_role("button", name=f"Clear {run.cost_ticket} and raise the estimate").click()

    expect(page.get_by_text("Cleared the Cost Guard on run-brief-7790")).to_be_visible()
    expect(page.get_by_test_id("run-state")).to_have_text("Running")
    expect(page.get_by_test_id("cost-figures")).to_contain_text("$13.50")  # the new trip line
    # An approved red flag reads "Cleared", as its button said.
    expect(page.get_by_test_id("run-tickets")).to_contain_text("Cleared")
    run.refresh_from_db()
    assert run.estimated_cost_usd == Decimal("4.5")
    assert Ticket.objects.get(public_id=run.cost_ticket).status == TicketStatus.APPROVED

    answer = gate(api, headers, "run-brief-7790", "llm_call", expected_cost_usd="1.00")
    assert answer.status_code == 200, answer.content
    assert answer.json()["allowed"] is True

    page.reload()
    expect(page.get_by_test_id("gate-calls")).to_contain_text("allowed")
    screenshot("sysops-run-cleared-1280")
    _narrow(page, screenshot, "sysops-run-cleared")


def test_a_planner_reads_the_runs_list_and_filters_it(page, screenshot, browser_login, world):
    browser_login(page, "acme-planner")
    page.goto("/t/acme/runs/")
    expect(page.get_by_role("heading", name="Agent runs · Acme Retail")).to_be_visible()
    expect(page.get_by_test_id("runs-count")).to_have_text("3 runs")
    screenshot("sysops-runs-1280")
    _narrow(page, screenshot, "sysops-runs")

    page.get_by_label("State").select_option("blocked")  # htmx refreshes the list on change
    expect(page.get_by_test_id("runs-count")).to_have_text("2 runs match these filters")
    assert "state=blocked" in page.url
    expect(page.get_by_test_id("runs-table")).not_to_contain_text("run-bids-7802")

    page.get_by_role("link", name="run-report-7781").click()
    expect(page.get_by_test_id("run-blocked")).to_contain_text("tool round limit")
    expect(page.get_by_test_id("no-actions")).to_be_visible()
    expect(page.get_by_test_id("qc-loops")).to_contain_text("missing_kpi")
    screenshot("sysops-run-a8-planner-1280")
