"""One definition of drift (issue 16 item 4): a channel's drift counts the daily-budget moves
applied since the approval of the last version that changed it; approving a version resets only
what it changed; every page, the report, the scan and the guardrails read the same figure, and a
rollback of a rollback is judged against the approved plan like any other move."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from approvals.models import Ticket
from approvals.services import ticket_decide
from audit.actors import Actor
from metrics.report import weekly_report
from optimization.drift import track_drift
from optimization.models import ChangeSet, Recommendation, Signal
from optimization.services import (
    ChangeSetRequest,
    change_set_approve_with_edit,
    change_set_rollback,
    change_set_submit,
    triggers_scan,
)
from plans.models import Track
from plans.services import plan_version_import_approved
from tenants.models import Role, TenantPolicy
from tests.conftest import TEST_ACTOR
from tests.plans.plan_samples import changed, winter_plan

pytestmark = pytest.mark.django_db
AGENT = Actor.service("optimizer")


@pytest.fixture
def no_client_sign_off(live):
    TenantPolicy.objects.filter(tenant=live).update(client_must_approve_budget_increase=False)


def move(tenant, entity_id, before, after, operator=None) -> ChangeSet:
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


def approve(change_set, user) -> None:
    for ticket in Ticket.objects.filter(subject_id=change_set.change_set_id, status="open"):
        ticket_decide(ticket=ticket, actor=Actor.for_user(user), verdict="approve")


def social_only_revise(tenant):
    """v2: social's November flight up €3,000 (+30%); search exactly as v1 planned it."""

    def more_social(plan):
        social = plan["channels"][1]
        social["budget"] += 3000
        social["flights"][0]["budget"] += 3000

    return plan_version_import_approved(
        tenant=tenant,
        track_key="always_on",
        kind="revise",
        payload=changed(winter_plan(), more_social),
        actor=TEST_ACTOR,
        approved_by="tests",
    )


def search(drift):
    return drift.channel("search")


def test_approving_a_social_only_version_keeps_search_drift(
    live, people, no_client_sign_off, on_10_november
):
    assert move(live, "search-brand", "300.00", "380.00", people[Role.OPERATOR]).is_applied
    track = Track.objects.get(tenant=live, key="always_on")
    assert search(track_drift(track=track, now=timezone.now())).pct == Decimal("16.00")
    on_10_november.shift(timedelta(hours=1))
    social_only_revise(live)
    track.refresh_from_db()
    drift = track_drift(track=track, now=timezone.now())
    assert drift.version.number == 2
    assert (search(drift).pct, search(drift).live, search(drift).planned) == (
        Decimal("16.00"),
        Decimal("580.00"),
        Decimal("500.00"),
    )
    assert search(drift) in drift.beyond
    assert drift.channel("social").changes == 0
    triggers_scan()
    assert Recommendation.objects.get(signal=Signal.DRIFT).evidence["drift_pct"] == "16.00"


def test_a_rollback_of_a_rollback_is_judged_against_the_approved_plan(
    live, people, no_client_sign_off, on_10_november
):
    operator = Actor.for_user(people[Role.OPERATOR])
    assert move(live, "search-brand", "300.00", "345.00").is_applied  # +9%: by itself
    on_10_november.shift(timedelta(minutes=5))
    raise_ = move(live, "search-generic", "200.00", "240.00")  # drift 17%: A3
    assert raise_.is_pending
    approve(raise_, people[Role.OPERATOR])
    raise_.refresh_from_db()
    assert raise_.is_applied
    on_10_november.shift(timedelta(minutes=5))
    rollback = change_set_rollback(change_set=raise_, actor=operator)
    assert rollback.is_applied  # back towards the plan: by itself
    on_10_november.shift(timedelta(minutes=5))
    social_only_revise(live)  # approving social changes nothing of search's drift
    on_10_november.shift(timedelta(minutes=5))
    again = change_set_rollback(change_set=rollback, actor=operator)
    assert again.is_pending, again.status_reason
    assert again.ticket.startswith("A3-")
    assert "search would drift 17%" in again.status_reason


def test_every_reader_shows_the_same_drift(
    live, people, no_client_sign_off, on_10_november, client
):
    move(live, "search-brand", "300.00", "380.00", people[Role.OPERATOR])  # +16%
    on_10_november.shift(timedelta(hours=1))
    social_only_revise(live)
    track = Track.objects.get(tenant=live, key="always_on")
    now = timezone.now()
    page = track_drift(track=track, now=now)
    client.force_login(people[Role.PLANNER])
    response = client.get(reverse("optimization:drift", args=["acme", "always_on"]))
    shown = response.context["drift"]
    report = weekly_report(track=track, week_start=date(2026, 11, 9), client_safe=False, now=now)
    triggers_scan(now=now)
    evidence = Recommendation.objects.get(signal=Signal.DRIFT).evidence
    nudge = move(live, "search-generic", "200.00", "201.00")
    check = next(c for c in nudge.guardrails["channels"] if c["channel"] == "search")
    figures = {
        "selector": (search(page).pct, search(page).net),
        "drift page": (search(shown).pct, search(shown).net),
        "weekly report": (search(report.drift).pct, search(report.drift).net),
        "scan evidence": (Decimal(evidence["drift_pct"]), Decimal(evidence["net_applied_change"])),
        "guardrails": (search(page).pct, Decimal(check["drift_before"])),
    }
    assert set(figures.values()) == {(Decimal("16.00"), Decimal("80.00"))}, figures
    assert "+16%" in response.content.decode()


def search_revise(tenant):
    """v2: search's November flight up €4,500 (€500 → €650 a day)."""

    def more_search(plan):
        plan["channels"][0]["budget"] += 4500
        plan["channels"][0]["flights"][0]["budget"] += 4500

    return plan_version_import_approved(
        tenant=tenant,
        track_key="always_on",
        kind="revise",
        payload=changed(winter_plan(), more_search),
        actor=TEST_ACTOR,
        approved_by="tests",
    )


def test_the_change_set_page_measures_asked_and_approved_against_one_plan(
    live, people, no_client_sign_off, on_10_november, client
):
    waiting = move(live, "search-brand", "300.00", "380.00")  # +16% of v1's €500: A3
    assert waiting.is_pending
    on_10_november.shift(timedelta(hours=1))
    search_revise(live)  # search now plans €650 a day
    change_set_approve_with_edit(
        change_set=waiting,
        actor=Actor.for_user(people[Role.OPERATOR]),
        approved={0: "340.00"},
        comment="half of it",
    )
    client.force_login(people[Role.PLANNER])
    response = client.get(reverse("optimization:change_set", args=["acme", waiting.change_set_id]))
    asked, approved = response.context["checks"][0], response.context["edit_checks"][0]
    assert asked.planned_daily_budget == approved.planned_daily_budget == Decimal("650.00")
    assert (asked.drift_pct_after, approved.drift_pct_after) == (Decimal("12.31"), Decimal("6.15"))
    page = response.content.decode()
    assert page.count("€650") >= 2
