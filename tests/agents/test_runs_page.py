"""System Ops pages: the runs list (filters, paging, CSV) and a run's page, who may read them and
who may clear a red flag or end a run from there. State is built through the agent API."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from agents.models import AgentRun, RunState
from approvals.models import Ticket, TicketStatus
from audit.models import AuditEvent
from optimization.services import manifest_sync
from tenants.models import Role
from tests.agents.run_api import (
    cost_blocked,
    gate,
    loop_blocked,
    post,
    qc,
    run_create,
    spend,
)
from tests.conftest import TEST_ACTOR, agent_headers

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(acme, make_member):
    return {role: make_member(f"acme-{role}", acme, role) for role in Role.values}


def as_role(client, staff, role):
    client.force_login(staff[role])
    return client


def runs_url(tenant="acme"):
    return reverse("agents:runs", args=[tenant])


def run_url(run_id="run-93ab", tenant="acme"):
    return reverse("agents:run", args=[tenant, run_id])


def csv_url(tenant="acme"):
    return reverse("agents:runs_csv", args=[tenant])


def written(run_id="run-93ab") -> dict:
    """What a refused action must leave as it was."""
    run = AgentRun.objects.get(run_id=run_id)
    return {
        "run": (
            run.state,
            run.estimated_cost_usd,
            run.tool_rounds,
            run.loop_block,
            run.cost_block,
        ),
        "tickets": sorted(Ticket.objects.values_list("public_id", "status")),
        "audit": AuditEvent.objects.count(),
    }


# --- Who may read ----------------------------------------------------------------------------
@pytest.mark.parametrize("role", [Role.PLANNER, Role.OPERATOR, Role.ADMIN, Role.LEGAL])
def test_every_internal_role_reads_the_runs_list_and_a_run(client, acme_headers, staff, role):
    loop_blocked(client, acme_headers)
    as_role(client, staff, role)

    listing = client.get(runs_url())
    page = client.get(run_url())

    assert listing.status_code == page.status_code == 200
    assert "<h1>Agent runs · Acme Retail</h1>" in listing.content.decode()
    assert 'aria-current="page">Runs' in listing.content.decode()
    assert "run-93ab" in page.content.decode()


def test_a_client_gets_a_404_on_every_system_ops_page(client, acme_headers, staff):
    loop_blocked(client, acme_headers)
    before = written()
    as_role(client, staff, Role.CLIENT)

    for url in (runs_url(), run_url(), csv_url()):
        assert client.get(url).status_code == 404, url
    assert client.post(run_url(), {"action": "end", "reason": "no"}).status_code == 404
    assert written() == before


def test_another_tenants_run_is_a_404(client, acme, globex, staff):
    run_create(client, agent_headers(globex), "globex-run")
    as_role(client, staff, Role.ADMIN)

    assert client.get(run_url("globex-run")).status_code == 404
    assert client.get(run_url("globex-run", tenant="globex")).status_code == 404
    assert client.get(runs_url("globex")).status_code == 404
    assert "globex-run" not in client.get(runs_url()).content.decode()


def test_an_unknown_run_is_a_404(client, acme, staff):
    as_role(client, staff, Role.OPERATOR)
    assert client.get(run_url("no-such-run")).status_code == 404
    assert client.get("/t/acme/runs/a%00b/").status_code == 404


# --- The list ----------------------------------------------------------------------------------
def test_the_list_shows_state_counters_costs_and_open_red_flags(client, acme_headers, staff):
    blocked = loop_blocked(client, acme_headers, "run-loop")
    cost_blocked(client, acme_headers, "run-cost", agent="creative-agent")
    run_create(client, acme_headers, "run-fine", model="claude-haiku")
    as_role(client, staff, Role.PLANNER)

    response = client.get(runs_url())
    page = response.content.decode()

    assert response.context["page"].paginator.count == 3
    rows = {row.run.run_id: row for row in response.context["rows"]}
    assert rows["run-loop"].run.state == RunState.BLOCKED
    assert [flag.type for flag in rows["run-loop"].red_flags] == ["A8"]
    assert [flag.type for flag in rows["run-cost"].red_flags] == ["A9"]
    assert rows["run-fine"].red_flags == []
    assert f'href="/tickets/{blocked.loop_ticket}/"' in page
    assert "tool round limit" in page
    assert '<span class="at-limit" title="at its limit">5 / 5</span>' in page
    assert "$6.50" in page and "3.3× the estimate" in page
    assert ">Running<" in page and ">Blocked<" in page


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"state": "blocked"}, {"run-loop", "run-cost"}),
        ({"state": "running"}, {"run-fine"}),
        ({"state": "ended"}, set()),
        ({"agent": "creative-agent"}, {"run-cost"}),
        ({"model": "claude-haiku"}, {"run-fine"}),
        ({"main_task": "BRIEF"}, {"run-cost"}),
        ({"state": "blocked", "agent": "reporting-agent"}, {"run-loop"}),
    ],
)
def test_the_filters_narrow_the_list(client, acme_headers, staff, query, expected):
    loop_blocked(client, acme_headers, "run-loop")
    cost_blocked(client, acme_headers, "run-cost", agent="creative-agent", main_task_id="brief-1")
    run_create(client, acme_headers, "run-fine", model="claude-haiku")
    as_role(client, staff, Role.OPERATOR)

    response = client.get(runs_url(), query)

    assert {row.run.run_id for row in response.context["rows"]} == expected


def test_an_ended_run_is_listed_as_ended(client, acme_headers, staff):
    loop_blocked(client, acme_headers)
    as_role(client, staff, Role.OPERATOR)
    client.post(run_url(), {"action": "end", "reason": "It loops on the same tool."})

    response = client.get(runs_url(), {"state": "ended"})

    assert [row.run.run_id for row in response.context["rows"]] == ["run-93ab"]
    assert response.context["rows"][0].red_flags == []


def test_the_list_pages_by_fifty_and_htmx_gets_the_region(client, acme_headers, staff):
    for n in range(55):
        run_create(client, acme_headers, f"run-{n:02d}")
    as_role(client, staff, Role.PLANNER)

    first = client.get(runs_url())
    second = client.get(runs_url(), {"page": 2}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="runs")

    assert len(first.context["rows"]) == 50
    assert first.context["rows"][0].run.run_id == "run-54"  # newest first
    region = second.content.decode()
    assert region.lstrip().startswith('<div id="runs"')
    assert region.count('data-testid="run-row"') == 5
    assert "run-04" in region and "run-00" in region and "run-05" not in region
    assert "Page 2 of 2" in region


def test_the_list_costs_the_same_queries_for_few_runs_or_many(
    client, acme_headers, staff, django_assert_max_num_queries
):
    loop_blocked(client, acme_headers, "run-a")
    as_role(client, staff, Role.OPERATOR)
    client.get(runs_url())  # the first visit of a tenant's page saves it in the session
    with django_assert_max_num_queries(8) as few:
        client.get(runs_url())
    few_runs = len(few.captured_queries)  # read now: the next request empties the query log

    for n in range(30):
        run_create(client, acme_headers, f"run-more-{n}", agent=f"agent-{n % 4}")
    cost_blocked(client, acme_headers, "run-b")
    with django_assert_max_num_queries(few_runs):
        response = client.get(runs_url(), {"state": "blocked"})
    assert len(response.context["rows"]) == 2


# --- CSV -----------------------------------------------------------------------------------------
def read_csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_the_csv_exports_what_the_filters_show(client, acme_headers, staff):
    loop_blocked(client, acme_headers, "run-loop")
    cost_blocked(client, acme_headers, "run-cost", agent="creative-agent")
    run_create(client, acme_headers, "=HYPERLINK(1)")
    as_role(client, staff, Role.LEGAL)

    everything = client.get(csv_url())
    blocked = client.get(csv_url(), {"state": "blocked", "agent": "creative-agent"})

    assert everything["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="runs-acme-' in everything["Content-Disposition"]
    rows = read_csv(everything)
    assert {row["run_id"] for row in rows} == {"run-loop", "run-cost", "'=HYPERLINK(1)"}
    [cost] = read_csv(blocked)
    run = AgentRun.objects.get(run_id="run-cost")
    assert cost == {
        **cost,
        "run_id": "run-cost",
        "state": "blocked",
        "block_reason": "cost_guard",
        "agent": "creative-agent",
        "llm_calls": "3",
        "input_tokens": "3600",
        "output_tokens": "900",
        "estimated_cost_usd": "2.000000",
        "actual_cost_usd": "6.500000",
        "open_red_flags": f"A9:{run.cost_ticket}",
        "ended_at": "",
    }
    assert cost["created_at"].endswith("+00:00")
    [loop] = [row for row in rows if row["run_id"] == "run-loop"]
    assert (loop["tool_rounds"], loop["global_steps"], loop["block_reason"]) == (
        "5",
        "5",
        "loop_limit:tool_round",
    )


def test_the_list_links_its_csv_with_the_same_filters(client, acme_headers, staff):
    run_create(client, acme_headers)
    as_role(client, staff, Role.PLANNER)
    page = client.get(runs_url(), {"state": "running", "agent": "reporting-agent"}).content
    assert b'href="/t/acme/runs/export.csv?state=running&amp;agent=reporting-agent"' in page


def test_a_csv_with_an_unreadable_filter_exports_nothing(client, acme_headers, staff):
    run_create(client, acme_headers)
    as_role(client, staff, Role.PLANNER)
    response = client.get(csv_url(), {"state": "asleep"})
    assert response.status_code == 400
    assert b"Nothing exported" in response.content


# --- The run page -------------------------------------------------------------------------------
def test_the_run_page_shows_its_timeline_limits_cost_reservations_and_qc(
    client, acme_headers, staff
):
    run_create(client, acme_headers)
    for kind in ("step", "tool_round", "tool_round", "qc_correction"):
        assert gate(client, acme_headers, "run-93ab", kind).status_code == 200
    held = gate(client, acme_headers, "run-93ab", "llm_call", expected_cost_usd="0.40").json()
    spend(client, acme_headers, "run-93ab", "0.35", reservation=held["reservation"])
    gate(client, acme_headers, "run-93ab", "llm_call", expected_cost_usd="0.50")
    qc(client, acme_headers, "run-93ab", "draft-summary", False, codes=["missing_kpi"])
    qc(client, acme_headers, "run-93ab", "draft-summary", True, attempt=2)
    qc(client, acme_headers, "run-93ab", "charts", True)
    as_role(client, staff, Role.PLANNER)

    response = client.get(run_url())
    page = response.content.decode()

    assert response.status_code == 200
    assert "<title>Run run-93ab · Agent runs · Acme Retail · Human Touch</title>" in page
    calls, total = response.context["calls"], response.context["call_count"]
    assert total == 6 and [c.kind for c in calls][:2] == ["llm_call", "llm_call"]
    assert "Tool round" in page and "QC correction" in page
    counters = {c.column: (c.count, c.ceiling) for c in response.context["counters"]}
    assert counters["tool_rounds"] == (2, 5)
    assert counters["global_steps"] == (4, 8)
    assert counters["steps"] == (1, None)
    cost = response.context["cost"]
    assert (cost.estimate, cost.actual, cost.trip_line) == (
        Decimal("2.000000"),
        Decimal("0.350000"),
        Decimal("6.00000000"),
    )
    assert cost.reserved == Decimal("0.500000")
    assert cost.headroom == Decimal("5.15")
    assert 'data-testid="cost-chart-wide"' in page and 'data-testid="cost-chart-narrow"' in page
    assert "actual $0.35" in page and "trip line $6" in page
    assert [r.status for r in response.context["reservations"]] == ["open", "settled"]
    assert ">settled<" in page and ">open<" in page
    qc_view = response.context["qc"]
    assert [(loop.subtask_id, loop.attempts, loop.passed) for loop in qc_view.loops] == [
        ("charts", 1, True),
        ("draft-summary", 2, True),
    ]
    assert qc_view.failure_codes == [("missing_kpi", 1)]
    assert qc_view.first_pass == 1
    assert "<code>missing_kpi</code>" in page
    assert 'data-testid="run-blocked"' not in page
    assert "No red flag on this run." in page


def test_an_open_reservation_past_its_15_minutes_reads_expired(client, acme_headers, staff):
    run_create(client, acme_headers)
    gate(client, acme_headers, "run-93ab", "llm_call", expected_cost_usd="0.40")
    as_role(client, staff, Role.OPERATOR)
    assert ">open<" in client.get(run_url()).content.decode()

    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        page = client.get(run_url()).content.decode()

    assert ">expired<" in page and ">open<" not in page


def test_the_run_page_lists_its_red_flags_and_its_change_sets(client, acme, acme_v1, staff):
    headers = agent_headers(acme)
    cost_blocked(client, headers, "run-other")
    with time_machine.travel("2026-11-10 10:00Z", tick=False):
        manifest_sync(
            tenant=acme,
            track_key="always_on",
            entries=[
                {
                    "platform": "google_ads",
                    "entity_id": "search-brand",
                    "channel": "search",
                    "plan_version": 1,
                    "state": {"daily_budget": "300.00", "status": "active"},
                }
            ],
            actor=TEST_ACTOR,
            launched_by="tests",
        )
        run_create(client, headers)
        body = {
            "change_set_id": "cs-from-run",
            "track": "always_on",
            "run_id": "run-93ab",
            "agent": "reporting-agent",
            "reason": "search CPA under target",
            "items": [
                {"entity_id": "search-brand", "field": "daily_budget", "before": 300, "after": 310}
            ],
        }
        assert post(client, headers, "/change-sets", body).status_code == 201
        for _ in range(6):
            gate(client, headers, "run-93ab", "orchestrator_retry")
    as_role(client, staff, Role.OPERATOR)

    response = client.get(run_url())
    page = response.content.decode()

    [a8] = response.context["tickets"]
    assert a8.type == "A8" and a8.run_id == "run-93ab"
    assert f'href="/tickets/{a8.public_id}/"' in page
    assert "orchestrator retry limit, attempt 2" in page
    [change_set] = response.context["change_sets"]
    assert (change_set["change_set_id"], change_set["track"], change_set["items"]) == (
        "cs-from-run",
        "always_on",
        1,
    )
    assert change_set["applied"]
    assert "cs-from-run" in page and ">Applied<" in page
    assert "run-other" not in page


# --- Actions ------------------------------------------------------------------------------------
@pytest.mark.parametrize("role", [Role.PLANNER, Role.LEGAL])
def test_only_operators_and_admins_see_and_use_the_actions(client, acme_headers, staff, role):
    loop_blocked(client, acme_headers)
    before = written()
    as_role(client, staff, role)

    page = client.get(run_url()).content.decode()
    refused = client.post(run_url(), {"action": "clear_a8", "reason": "let it go on"})

    assert 'data-testid="run-blocked"' in page
    assert "An operator or admin clears it or ends the run; you hold the" in page
    assert 'name="action"' not in page
    assert refused.status_code == 403
    assert written() == before


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.ADMIN])
def test_an_operator_or_admin_clears_the_a8_and_the_run_goes_on(client, acme_headers, staff, role):
    run = loop_blocked(client, acme_headers)
    as_role(client, staff, role)
    page = client.get(run_url()).content.decode()
    assert f"Clear {run.loop_ticket}: let run-93ab go on" in page

    response = client.post(
        run_url(), {"action": "clear_a8", "reason": "The tool was down; it is back."}
    )

    assert response.status_code == 302 and response["Location"] == run_url()
    run.refresh_from_db()
    assert (run.state, run.tool_rounds) == (RunState.RUNNING, 0)
    ticket = Ticket.objects.get(public_id=run.loop_ticket)
    assert ticket.status == TicketStatus.APPROVED
    assert ticket.resolution_note == "The tool was down; it is back."
    assert gate(client, acme_headers, "run-93ab", "tool_round").status_code == 200
    assert "may go on" in client.get(run_url()).content.decode()


def test_an_operator_clears_the_a9_with_a_raised_estimate(client, acme_headers, staff):
    run = cost_blocked(client, acme_headers)
    as_role(client, staff, Role.OPERATOR)
    page = client.get(run_url()).content.decode()
    assert f"Clear {run.cost_ticket} and raise the estimate" in page
    assert "New estimate in USD (more than $2)" in page

    response = client.post(
        run_url(),
        {"action": "clear_a9", "estimated_cost_usd": "4.50", "reason": "Longer brief."},
    )

    assert response.status_code == 302
    run.refresh_from_db()
    assert (run.state, run.estimated_cost_usd) == (RunState.RUNNING, Decimal("4.500000"))
    assert Ticket.objects.get(public_id=run.cost_ticket).status == TicketStatus.APPROVED
    assert AuditEvent.objects.filter(action="run.estimate_raised").count() == 1
    assert gate(client, acme_headers, "run-93ab", "llm_call").status_code == 200
    after = client.get(run_url())
    assert after.context["cost"].raised
    assert "estimate $4.50 (raised)" in after.content.decode()


def test_ending_the_run_rejects_its_red_flag(client, acme_headers, staff):
    run = loop_blocked(client, acme_headers)
    as_role(client, staff, Role.ADMIN)

    response = client.post(run_url(), {"action": "end", "reason": "It loops on one tool."})

    assert response.status_code == 302
    run.refresh_from_db()
    assert run.state == RunState.ENDED
    assert Ticket.objects.get(public_id=run.loop_ticket).status == TicketStatus.REJECTED
    assert gate(client, acme_headers, "run-93ab", "step").json()["reason"] == "run_ended"
    page = client.get(run_url()).content.decode()
    assert ">Ended<" in page and 'data-testid="run-blocked"' not in page


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"estimated_cost_usd": "2.00"}, "A raised estimate is more than $2."),
        ({"estimated_cost_usd": "1"}, "A raised estimate is more than $2."),
        ({"estimated_cost_usd": "lots"}, "estimated_cost_usd must be an amount in USD."),
        ({"estimated_cost_usd": "NaN"}, "must be a finite amount of USD"),
        ({"estimated_cost_usd": "-5"}, "must be a finite amount of USD"),
        ({"estimated_cost_usd": ""}, "Give the raised estimate in USD"),
        ({"estimated_cost_usd": "4\x00"}, "Null characters are not allowed."),
        ({"reason": ""}, "Say why: the reason goes on the ticket"),
        ({"reason": "   "}, "Say why: the reason goes on the ticket"),
        ({"reason": "why\x00not"}, "NUL"),
        ({"reason": "x" * 2001}, "at most 2000 characters"),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_a_bad_a9_clearance_re_renders_with_its_message_and_writes_nothing(
    client, acme_headers, staff, fields, message
):
    cost_blocked(client, acme_headers)
    before = written()
    as_role(client, staff, Role.OPERATOR)
    data = {"action": "clear_a9", "estimated_cost_usd": "4.50", "reason": "Longer brief.", **fields}

    response = client.post(run_url(), data)

    page = response.content.decode()
    assert response.status_code == 422
    assert message in page, page[page.find("action-error") - 200 :][:1500]
    assert "Nothing was changed." in page
    assert written() == before


@pytest.mark.parametrize("action", ["clear_a8", "end"])
@pytest.mark.parametrize("reason", ["", "  ", "no\x00pe"])
def test_an_a8_decision_without_a_usable_reason_writes_nothing(
    client, acme_headers, staff, action, reason
):
    loop_blocked(client, acme_headers)
    before = written()
    as_role(client, staff, Role.OPERATOR)

    response = client.post(run_url(), {"action": action, "reason": reason})

    assert response.status_code == 422
    assert 'data-testid="action-error"' in response.content.decode()
    assert written() == before


def test_a_red_flag_someone_else_decided_says_so_and_writes_nothing_more(
    client, acme_headers, staff
):
    loop_blocked(client, acme_headers)
    as_role(client, staff, Role.OPERATOR)
    client.post(run_url(), {"action": "clear_a8", "reason": "first"})
    before = written()

    again = client.post(run_url(), {"action": "clear_a8", "reason": "second"})
    bogus = client.post(run_url(), {"action": "reboot", "reason": "x"})

    assert again.status_code == 409
    assert "has no open A8 to decide" in again.content.decode()
    assert bogus.status_code == 422
    assert "Select a valid choice" in bogus.content.decode()
    assert written() == before


# --- Links from the dashboard and the ticket page ----------------------------------------------
def test_the_red_flag_lane_and_the_ticket_page_link_to_the_run(client, acme_headers, staff):
    run = cost_blocked(client, acme_headers)
    as_role(client, staff, Role.OPERATOR)

    dashboard = client.get(reverse("dashboard")).content.decode()
    ticket = client.get(reverse("ticket", args=[run.cost_ticket])).content.decode()

    link = f'href="{run_url()}"'
    assert link in dashboard[dashboard.find("redflag-lane") :][:5000]
    assert link in ticket


def test_the_run_page_and_its_chart_need_no_inline_style_or_script(client, acme_headers, staff):
    cost_blocked(client, acme_headers)
    as_role(client, staff, Role.OPERATOR)
    response = client.get(run_url())
    page = response.content.decode()

    assert "<svg" in page
    assert " style=" not in page and "<style" not in page
    assert "<script>" not in page
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
