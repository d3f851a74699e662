"""The run rollups (issue 21.5): failure codes, loop depth and A8 by QC pattern read daily
rollups where days are whole and raw runs for the rest, and equal the raw aggregates exactly."""

from __future__ import annotations

import random
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from agents import selectors
from agents.models import RollupWatermark, RunDay
from agents.rollups_runs import RUNS_WATERMARK
from agents.services.qc import qc_result_record
from agents.services.rollups import run_rollups_rebuild, run_rollups_refresh
from tests.metrics import factories
from tests.rollup_helpers import (
    NOW,
    any_range,
    assert_every_five_minutes,
    days_before_now,
    for_any_range,
    sorted_rows,
    two_tenants,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

CODES = ["off_brief", "too_long", "claims", "tone"]


@pytest.fixture
def world(make_tenant):
    """Two tenants on either side of the Atlantic, 150 runs each over 60 days with loops."""
    acme, globex = two_tenants(make_tenant)
    rng = random.Random(21)
    for tenant in (acme, globex):
        for _ in range(150):
            created = NOW - timedelta(minutes=rng.randrange(60 * 24 * 60))
            run = factories.run(tenant, created=created, a8=rng.random() < 0.2)
            for subtask in ("s1", "s2", "s3")[: rng.randrange(4)]:
                passed = rng.random() < 0.6
                codes = [] if passed and rng.random() < 0.7 else rng.sample(CODES, rng.randrange(3))
                factories.loop(
                    run, subtask=subtask, attempts=rng.randrange(1, 7), passed=passed, codes=codes
                )
    return acme, globex


def _figures(tenant_ids, ranges, *, raw=False) -> dict:
    suffix = "_raw" if raw else ""
    return {
        name: sorted_rows(getattr(selectors, name + suffix)(tenant_ids=tenant_ids, ranges=ranges))
        for name in ("qc_failure_codes", "qc_loop_depths", "a8_runs_by_failure_code")
    }


@for_any_range()
def test_rollup_and_raw_figures_are_equal_for_any_range(world, edges, midnights, which):
    acme, globex = world
    if not RollupWatermark.objects.filter(name=RUNS_WATERMARK).exists():
        run_rollups_refresh(now=NOW)
    ranges, tenant_ids = any_range(world, edges, midnights, which)
    assert _figures(tenant_ids, ranges) == _figures(tenant_ids, ranges, raw=True)


def test_a_long_range_reads_rollup_days_and_its_figures_are_not_empty(world):
    acme, globex = world
    run_rollups_refresh(now=NOW)
    assert set(RunDay.objects.values_list("metric", flat=True)) == {"code", "depth", "a8"}
    ranges = days_before_now(56, 28)
    figures = _figures((acme.pk, globex.pk), ranges)
    assert all(figures.values())
    assert figures == _figures((acme.pk, globex.pk), ranges, raw=True)


def test_a_qc_result_on_an_old_run_recounts_its_day_at_the_next_refresh(world):
    acme, globex = world
    run_rollups_refresh(now=NOW)
    run_rollups_refresh(now=NOW)
    ranges = days_before_now(50, 25)
    old = factories.run(acme, created=NOW - timedelta(days=30))
    assert run_rollups_refresh(now=NOW).days == 1  # the new run's day
    qc_result_record(run=old, subtask_id="s1", passed=False, failure_codes=["late"], attempt=5)
    refresh = run_rollups_refresh(now=NOW)
    assert refresh.days == 1  # the late QC result's run's day, nothing else
    after = _figures((acme.pk,), ranges)
    assert after == _figures((acme.pk,), ranges, raw=True)
    assert {"code": "late", "period": "previous", "loops": 1, "depth": 5, "passed": 0} in after[
        "qc_failure_codes"
    ]


def test_refreshing_twice_or_rebuilding_changes_nothing(world):
    def counted():
        return sorted(RunDay.objects.values_list("tenant_id", "day", "metric", "key", "n", "m"))

    run_rollups_refresh(now=NOW)
    first = counted()
    run_rollups_refresh(now=NOW)
    assert run_rollups_refresh(now=NOW).days == 0
    out = StringIO()
    call_command("rollups_rebuild", stdout=out)
    assert "run rollups:" in out.getvalue()
    assert counted() == first
    assert run_rollups_rebuild(now=NOW).days > 0


def test_setup_schedules_declares_the_run_rollups_every_five_minutes(db):
    assert_every_five_minutes("agents.run_rollups", "agents.tasks.run_rollups")
