"""The example agent (clients/python/examples/optimizer.py), run as its README says, against a
live server holding seed_demo's world: it reads the plan and a week of performance, is stopped by
a guardrail on its social cut, waits for the operator's decision and goes on within the
guardrails."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command

from agents.services import agent_key_create
from approvals.models import Ticket
from approvals.services import ticket_decide
from audit.actors import Actor
from optimization.models import ChangeSet, ExecutionManifestEntry
from tenants.models import Tenant
from tests.conftest import TEST_ACTOR

pytestmark = pytest.mark.django_db(transaction=True)

EXAMPLE = Path(__file__).resolve().parents[2] / "clients" / "python" / "examples" / "optimizer.py"
DEMO_DAY = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def demo(live_server):
    with time_machine.travel(DEMO_DAY, tick=True):
        call_command("seed_demo", stdout=StringIO())
        yield live_server


def live(entity_id: str) -> str:
    return ExecutionManifestEntry.objects.get(entity_id=entity_id).state["daily_budget"]


def test_the_example_agent_is_stopped_by_a_guardrail_waits_for_the_operator_and_goes_on(demo):
    from django.contrib.auth import get_user_model

    _key, plain = agent_key_create(
        tenant=Tenant.objects.get(slug="acme"), name="example", actor=TEST_ACTOR
    )
    agent = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "--poll", "0.2", "--wait", "60"],
        env={**os.environ, "HT_BASE_URL": demo.url, "HT_API_KEY": plain, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    said = []
    try:
        # The operator decides once the agent has said it stopped (it reads the ticket's pending
        # roles first; deciding earlier would race that read). The agent's --wait bounds this.
        for line in agent.stdout:
            said.append(line)
            if line.startswith("Stopped by a guardrail"):
                break
        waiting = ChangeSet.objects.filter(
            agent="example-optimizer", status="pending_approval"
        ).first()
        assert waiting is not None, ("".join(said), agent.communicate(timeout=5))
        assert live("acme-social-prospecting") == "300.00"  # nothing applied while it waits
        operator = get_user_model().objects.get(username="operator")
        ticket_decide(
            ticket=Ticket.objects.get(public_id=waiting.ticket),
            actor=Actor.for_user(operator),
            verdict="approve",
            comment="Social is expensive this week; cut it.",
        )
        out, err = agent.communicate(timeout=60)
        out = "".join(said) + out
    finally:
        if agent.poll() is None:
            agent.kill()

    assert agent.returncode == 0, err
    assert f"Stopped by a guardrail: {waiting.ticket} waits for operator" in out
    assert f"{waiting.ticket} is approved: operator (approve)." in out
    assert "social: €2110.00 spent for 46 conversions last week, CPA €45.87." in out
    change_sets = list(ChangeSet.objects.filter(agent="example-optimizer").order_by("created_at"))
    assert [c.status for c in change_sets] == ["applied", "applied"]
    assert change_sets[0].run_id == change_sets[1].run_id
    assert live("acme-social-prospecting") == "255.00"
    assert live("acme-search-generic") == "446.50"
