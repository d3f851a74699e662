"""The QC result rollups (issue 21.5): the ops metrics read daily rollups where days are whole
and raw results for the rest, and the figures are the raw aggregate's, exactly, for any range."""

from __future__ import annotations

import random
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from agents import selectors
from agents.models import QcResult, QcResultDay, RollupWatermark
from agents.rollups import QC_WATERMARK, qc_pieces
from agents.services.rollups import qc_rollups_rebuild, qc_rollups_refresh
from config.sql import ComparedRanges
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


@pytest.fixture
def world(make_tenant):
    """Two tenants on either side of the Atlantic, 600 QC results over 60 days before NOW."""
    acme, globex = two_tenants(make_tenant)
    rng = random.Random(21)
    results = []
    for tenant in (acme, globex):
        runs = [
            factories.run(tenant, created=NOW, main_task_id=task, agent=agent, model=model)
            for task, agent, model in [("task-a", "writer", "m-1"), ("task-b", "checker", "m-2")]
        ]
        for _ in range(300):
            run = rng.choice(runs)
            results.append(
                QcResult(
                    tenant=tenant,
                    run=run,
                    main_task_id=run.main_task_id,
                    subtask_id=rng.choice(["s1", "s2", "s3"]),
                    agent=run.agent,
                    model=run.model,
                    passed=rng.random() < 0.7,
                    attempt=rng.choice([1, 1, 2, 3]),
                )
            )
    QcResult.objects.bulk_create(results)
    moments = [NOW - timedelta(minutes=rng.randrange(60 * 24 * 60)) for _ in results]
    with connection.cursor() as cursor:
        for row, moment in zip(QcResult.objects.order_by("id"), moments, strict=True):
            cursor.execute(
                "UPDATE agents_qcresult SET created_at = %s WHERE id = %s", [moment, row.pk]
            )
    return acme, globex


def _figures(tenant_ids, ranges) -> dict:
    return {
        **{
            by: selectors.qc_first_attempts(tenant_ids=tenant_ids, ranges=ranges, by=by)
            for by in selectors.QC_GROUPINGS
        },
        "grains": sorted(
            selectors.qc_grains_under_floor(tenant_ids=tenant_ids, ranges=ranges),
            key=lambda row: (row["grain"], row["period"]),
        ),
    }


def _raw_figures(tenant_ids, ranges) -> dict:
    """The same selectors with no rollups to read: every result raw."""
    mark = RollupWatermark.objects.get(name=QC_WATERMARK)
    RollupWatermark.objects.filter(pk=mark.pk).update(complete_until=None)
    try:
        return _figures(tenant_ids, ranges)
    finally:
        RollupWatermark.objects.filter(pk=mark.pk).update(complete_until=mark.complete_until)


@for_any_range()
def test_rollup_and_raw_figures_are_equal_for_any_range(world, edges, midnights, which):
    acme, globex = world
    if not RollupWatermark.objects.exists():
        qc_rollups_refresh(now=NOW)
    ranges, tenant_ids = any_range(world, edges, midnights, which)
    assert _figures(tenant_ids, ranges) == _raw_figures(tenant_ids, ranges)


def test_a_long_range_reads_rollup_days_and_raw_only_at_its_edges_and_today(world):
    acme, globex = world
    qc_rollups_refresh(now=NOW)
    complete_until = RollupWatermark.objects.get(name=QC_WATERMARK).complete_until
    ranges = ComparedRanges(
        since=NOW - timedelta(days=50, hours=3), split=NOW - timedelta(days=20), until=NOW
    )
    days, raw = qc_pieces(tenant_ids=[acme.pk], ranges=ranges, complete_until=complete_until)
    assert [(d[1], (d[3] - d[2]).days) for d in days] == [("previous", 29), ("current", 19)]
    assert all(until - since < timedelta(days=1) for _, _, since, until in raw)
    assert QcResultDay.objects.filter(tenant=acme).count() > 0


def test_a_late_result_counts_at_once_and_is_rolled_into_its_day_by_the_next_refresh(world):
    acme, globex = world
    qc_rollups_refresh(now=NOW)
    qc_rollups_refresh(now=NOW)
    ranges = days_before_now(40, 7)
    before = _figures((acme.pk,), ranges)
    run = factories.run(acme, created=NOW, main_task_id="task-z", agent="late", model="m-9")
    factories.qc(run, at=NOW - timedelta(days=20), subtask="s9", passed=True, attempt=1)
    after = _figures((acme.pk,), ranges)
    assert after != before
    assert {"key": "task-z", "period": "previous", "n": 1, "passed": 1} in after["main_task_id"]
    assert after == _raw_figures((acme.pk,), ranges)

    refresh = qc_rollups_refresh(now=NOW)
    assert refresh.days == 1  # only the late result's day is counted again
    assert QcResultDay.objects.filter(tenant=acme, main_task_id="task-z").count() == 1
    assert _figures((acme.pk,), ranges) == after


def test_refreshing_twice_or_rebuilding_changes_nothing(world):
    qc_rollups_refresh(now=NOW)
    counted = sorted(QcResultDay.objects.values_list("tenant_id", "day", "subtask_id", "results"))
    qc_rollups_refresh(now=NOW)
    qc_rollups_refresh(now=NOW)
    assert qc_rollups_refresh(now=NOW).days == 0
    call_command("rollups_rebuild", stdout=StringIO())
    again = sorted(QcResultDay.objects.values_list("tenant_id", "day", "subtask_id", "results"))
    assert again == counted
    assert sum(row[3] for row in counted) == 600


def test_rebuild_reports_what_it_counted(world):
    out = StringIO()
    call_command("rollups_rebuild", stdout=out)
    assert "QC result rollups:" in out.getvalue()
    assert qc_rollups_rebuild(now=NOW).seen_id == QcResult.objects.order_by("-id").first().pk


def test_setup_schedules_declares_the_rollup_refresh_every_five_minutes(db):
    assert_every_five_minutes("agents.qc_rollups", "agents.tasks.qc_rollups")
