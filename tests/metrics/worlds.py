"""Worlds the metrics tests and the browser walk-throughs share: acme's reported week of 9–15
November 2026, and a few weeks of ops history for the metrics page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import time_machine

from audit.actors import Actor
from optimization.models import ChangeSetKind, ChangeSetStatus, PerformanceRow
from optimization.services import ChangeSetRequest, change_set_submit, manifest_sync
from plans.models import PlanStatus, PlanVersion, Track
from tenants.models import Role, TenantPolicy
from tests.approvals.factories import open_ticket
from tests.conftest import TEST_ACTOR
from tests.metrics import factories as f
from tests.plans.plan_samples import changed, search_up_12_pct, winter_plan

WEEK = date(2026, 11, 9)
TUESDAY = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)
AGENT_NAME = "budget-optimizer-7"


def entry(entity_id, channel, daily_budget):
    return {
        "platform": "google_ads" if channel == "search" else "meta",
        "entity_id": entity_id,
        "channel": channel,
        "plan_version": 1,
        "state": {"daily_budget": daily_budget, "status": "active"},
    }


def report_week(acme, acme_v1, make_member) -> dict:
    """acme's week of 9–15 November 2026 (see tests/metrics/test_report.py)."""
    TenantPolicy.objects.filter(tenant=acme).update(client_must_approve_budget_increase=False)
    people = {role: make_member(f"acme-{role}", acme, role) for role in Role.values}
    with time_machine.travel(TUESDAY, tick=False):
        manifest_sync(
            tenant=acme,
            track_key="always_on",
            entries=[
                entry("search-brand", "search", "500.00"),
                entry("social-main", "social", "333.33"),
            ],
            actor=TEST_ACTOR,
            launched_by="tests",
        )
        agent = Actor.service(AGENT_NAME)
        within = change_set_submit(
            tenant=acme,
            request=ChangeSetRequest(
                change_set_id="cs-within-5pct",
                track="always_on",
                items=[
                    {
                        "entity_id": "search-brand",
                        "field": "daily_budget",
                        "before": "500.00",
                        "after": "525.00",
                    }
                ],
                agent=AGENT_NAME,
                reason="CPA under target",
            ),
            actor=agent,
        )
        waiting = change_set_submit(
            tenant=acme,
            request=ChangeSetRequest(
                change_set_id="cs-waits-30pct",
                track="always_on",
                items=[
                    {
                        "entity_id": "social-main",
                        "field": "daily_budget",
                        "before": "333.33",
                        "after": "433.33",
                    }
                ],
                agent=AGENT_NAME,
                reason="Social converts",
            ),
            actor=agent,
        )
        a8 = open_ticket(
            acme, "A8", title=f"Loop limit of {AGENT_NAME}", plan_version=1, run_id="run-secret-1"
        )
        client_item = open_ticket(
            acme,
            "A5",
            title="More budget for search in December",
            plan_version=1,
            client_visible=True,
            required_roles=["planner", "client"],
        )
    track = Track.objects.get(tenant=acme, key="always_on")
    v1 = acme_v1
    approved = datetime(2026, 11, 11, 9, 0, tzinfo=UTC)
    PlanVersion.objects.filter(pk=v1.pk).update(
        status=PlanStatus.SUPERSEDED, superseded_at=approved
    )
    v2 = PlanVersion.objects.create(
        tenant=acme,
        track=track,
        number=2,
        kind="revise",
        status=PlanStatus.APPROVED,
        parent=v1,
        payload=changed(winter_plan(), search_up_12_pct),
        payload_hash="v2",
        approved_at=approved,
        approved_by="acme-planner2",
        created_by="acme-planner",
    )
    Track.objects.filter(pk=track.pk).update(current_version=v2)
    for offset in range(7):
        day = WEEK + timedelta(days=offset)
        PerformanceRow.objects.create(
            tenant=acme,
            track=track,
            date=day,
            channel="search",
            source="ga4",
            spend=Decimal("400"),
            conversions=Decimal("10"),
            kpi="cpa",
        )
        PerformanceRow.objects.create(
            tenant=acme,
            track=track,
            date=day,
            channel="social",
            source="ga4",
            spend=Decimal("300"),
            conversions=Decimal("5"),
            kpi="cpa",
        )
        # Another source's figures for the same days are not added on top of GA4's.
        PerformanceRow.objects.create(
            tenant=acme,
            track=track,
            date=day,
            channel="search",
            source="google_ads",
            spend=Decimal("999"),
            conversions=Decimal("1"),
        )
    return {
        "people": people,
        "within": within,
        "waiting": waiting,
        "a8": a8,
        "client_item": client_item,
        "v2": v2,
        "track": track,
    }


def ops_history(tenant, now: datetime, people: dict) -> None:
    """Eight weeks of approvals, agent runs, QC and change sets before `now`, busier in the
    last four (the metrics page's default range) than in the four before."""
    h = timedelta(hours=1)
    for day in range(56):
        at = now - timedelta(days=day, hours=3)
        recent = day < 28
        for n, type_id in enumerate(["A1", "A3", "A5", "A7", "A2"]):
            hours = 1 + (day * 7 + n * 5) % (20 if recent else 40)
            due = at + 8 * h
            roles = (
                ["planner", "legal"]
                if type_id == "A7"
                else ["operator"]
                if type_id == "A3"
                else ["planner"]
            )
            ticket = f.ticket(
                tenant,
                type_id,
                created=at,
                resolved=at + hours * h,
                sla_due=due,
                required_roles=roles,
            )
            for slot in roles:
                f.approval(ticket, people[Role.PLANNER], slot=slot, at=at + hours * h)
        if day % (3 if recent else 2) == 0:
            f.ticket(tenant, "A6", created=at, resolved=at)
        run = f.run(
            tenant,
            created=at,
            agent=["writer", "checker", "optimizer"][day % 3],
            main_task_id=f"task-{day % 4}",
            model=["m-large", "m-small"][day % 2],
            a8=day % 5 == 0,
        )
        for s in range(4):
            passed = (day + s) % (4 if recent else 3) != 0
            codes = [] if passed else [["tone", "facts", "schema", "length"][(day + s) % 4]]
            f.qc(run, at=at, subtask=f"s{s}", passed=passed, codes=codes)
            f.loop(
                run,
                subtask=f"s{s}",
                attempts=1 if passed else 2 + (day + s) % 3,
                passed=passed or s % 2 == 0,
                codes=codes,
            )
        if day % 9 == 0:
            f.alert(
                tenant,
                opened=at,
                recovered=at + (5 + day) * h if day else None,
                subtask=f"s{day % 4}",
                task=f"task-{day % 4}",
            )
        applied = f.change_set(tenant, created=at, applied=at)
        if day % 10 == 0:
            f.change_set(
                tenant, created=at + h, kind=ChangeSetKind.ROLLBACK, reverts=applied, applied=at + h
            )
        if day % 2 == 0:
            a3 = f.ticket(tenant, "A3", created=at, resolved=at + 4 * h)
            f.change_set(
                tenant,
                created=at,
                status=ChangeSetStatus.APPLIED if day % 6 else ChangeSetStatus.REJECTED,
                ticket=a3.public_id,
                applied=at + 4 * h if day % 6 else None,
                decided=at + 4 * h,
                guardrails=f.guardrails((11 + day % 25, day % 7 != 0)),
                items=[("300.00", "340.00")],
            )
    f.change_set(
        tenant,
        created=now - 30 * h,
        status=ChangeSetStatus.PENDING_APPROVAL,
        ticket="T-W1",
        items=[("500.00", "600.00"), ("333.33", "300.00")],
    )
