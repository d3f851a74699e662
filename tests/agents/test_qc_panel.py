"""The dashboard's QC alerts: beside the red-flag lane and distinct from it, a task or subtask
grain under its success floor (rate, floor, sample, since when) and the grains that recovered
in the last week. QC results are recorded through the real service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from agents.models import QcAlert
from agents.services import qc_result_record, run_create
from agents.views_queries import PANEL_LIMIT, qc_alerts
from tenants.models import Role
from tenants.services import tenant_policy_update
from tests.conftest import TEST_ACTOR

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def small_samples(acme, globex):
    """Two results are a sample (the default is 20), so a test fails a grain in a few calls."""
    for tenant in (acme, globex):
        tenant_policy_update(tenant=tenant, actor=TEST_ACTOR, changes={"min_sample_global": 2})


def a_run(tenant, run_id, task):
    return run_create(
        tenant=tenant,
        run_id=run_id,
        main_task_id=task,
        agent="reporting-agent",
        model="gpt-5-mini",
        estimated_cost_usd="1.00",
        actor=TEST_ACTOR,
    )


def results(run, subtask, *verdicts):
    for passed in verdicts:
        qc_result_record(
            run=run,
            subtask_id=subtask,
            passed=passed,
            failure_codes=[] if passed else ["tone"],
            attempt=1,
        )


@pytest.fixture
def operator_client(client, acme, make_member):
    client.force_login(make_member("otto", acme, Role.OPERATOR))
    return client


def test_an_open_alert_shows_its_grain_rate_floor_sample_and_since_when(
    operator_client, acme, globex, small_samples
):
    with time_machine.travel(NOW, tick=False):
        results(a_run(acme, "r1", "weekly-report"), "draft-copy", False, False, True)
        results(a_run(globex, "g1", "globex-task"), "x", False, False)

    page = operator_client.get(reverse("dashboard")).content.decode()
    panel = page[page.find('data-testid="qc-alerts"') :]

    assert page.find('data-testid="redflag-lane"') < page.find('data-testid="qc-alerts"')
    assert "QC alerts" in panel and "2 open" in panel
    assert "weekly-report</a> › <span" in panel and "draft-copy" in panel
    assert ">subtask<" in panel and ">main task<" in panel
    # The figures the grain fell with (the alert keeps them until it recovers).
    assert "<strong>0%</strong>" in panel and "floor 80%" in panel
    assert "sample</span> 2" in panel
    assert "since 20 Nov 2026 10:00 CET" in panel
    assert 'href="/t/acme/runs/?main_task=weekly-report"' in panel
    assert "globex-task" not in page  # another tenant's grain


def test_a_recovered_grain_says_when_and_leaves_the_open_list(operator_client, acme, small_samples):
    run = a_run(acme, "r1", "weekly-report")
    with time_machine.travel(NOW, tick=False):
        results(run, "draft-copy", False, False)
    with time_machine.travel(NOW + timedelta(hours=3), tick=False):
        results(run, "draft-copy", *[True] * 8)
    assert QcAlert.objects.filter(recovered_at__isnull=True).count() == 0

    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        page = operator_client.get(reverse("dashboard")).content.decode()
    panel = page[page.find('data-testid="qc-alerts"') :]

    assert "0 open" in panel
    assert "Every task grain with enough QC results passes above its success floor." in panel
    assert "Recovered in the last 7 days" in panel
    assert panel.count('data-testid="qc-recovered"') == 2  # the subtask and its main task
    assert "0% → <strong>80%</strong>" in panel
    assert "20 Nov 2026 13:00 CET" in panel

    with time_machine.travel(NOW + timedelta(days=8), tick=False):
        later = operator_client.get(reverse("dashboard")).content.decode()
    assert 'data-testid="qc-recovered"' not in later


def test_the_panel_keeps_to_its_limit_of_each_kind(acme, small_samples):
    with time_machine.travel(NOW, tick=False) as traveller:
        for n in range(PANEL_LIMIT + 3):
            traveller.shift(timedelta(minutes=1))
            results(a_run(acme, f"r{n}", f"task-{n:02d}"), "", False, False)
        recovering = a_run(acme, "back", "task-back")
        results(recovering, "", False, False)
        results(recovering, "", *[True] * 8)

        open_alerts, recovered = qc_alerts(tenant_ids=[acme.pk])

    assert len(open_alerts) == PANEL_LIMIT + 1  # one more than shown: "10+ open"
    assert open_alerts[0].main_task_id == f"task-{PANEL_LIMIT + 2:02d}"  # newest first
    assert [a.main_task_id for a in recovered] == ["task-back"]
