"""The change-set rollups (issue 21.5): the four change-set metrics read daily rollups where days
are whole and raw change sets for the rest, and equal the raw aggregates exactly for any range."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from optimization import selectors
from optimization.models import ChangeSetDay, ChangeSetRollupMark, ChangeSetStatus
from optimization.services.rollups import change_set_rollups_rebuild, change_set_rollups_refresh
from tests.metrics import factories
from tests.rollup_helpers import (
    NOW,
    any_range,
    assert_every_five_minutes,
    days_before_now,
    for_any_range,
    two_tenants,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

THRESHOLDS = [Decimal("10"), Decimal("25.5"), Decimal("40")]
STATUSES = [
    ChangeSetStatus.APPLIED,
    ChangeSetStatus.APPLIED,
    ChangeSetStatus.PENDING_APPROVAL,
    ChangeSetStatus.REJECTED,
    ChangeSetStatus.BLOCKED,
    ChangeSetStatus.LAPSED,
]


def _change_sets(tenant, rng: random.Random, count: int) -> None:
    for _ in range(count):
        created = NOW - timedelta(minutes=rng.randrange(60 * 24 * 60))
        status = rng.choice(STATUSES)
        person = rng.random() < 0.5
        ticket = ""
        if person:
            ticket = factories.ticket(tenant, rng.choice(["A3", "A3", "A2"]), created=created)
            ticket = ticket.public_id
        decided = None
        if person and status != ChangeSetStatus.PENDING_APPROVAL and rng.random() < 0.9:
            decided = created + timedelta(minutes=rng.randrange(1, 60 * 72))
        applied = None
        if status == ChangeSetStatus.APPLIED:
            applied = decided or created
        moves = [(rng.choice([None, 5, 12.5, 25.5, 30, 45]), rng.random() < 0.8)]
        moves += [(rng.choice([5, 25.5]), True)] * rng.randrange(2)
        change_set = factories.change_set(
            tenant,
            created=created,
            status=status,
            ticket=ticket,
            decided=decided,
            applied=applied,
            guardrails=factories.guardrails(*moves, launches=["x"] if rng.random() < 0.1 else []),
            items=[("100.00", f"{100 + rng.randrange(-40, 60)}.50")] * rng.randrange(3),
            track_key=rng.choice(["always_on", "branding"]),
        )
        if applied and rng.random() < 0.25:
            back = applied + timedelta(minutes=rng.randrange(60 * 24 * 9))
            factories.change_set(
                tenant,
                created=back,
                applied=back,
                status=rng.choice([ChangeSetStatus.APPLIED, ChangeSetStatus.REJECTED]),
                kind="rollback",
                reverts=change_set,
            )


@pytest.fixture
def world(make_tenant):
    """Two tenants on either side of the Atlantic, ~150 change sets each over 60 days."""
    acme, globex = two_tenants(make_tenant)
    rng = random.Random(21)
    for tenant in (acme, globex):
        _change_sets(tenant, rng, 120)
    return acme, globex


def _figures(tenant_ids, ranges, read=None) -> dict:
    read = read or {}
    return {
        "auto": (read.get("auto") or selectors.auto_applied_by_track)(
            tenant_ids=tenant_ids, ranges=ranges
        ),
        **{
            f"rollback {days}": (read.get("rollback") or selectors.change_sets_rolled_back)(
                tenant_ids=tenant_ids, ranges=ranges, days=days
            )
            for days in (1, 3, 7)
        },
        "held": (read.get("held") or selectors.spend_held_by_track)(
            tenant_ids=tenant_ids, ranges=ranges, now=NOW
        ),
        "a3": (read.get("a3") or selectors.a3s_within_thresholds)(
            tenant_ids=tenant_ids, ranges=ranges, thresholds=THRESHOLDS
        ),
    }


RAW = {
    "auto": selectors.auto_applied_by_track_raw,
    "rollback": selectors.change_sets_rolled_back_raw,
    "held": selectors.spend_held_by_track_raw,
    "a3": selectors.a3s_within_thresholds_raw,
}


@for_any_range(days=75)
def test_rollup_and_raw_figures_are_equal_for_any_range(world, edges, midnights, which):
    acme, globex = world
    if not ChangeSetRollupMark.objects.exists():
        change_set_rollups_refresh(now=NOW)
    ranges, tenant_ids = any_range(world, edges, midnights, which)
    assert _figures(tenant_ids, ranges) == _figures(tenant_ids, ranges, RAW)


def test_a_long_range_reads_rollup_days_and_its_figures_are_not_empty(world):
    acme, globex = world
    change_set_rollups_refresh(now=NOW)
    ranges = days_before_now(56, 28)
    assert ChangeSetDay.objects.filter(tenant=acme, metric="auto").count() > 20
    assert set(ChangeSetDay.objects.values_list("metric", flat=True)) == {
        "auto",
        "rollback",
        "held",
        "a3",
    }
    figures = _figures((acme.pk, globex.pk), ranges)
    assert all(figures.values())
    assert figures == _figures((acme.pk, globex.pk), ranges, RAW)


def test_a_rollback_recounts_the_day_the_reverted_change_set_applied(world):
    acme, globex = world
    change_set_rollups_refresh(now=NOW)
    change_set_rollups_refresh(now=NOW)
    ranges = days_before_now(50, 25)
    applied = NOW - timedelta(days=30)
    target = factories.change_set(acme, created=applied, applied=applied)
    refresh = change_set_rollups_refresh(now=NOW)
    assert refresh.days == 1
    before = _figures((acme.pk,), ranges)
    assert before == _figures((acme.pk,), ranges, RAW)
    back = applied + timedelta(hours=30)
    factories.change_set(
        acme, created=back, applied=back, kind="rollback", reverts=target, track_key="always_on"
    )
    refresh = change_set_rollups_refresh(now=NOW)
    assert refresh.days == 2  # the rollback's own day, and the day the reverted one applied
    after = _figures((acme.pk,), ranges)
    assert after == _figures((acme.pk,), ranges, RAW)
    rolled = {(r["by_person"], r["period"]): r["rolled_back"] for r in after["rollback 3"]}
    was = {(r["by_person"], r["period"]): r["rolled_back"] for r in before["rollback 3"]}
    assert rolled[(0, "previous")] == was.get((0, "previous"), 0) + 1


def test_refreshing_twice_or_rebuilding_changes_nothing(world):
    def counted():
        return sorted(
            ChangeSetDay.objects.values_list("tenant_id", "day", "metric", "track_id", "key", "n")
        )

    change_set_rollups_refresh(now=NOW)
    first = counted()
    change_set_rollups_refresh(now=NOW)
    change_set_rollups_refresh(now=NOW)
    assert change_set_rollups_refresh(now=NOW).days == 0
    out = StringIO()
    call_command("rollups_rebuild", stdout=out)
    assert "change-set rollups:" in out.getvalue() and "QC result rollups:" in out.getvalue()
    assert counted() == first
    assert change_set_rollups_rebuild(now=NOW).days > 0


def test_setup_schedules_declares_the_change_set_rollups_every_five_minutes(db):
    assert_every_five_minutes(
        "optimization.change_set_rollups", "optimization.tasks.change_set_rollups"
    )
