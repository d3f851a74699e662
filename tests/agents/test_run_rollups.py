"""The run rollups (issue 21.5): failure codes, loop depth and A8 by QC pattern read daily
rollups where days are whole and raw runs for the rest, and equal the raw aggregates exactly."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents import selectors
from agents.models import RollupWatermark, RunDay
from agents.rollups_runs import RUNS_WATERMARK
from agents.services.qc import qc_result_record
from agents.services.rollups import run_rollups_rebuild, run_rollups_refresh
from config.sql import ComparedRanges
from tests.metrics import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

NOW = datetime(2026, 3, 31, 14, 25, tzinfo=UTC)  # Berlin's DST began on 29 March
CODES = ["off_brief", "too_long", "claims", "tone"]


@pytest.fixture
def world(make_tenant):
    """Two tenants on either side of the Atlantic, 150 runs each over 60 days with loops."""
    acme = make_tenant("acme", time_zone="Europe/Berlin")
    globex = make_tenant("globex", time_zone="America/New_York")
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


def _sorted(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: sorted((k, str(v)) for k, v in row.items()))


def _figures(tenant_ids, ranges, *, raw=False) -> dict:
    suffix = "_raw" if raw else ""
    return {
        name: _sorted(getattr(selectors, name + suffix)(tenant_ids=tenant_ids, ranges=ranges))
        for name in ("qc_failure_codes", "qc_loop_depths", "a8_runs_by_failure_code")
    }


moments = st.integers(min_value=0, max_value=70 * 24 * 60).map(
    lambda minutes: NOW - timedelta(minutes=minutes)
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    edges=st.lists(moments, min_size=3, max_size=3),
    midnights=st.booleans(),
    which=st.sampled_from(["both", "acme", "globex"]),
)
def test_rollup_and_raw_figures_are_equal_for_any_range(world, edges, midnights, which):
    acme, globex = world
    if not RollupWatermark.objects.filter(name=RUNS_WATERMARK).exists():
        run_rollups_refresh(now=NOW)
    since, split, until = sorted(edges)
    if midnights:  # the metrics page's own ranges: local midnights of the first tenant
        zone = ZoneInfo(acme.time_zone)
        since, split, until = (
            datetime.combine(moment.astimezone(zone).date(), datetime.min.time(), tzinfo=zone)
            for moment in (since, split, until)
        )
    ranges = ComparedRanges(since=since, split=split, until=until)
    tenant_ids = {"both": (acme.pk, globex.pk), "acme": (acme.pk,), "globex": (globex.pk,)}[which]
    assert _figures(tenant_ids, ranges) == _figures(tenant_ids, ranges, raw=True)


def test_a_long_range_reads_rollup_days_and_its_figures_are_not_empty(world):
    acme, globex = world
    run_rollups_refresh(now=NOW)
    assert set(RunDay.objects.values_list("metric", flat=True)) == {"code", "depth", "a8"}
    ranges = ComparedRanges(
        since=NOW - timedelta(days=56), split=NOW - timedelta(days=28), until=NOW
    )
    figures = _figures((acme.pk, globex.pk), ranges)
    assert all(figures.values())
    assert figures == _figures((acme.pk, globex.pk), ranges, raw=True)


def test_a_qc_result_on_an_old_run_recounts_its_day_at_the_next_refresh(world):
    acme, globex = world
    run_rollups_refresh(now=NOW)
    run_rollups_refresh(now=NOW)
    ranges = ComparedRanges(
        since=NOW - timedelta(days=50), split=NOW - timedelta(days=25), until=NOW
    )
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
    from django_q.models import Schedule

    call_command("setup_schedules", stdout=StringIO())
    schedule = Schedule.objects.get(name="agents.run_rollups")
    assert (schedule.func, schedule.schedule_type, schedule.minutes) == (
        "agents.tasks.run_rollups",
        Schedule.MINUTES,
        5,
    )
