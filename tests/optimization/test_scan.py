"""The revise-trigger scan: each of the five signals just under and just over its threshold, at
the window's edges and in the tenant's time zone; what it opens (one ticket, evidence, a draft
where the seed says so, never an approval); and idempotency — twice, at once, killed half way."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from approvals.models import Ticket, TicketStatus
from approvals.services import ticket_decide
from audit.actors import Actor
from optimization.models import Recommendation, RecommendationStatus
from optimization.services import (
    ChangeSetRequest,
    change_set_submit,
    performance_ingest,
    seasonal_change_set,
    triggers_scan,
)
from plans.models import PlanStatus, PlanVersion, Track
from tenants.models import Role, TenantPolicy
from tests.conftest import TEST_ACTOR

pytestmark = pytest.mark.django_db
AGENT = Actor.service("optimizer")


@pytest.fixture
def no_client_sign_off(live):
    TenantPolicy.objects.filter(tenant=live).update(client_must_approve_budget_increase=False)


def approve(change_set, user) -> None:
    ticket = Ticket.objects.get(public_id=change_set.ticket)
    ticket_decide(ticket=ticket, actor=Actor.for_user(user), verdict="approve")


def move(tenant, entity_id, before, after, operator=None):
    change_set = change_set_submit(
        tenant=tenant,
        request=ChangeSetRequest(
            change_set_id=f"cs-{uuid.uuid4().hex[:10]}",
            track="always_on",
            items=[
                {"entity_id": entity_id, "field": "daily_budget", "before": before, "after": after}
            ],
            agent="optimizer",
        ),
        actor=AGENT,
    )
    if change_set.is_pending and operator is not None:
        approve(change_set, operator)
        change_set.refresh_from_db()
    return change_set


def opened(signal):
    return Recommendation.objects.filter(signal=signal, status=RecommendationStatus.OPEN)


def found(result, signal) -> tuple[int, int]:
    count = result.signals[signal]
    return count.found, count.opened


# --- 1. Drift -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("after", "fires"), [("375.00", False), ("375.05", True)], ids=["15pct", "15.01pct"]
)
def test_drift_fires_just_over_the_threshold(live, people, no_client_sign_off, after, fires):
    assert move(live, "search-brand", "300.00", after, people[Role.OPERATOR]).is_applied
    result = triggers_scan()
    assert found(result, "drift") == ((1, 1) if fires else (0, 0))
    if fires:
        recommendation = opened("drift").get()
        assert recommendation.subject_key == "search"
        assert recommendation.evidence["drift_pct"] == "15.01"
        assert recommendation.evidence["planned_daily_budget"] == "500.00"
        ticket = Ticket.objects.get(public_id=recommendation.ticket)
        assert (ticket.type, ticket.sla_kind, ticket.status) == ("A5", "revise_draft", "open")
        assert "Search drifted 15.01%" in ticket.summary
        assert recommendation.draft_number is None  # the seed asks for a ticket, no draft


def test_drift_before_the_window_does_not_count(acme, people, make_member):
    from optimization.services import manifest_sync
    from plans.services import plan_version_import_approved
    from tests.optimization.conftest import entry
    from tests.plans.plan_samples import winter_plan

    TenantPolicy.objects.filter(tenant=acme).update(client_must_approve_budget_increase=False)
    operator = people[Role.OPERATOR]
    with time_machine.travel(datetime(2026, 10, 1, 10, tzinfo=UTC), tick=False) as clock:
        plan_version_import_approved(
            tenant=acme,
            track_key="always_on",
            kind="initial",
            payload=winter_plan(),
            actor=TEST_ACTOR,
            approved_by="tests",
        )
        manifest_sync(
            tenant=acme,
            track_key="always_on",
            entries=[
                entry("search-brand", "search", "300.00"),
                entry("search-generic", "search", "200.00"),
            ],
            actor=TEST_ACTOR,
            launched_by="tests",
        )
        clock.move_to(datetime(2026, 10, 5, 10, tzinfo=UTC))
        assert move(acme, "search-brand", "300.00", "400.00", operator).is_applied  # +20%
        clock.move_to(datetime(2026, 11, 3, 10, tzinfo=UTC))  # 29 days later: inside
        assert found(triggers_scan(), "drift") == (1, 1)
    with time_machine.travel(datetime(2026, 11, 5, 10, tzinfo=UTC), tick=False):
        # 31 days later: outside the 30-day window; the open one stays, nothing new opens.
        assert found(triggers_scan(), "drift") == (0, 0)


def test_drift_counts_moves_back_to_the_longest_window_of_the_tenants_scanned(acme, globex, people):
    """The drift read bounds the applied changes it reads by the longest window of the tenants
    scanned together: acme's 45 days, not globex's 14."""
    from optimization.services import manifest_sync
    from plans.services import plan_version_import_approved
    from tests.optimization.conftest import entry
    from tests.plans.plan_samples import winter_plan

    TenantPolicy.objects.filter(tenant=acme).update(
        client_must_approve_budget_increase=False, drift_window_days=45
    )
    TenantPolicy.objects.filter(tenant=globex).update(drift_window_days=14)
    with time_machine.travel(datetime(2026, 10, 1, 10, tzinfo=UTC), tick=False) as clock:
        for tenant in (acme, globex):
            plan_version_import_approved(
                tenant=tenant,
                track_key="always_on",
                kind="initial",
                payload=winter_plan(),
                actor=TEST_ACTOR,
                approved_by="tests",
            )
        manifest_sync(
            tenant=acme,
            track_key="always_on",
            entries=[entry("search-brand", "search", "300.00")],
            actor=TEST_ACTOR,
            launched_by="tests",
        )
        clock.move_to(datetime(2026, 10, 5, 10, tzinfo=UTC))
        assert move(acme, "search-brand", "300.00", "400.00", people[Role.OPERATOR]).is_applied
        clock.move_to(datetime(2026, 11, 14, 10, tzinfo=UTC))  # 40 days later: inside 45
        assert found(triggers_scan(), "drift") == (1, 1)
        assert opened("drift").get().evidence["net_applied_change"] == "100.00"


def test_drift_reads_the_plan_of_the_tenants_day(live, people, no_client_sign_off):
    """At 23:30 UTC on 30 November it is already 1 December in Berlin: the December flight
    (€15,000 over 31 days, €483.87 a day) is the plan, and +€75 is 15.5% of it."""
    assert move(live, "search-brand", "300.00", "375.00", people[Role.OPERATOR]).is_applied
    with time_machine.travel(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), tick=False):
        assert found(triggers_scan(), "drift") == (1, 1)
        assert opened("drift").get().evidence["planned_daily_budget"] == "483.87"


def test_a_dismissed_drift_returns_only_when_it_arises_again(
    live, people, no_client_sign_off, on_10_november
):
    operator, planner = people[Role.OPERATOR], people[Role.PLANNER]
    move(live, "search-brand", "300.00", "380.00", operator)
    triggers_scan()
    on_10_november.shift(timedelta(hours=1))
    recommendation = opened("drift").get()
    ticket_decide(
        ticket=Ticket.objects.get(public_id=recommendation.ticket),
        actor=Actor.for_user(planner),
        verdict="reject",
        comment="seasonal, leave it",
    )
    recommendation.refresh_from_db()
    assert recommendation.status == RecommendationStatus.DISMISSED
    assert found(triggers_scan(), "drift") == (0, 0)
    on_10_november.shift(timedelta(hours=1))
    move(live, "search-generic", "200.00", "280.00", operator)  # +16% more after the dismissal
    assert found(triggers_scan(), "drift") == (1, 1)
    assert Recommendation.objects.filter(signal="drift").count() == 2


def test_turning_a_drift_recommendation_into_a_draft_codifies_the_live_budget(
    live, people, no_client_sign_off
):
    move(live, "search-brand", "300.00", "380.00", people[Role.OPERATOR])  # live search €580
    triggers_scan()
    recommendation = opened("drift").get()
    ticket_decide(
        ticket=Ticket.objects.get(public_id=recommendation.ticket),
        actor=Actor.for_user(people[Role.PLANNER]),
        verdict="approve",
    )
    recommendation.refresh_from_db()
    draft = PlanVersion.objects.get(number=recommendation.draft_number)
    assert (recommendation.status, draft.status, draft.kind) == ("drafted", "draft", "revise")
    search = next(c for c in draft.payload["channels"] if c["channel"] == "search")
    # From 10 November search is planned at €580 a day instead of €500: November keeps its 9
    # days spent (€4,500) and plans 21 days at €580 (€12,180); later flights scale by 580/500.
    assert [f["budget"] for f in search["flights"]] == ["16680.00", "17400.00", "11600.00"]
    assert not PlanVersion.objects.filter(status=PlanStatus.APPROVED, number=draft.number).exists()


# --- 2. Guardrail approvals ---------------------------------------------------------------------
@pytest.mark.parametrize(("approvals", "fires"), [(5, False), (6, True)])
def test_more_than_five_approved_a3_in_14_days_suggest_a_revise(
    live, people, no_client_sign_off, approvals, fires
):
    operator = people[Role.OPERATOR]
    budgets = ["300.00", "360.00"]
    for i in range(approvals):
        before, after = budgets[i % 2], budgets[(i + 1) % 2]
        assert move(live, "search-brand", before, after, operator).is_applied
    assert found(triggers_scan(), "guardrail_approvals") == ((1, 1) if fires else (0, 0))
    if fires:
        evidence = opened("guardrail_approvals").get().evidence
        assert (evidence["approved_a3"], evidence["threshold"]) == (6, 5)


def test_approvals_older_than_14_days_do_not_count(
    live, people, no_client_sign_off, on_10_november
):
    operator = people[Role.OPERATOR]
    budgets = ["300.00", "360.00"]
    for i in range(6):
        move(live, "search-brand", budgets[i % 2], budgets[(i + 1) % 2], operator)
        if i == 0:
            on_10_november.shift(timedelta(days=1))
    on_10_november.shift(timedelta(days=14))  # the first approval is now 15 days old
    assert found(triggers_scan(), "guardrail_approvals") == (0, 0)


# --- 3. KPI miss --------------------------------------------------------------------------------
def report(tenant, days: int, cpa: str, *, source="ga4", end=date(2026, 11, 9), channel="search"):
    spend = Decimal("500.00")
    conversions = spend / Decimal(cpa)
    performance_ingest(
        tenant=tenant,
        track_key="always_on",
        rows=[
            {
                "date": str(end - timedelta(days=i)),
                "channel": channel,
                "spend": str(spend),
                "conversions": str(conversions.quantize(Decimal("0.01"))),
                "kpi": "cpa",
                "kpi_value": cpa,
                "source": source,
            }
            for i in range(days)
        ],
        actor=AGENT,
    )


@pytest.mark.parametrize(("days", "fires"), [(20, False), (21, True)])
def test_a_cpa_above_target_for_21_days_fires(live, days, fires):
    report(live, days, "48")  # target 40: a CPA of 48 misses it
    assert found(triggers_scan(), "kpi_miss") == ((1, 1) if fires else (0, 0))
    if fires:
        recommendation = opened("kpi_miss").get()
        assert recommendation.evidence["target"] == "40"
        # CPA is spend ÷ conversions: €500 ÷ 10.42 conversions a day.
        assert recommendation.evidence["average"] == "47.98"
        assert len(recommendation.evidence["days"]) == 21


def test_one_day_on_target_breaks_the_run(live):
    report(live, 21, "48")
    report(live, 1, "39", end=date(2026, 10, 30))  # the oldest of the 21 days meets the target
    assert found(triggers_scan(), "kpi_miss") == (0, 0)


@pytest.mark.parametrize(
    ("ga4", "other", "fires"),
    [("48", "39", True), ("39", "48", False)],
    ids=["ga4-misses", "ga4-meets"],
)
def test_ga4_is_the_primary_source(live, ga4, other, fires):
    report(live, 21, ga4, source="ga4")
    report(live, 21, other, source="google_ads")
    assert found(triggers_scan(), "kpi_miss") == ((1, 1) if fires else (0, 0))


# --- 4. Structural blocks -----------------------------------------------------------------------
def block(tenant, field="channel", after="tiktok"):
    return change_set_submit(
        tenant=tenant,
        request=ChangeSetRequest(
            change_set_id=f"cs-{uuid.uuid4().hex[:10]}",
            track="always_on",
            items=[{"entity_id": None, "field": field, "before": None, "after": after}],
            agent="optimizer",
        ),
        actor=AGENT,
    )


@pytest.mark.parametrize(("blocks", "fires"), [(1, False), (2, True)])
def test_the_second_structural_block_escalates_to_a_replan_draft(live, blocks, fires):
    for _ in range(blocks):
        assert block(live).status == "blocked"
    assert found(triggers_scan(), "structural_block") == ((1, 1) if fires else (0, 0))
    if fires:
        recommendation = opened("structural_block").get()
        draft = PlanVersion.objects.get(number=recommendation.draft_number)
        assert (draft.kind, draft.status, recommendation.path) == ("replan", "draft", "replan")
        assert "tiktok" in [c["channel"] for c in draft.payload["channels"]]
        ticket = Ticket.objects.get(public_id=recommendation.ticket)
        assert (ticket.sla_kind, ticket.plan_version) == ("replan_draft", draft.number)


# --- 5. Seasonality -----------------------------------------------------------------------------
@pytest.mark.parametrize(("days_ahead", "fires"), [(14, True), (15, False)])
def test_a_calendar_entry_14_days_ahead_pre_drafts_a_revise(live, days_ahead, fires):
    start = date(2026, 11, 10) + timedelta(days=days_ahead)
    seasonal_change_set(
        track=Track.objects.get(tenant=live, key="always_on"),
        channel="social",
        starts_on=start,
        ends_on=start + timedelta(days=6),
        budget=Decimal("5000"),
        note="Black Friday week",
        actor=TEST_ACTOR,
    )
    assert found(triggers_scan(), "seasonality") == ((1, 1) if fires else (0, 0))
    if fires:
        recommendation = opened("seasonality").get()
        draft = PlanVersion.objects.get(number=recommendation.draft_number)
        social = next(c for c in draft.payload["channels"] if c["channel"] == "social")
        assert {
            "start": str(start),
            "end": str(start + timedelta(days=6)),
            "budget": "5000.00",
        } in (social["flights"])
        assert draft.kind == "revise"


# --- Idempotency --------------------------------------------------------------------------------
@pytest.fixture
def every_signal(live, people, no_client_sign_off):
    move(live, "search-brand", "300.00", "380.00", people[Role.OPERATOR])
    report(live, 21, "48")
    block(live)
    block(live, field="geo", after="FR")


def test_a_second_scan_opens_nothing(every_signal):
    first = triggers_scan()
    assert {s: c.opened for s, c in first.signals.items() if c.opened} == {
        "drift": 1,
        "kpi_miss": 1,
        "structural_block": 1,
    }
    second = triggers_scan()
    assert sum(c.opened for c in second.signals.values()) == 0
    assert sum(c.found for c in second.signals.values()) == 3
    assert Ticket.objects.filter(subject_type="recommendation").count() == 3


def test_a_scan_killed_half_way_then_run_again_opens_each_once(every_signal, monkeypatch):
    from optimization.services import scan

    real = scan._kpi_miss

    def killed(miss):
        raise KeyboardInterrupt  # the worker dies; nothing catches it

    monkeypatch.setattr(scan, "_kpi_miss", killed)
    with pytest.raises(KeyboardInterrupt):
        triggers_scan()
    assert list(opened("drift").values_list("signal", flat=True)) == ["drift"]
    monkeypatch.setattr(scan, "_kpi_miss", real)
    triggers_scan()
    assert sorted(Recommendation.objects.values_list("signal", flat=True)) == [
        "drift",
        "kpi_miss",
        "structural_block",
    ]


def test_one_failing_condition_never_stops_the_others(every_signal, monkeypatch):
    from optimization.services import scan

    monkeypatch.setattr(scan, "_drift", lambda drift, change_sets, now: 1 / 0)
    result = triggers_scan()
    assert result.signals["drift"].failed == 1
    assert result.signals["kpi_miss"].opened == 1
    assert "drift: 1 found, 0 opened, 0 already open, 1 failed" in result.lines()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_scans_at_once_open_each_recommendation_once(every_signal):
    barrier = threading.Barrier(2)
    errors = []

    def scan_now():
        try:
            barrier.wait()
            with time_machine.travel(datetime(2026, 11, 10, 10, 5, tzinfo=UTC), tick=False):
                triggers_scan()
        except Exception as exc:  # reported by the assertion below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=scan_now) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(opened(s).count() for s in ("drift", "kpi_miss", "structural_block")) == [1, 1, 1]
    assert (
        Ticket.objects.filter(subject_type="recommendation", status=TicketStatus.OPEN).count() == 3
    )
    assert PlanVersion.objects.filter(status=PlanStatus.DRAFT).count() == 1  # the replan draft


def test_scan_triggers_prints_one_line_per_signal(every_signal):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("scan_triggers", "--tenant", "acme", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[:5] == [
        "drift: 1 found, 1 opened, 0 already open",
        "guardrail_approvals: 0 found, 0 opened, 0 already open",
        "kpi_miss: 1 found, 1 opened, 0 already open",
        "structural_block: 1 found, 1 opened, 0 already open",
        "seasonality: 0 found, 0 opened, 0 already open",
    ]
