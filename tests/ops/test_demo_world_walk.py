"""The demo world has a history (issue 18 item 1): seed_demo tells eight weeks of life under a
moving clock, and every red flag, chart and figure of it walks back to the rows behind it.

Seeded on Monday 7 December 2026, 09:00 in Berlin, in v3's December flights (the day of the
issue); each claim is checked against the rows, never against the seed's own constants.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Sum

from agents.models import AgentRun, GateCall, QcResult, SpendReport
from agents.selectors import a8_runs_by_failure_code
from agents.views_queries import open_red_flags, run_cost
from approvals.models import Ticket, TicketStatus
from audit.models import AuditEvent
from metrics import selectors as metrics
from metrics.periods import ranges_for
from metrics.report import weekly_report
from optimization.models import AppliedChange, PlatformObservation, Reconciliation
from plans.models import PlanVersion, Track
from tenants.models import Tenant

pytestmark = pytest.mark.django_db
BERLIN = ZoneInfo("Europe/Berlin")
DEMO_NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # Monday, 09:00 in Berlin


@pytest.fixture
def world():
    with time_machine.travel(DEMO_NOW, tick=True) as clock:
        call_command("seed_demo", stdout=StringIO())
        yield clock


def acme() -> Tenant:
    return Tenant.objects.get(slug="acme")


def test_the_history_spans_eight_weeks_of_working_hours(world):
    stamps = list(
        AuditEvent.objects.filter(tenant__slug="acme").values_list("created_at", flat=True)
    )
    assert min(stamps) <= DEMO_NOW - timedelta(weeks=7)
    days = {stamp.astimezone(BERLIN).date() for stamp in stamps}
    assert len(days) >= 15
    # People and agents act in working hours on working days, save the morning's data import.
    people = AuditEvent.objects.filter(tenant__slug="acme", actor_type="user")
    for stamp in people.values_list("created_at", flat=True):
        local = stamp.astimezone(BERLIN)
        assert local.weekday() < 5 and 8 <= local.hour < 18, local
    # One tenant's chain tells the story in order.
    ordered = list(
        AuditEvent.objects.filter(tenant__slug="acme").order_by("seq").values_list("created_at")
    )
    assert ordered == sorted(ordered)
    out = StringIO()
    call_command("verify_audit", stdout=out)
    assert out.getvalue().startswith("ok:")


def test_versions_were_drafted_approved_and_superseded_on_different_days(world):
    versions = PlanVersion.objects.filter(tenant__slug="acme", track__key="always_on")
    for version in versions.filter(number__in=[1, 2, 3]):
        assert version.approved_at - version.created_at >= timedelta(hours=20)
    drafted = sorted(versions.values_list("created_at", flat=True))
    assert drafted[-1] - drafted[0] >= timedelta(weeks=5)


def test_the_a9_comes_from_run_93abs_own_spend_reports(world):
    run = AgentRun.objects.get(tenant__slug="acme", run_id="run-93ab")
    (flag,) = [f for f in open_red_flags(run) if f.type == "A9"]
    assert Ticket.objects.get(public_id=flag.ticket).type == "A9"
    reports = SpendReport.objects.filter(run=run)
    assert run.actual_cost_usd == reports.aggregate(s=Sum("cost_usd"))["s"] == Decimal("2.61")
    assert run.actual_cost_usd >= run.estimated_cost_usd * acme().policy.trip_multiplier
    llm_gates = GateCall.objects.filter(run=run, kind="llm_call", allowed=True).count()
    assert run.llm_calls == llm_gates == reports.count() == 3  # not "LLM calls 0" beside $2.61
    tokens = reports.aggregate(i=Sum("input_tokens"), o=Sum("output_tokens"))
    assert tokens["i"] == 411_000


def test_the_a8_comes_from_run_7c1es_refused_correction_and_its_qc_failures(world):
    run = AgentRun.objects.get(tenant__slug="acme", run_id="run-7c1e")
    (flag,) = [f for f in open_red_flags(run) if f.type == "A8"]
    ceiling = acme().policy.qc_correction_max
    corrections = GateCall.objects.filter(run=run, kind="qc_correction")
    assert corrections.filter(allowed=True).count() == run.qc_corrections == ceiling
    assert corrections.filter(allowed=False).count() == 1  # the third, refused
    results = QcResult.objects.filter(run=run).order_by("attempt")
    # The counter says QC 2/2 and three attempts failed: each correction followed a failure.
    assert [r.attempt for r in results] == [1, 2, 3]
    assert not any(r.passed for r in results)
    assert Ticket.objects.get(public_id=flag.ticket).created_at >= results.last().created_at
    # The metric files the demo's A8 under the failure code the QC results carry.
    tenant = acme()
    ranges = ranges_for(first=None, last=None, today=tenant.today(), zone=BERLIN)
    scope = metrics.Scope(tenant_ids=(tenant.id,), ranges=ranges, now=DEMO_NOW)
    rows = a8_runs_by_failure_code(tenant_ids=[tenant.id], ranges=scope.compared)
    by_code = {r["code"]: r["a8"] for r in rows if r["period"] == metrics.CURRENT}
    assert by_code.get("tone_off_brand") == 1
    assert by_code.get(metrics.NO_FAILURE, 0) == 0


def test_the_qc_alert_comes_from_enough_failing_verdicts_in_one_window(world):
    run = AgentRun.objects.get(tenant__slug="acme", run_id="run-5521")
    verdicts = QcResult.objects.filter(run=run, subtask_id="health-claims")
    stamps = list(verdicts.values_list("created_at", flat=True))
    policy = acme().policy
    assert len(stamps) >= policy.min_sample_global
    assert max(stamps) - min(stamps) < timedelta(hours=policy.window_hours)
    assert verdicts.filter(passed=True).count() < policy.success_floor * len(stamps)


def test_the_a7_claims_opened_day_is_its_audited_day(world):
    for ticket in Ticket.objects.filter(tenant__slug="acme", dedupe_key__startswith="demo:"):
        opened = AuditEvent.objects.get(
            tenant=ticket.tenant, action="ticket.opened", resource_id=ticket.public_id
        )
        assert abs(opened.created_at - ticket.created_at) < timedelta(seconds=5)
    claim = Ticket.objects.get(dedupe_key="demo:a7-health-claim")
    assert claim.status == TicketStatus.OPEN and claim.sla_due_at < DEMO_NOW  # overdue now
    assert AgentRun.objects.filter(tenant=claim.tenant, run_id=claim.run_id).exists()


def test_the_a6_comes_from_a_real_observation(world):
    (a6,) = Ticket.objects.filter(tenant__slug="acme", type="A6")
    reconciliation = Reconciliation.objects.get(ticket=a6.public_id)
    observation = PlatformObservation.objects.get(manifest_entry=reconciliation.manifest_entry)
    assert str(observation.daily_budget) == reconciliation.differences["daily_budget"]["platform"]


def test_the_cost_charts_points_are_the_runs_spend_reports(world):
    tenant = acme()
    for run in AgentRun.objects.filter(tenant=tenant):
        reports = list(SpendReport.objects.filter(run=run).order_by("at", "id"))
        view = run_cost(run, tenant.policy, tz=BERLIN)
        assert view.report_count == len(reports)
        running = Decimal(0)
        for report in reports:
            running += report.cost_usd
            assert report.actual_after_usd == running
        assert view.actual == running
        if len(reports) > 1:  # spread in time, not one vertical jump
            assert reports[-1].at - reports[0].at >= timedelta(minutes=5)


def test_time_to_approve_is_the_tickets_own_waits(world):
    tenant = acme()
    ranges = ranges_for(
        first=date(2026, 10, 8), last=tenant.today(), today=tenant.today(), zone=BERLIN
    )
    scope = metrics.Scope(tenant_ids=(tenant.id,), ranges=ranges, now=DEMO_NOW)
    rows = [r for r in metrics.time_to_approve(scope) if r["period"] == metrics.CURRENT]
    approved = Ticket.objects.filter(tenant=tenant, status=TicketStatus.APPROVED).exclude(type="A6")
    assert sum(r["n"] for r in rows) == approved.count() > 0
    for row in rows:
        waits = [
            (t.resolved_at - t.created_at).total_seconds()
            for t in approved.filter(type=row["type"])
        ]
        assert row["n"] == len(waits)
        assert float(row["mean"]) == pytest.approx(sum(waits) / len(waits), abs=1)
        assert float(row["mean"]) >= 600  # not "0m"


def test_last_weeks_report_holds_the_weeks_applied_changes(world):
    track = Track.objects.get(tenant__slug="acme", key="always_on")
    week_start = date(2026, 11, 30)
    report = weekly_report(track=track, week_start=week_start, client_safe=False)
    start = datetime(2026, 11, 30, tzinfo=BERLIN)
    rows = AppliedChange.objects.filter(
        track=track, applied_at__gte=start, applied_at__lt=start + timedelta(days=7)
    )
    assert len(report.applied) == rows.count() > 0
    assert {line.change_set_id for line in report.applied} == set(
        rows.values_list("change_set__change_set_id", flat=True)
    )
