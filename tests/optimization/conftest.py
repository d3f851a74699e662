"""The optimization world of the tests: acme's approved winter plan (v1) and its live manifest on
10 November 2026, when the November flights run — search plans €500 a day (€15,000 over 30
days), social €333.33."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from optimization.services import manifest_sync
from tenants.models import Role
from tests.conftest import TEST_ACTOR

NOW = datetime(2026, 11, 10, 10, 0, tzinfo=UTC)


@pytest.fixture
def on_10_november():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def entry(entity_id, channel, daily_budget, status="active", platform=None):
    return {
        "platform": platform or ("google_ads" if channel == "search" else "meta"),
        "entity_id": entity_id,
        "channel": channel,
        "plan_version": 1,
        "state": {"daily_budget": daily_budget, "status": status, "bid_strategy": "target_cpa"},
    }


@pytest.fixture
def live(on_10_november, acme, acme_v1):
    """Search runs €300 + €200 a day (its plan's €500), social €333.33; one search ad set was
    created paused and has never been live."""
    manifest_sync(
        tenant=acme,
        track_key="always_on",
        entries=[
            entry("search-brand", "search", "300.00"),
            entry("search-generic", "search", "200.00"),
            entry("social-prospecting", "social", "333.33"),
            entry("search-new", "search", "0.00", status="paused"),
        ],
        actor=TEST_ACTOR,
        launched_by="tests",
    )
    return acme


@pytest.fixture
def people(acme, make_member):
    return {
        Role.OPERATOR: make_member("otto", acme, Role.OPERATOR),
        Role.PLANNER: make_member("pia", acme, Role.PLANNER),
        Role.CLIENT: make_member("carla", acme, Role.CLIENT),
        Role.ADMIN: make_member("ada", acme, Role.ADMIN),
    }
