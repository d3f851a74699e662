"""The project-wide commands live in the ops app with ordinary imports (issue 15 item 5): every
app's demo part and schedules are named there, and a broken part fails the command."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from ops.management.commands import seed_demo, setup_schedules

ROOT = Path(__file__).resolve().parent.parent
APPS = ["tenants", "plans", "optimization", "agents", "approvals", "audit", "metrics"]


def test_seed_demo_runs_the_demo_part_of_every_app_that_has_one():
    with_demo = {app for app in APPS if (ROOT / app / "demo.py").exists()}

    assert {app for app, _seed in seed_demo.DEMO_PARTS} == with_demo
    assert [app for app, _seed in seed_demo.DEMO_PARTS][:1] == ["tenants"]


def test_setup_schedules_declares_the_schedules_of_every_app_that_has_tasks():
    declared = {spec["name"] for spec in setup_schedules.SCHEDULES}

    for app in APPS:
        if (ROOT / app / "tasks.py").exists():
            module = __import__(f"{app}.tasks", fromlist=["SCHEDULES"])
            assert {spec["name"] for spec in module.SCHEDULES} <= declared, app


@pytest.mark.django_db
def test_a_demo_part_that_fails_fails_seed_demo_instead_of_being_skipped(monkeypatch):
    def broken(*, log):
        raise ModuleNotFoundError("No module named 'plans.demo_data'", name="plans.demo_data")

    parts = [(app, broken if app == "plans" else seed) for app, seed in seed_demo.DEMO_PARTS]
    monkeypatch.setattr(seed_demo, "DEMO_PARTS", parts)
    out = StringIO()

    with pytest.raises(ModuleNotFoundError):
        call_command("seed_demo", stdout=out)
    assert "demo world ready" not in out.getvalue()
    assert "tenants: " in out.getvalue()
