"""The agents of the change-set benches (bench/change_sets.py, bench/faults.py): tenants with an
approved plan and a live manifest, a real agent key each, and change sets that always apply —
both entities of one channel moved 2 % up, then back down. Import after bench/_setup.py set
Django up."""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from agents.services import agent_key_create
from audit.actors import Actor
from optimization.services import manifest_sync
from plans.services import plan_version_import_approved
from tenants.services import tenant_create

ACTOR = Actor.system("bench")
TRACKS = ["always_on", "branding", "engagement"] + [f"event_e{n:03d}" for n in range(100)]
KINDS = {"always_on": "initial", "branding": "track_draft", "engagement": "track_draft"}
ENTITIES = {
    "search": [("search-1", Decimal("300.00")), ("search-2", Decimal("200.00"))],
    "social": [("social-1", Decimal("200.00")), ("social-2", Decimal("100.00"))],
}
PLATFORM = {"search": "google_ads", "social": "meta"}
CENT = Decimal("0.01")


def plan_payload() -> dict:
    today = timezone.localdate()
    start, end = today - timedelta(days=30), today + timedelta(days=29)
    days = (end - start).days + 1
    daily = {"search": 500, "social": 300}
    return {
        "objective": "purchases",
        "primary_kpi": "cpa",
        "kpi_targets": {"cpa": 40},
        "geos": ["DE"],
        "currency": "EUR",
        "start": start.isoformat(),
        "end": end.isoformat(),
        "channels": [
            {
                "channel": channel,
                "platform": PLATFORM[channel],
                "budget": str(budget * days),
                "flights": [
                    {
                        "start": start.isoformat(),
                        "end": end.isoformat(),
                        "budget": str(budget * days),
                    }
                ],
            }
            for channel, budget in daily.items()
        ],
        "creative_themes": ["all year"],
        "messaging": "Always on.",
    }


def entity_of(name: str, agent: int) -> str:
    """Entity ids are unique in a tenant: each agent's track has its own."""
    return f"{name}-a{agent}"


class Agent:
    """One agent: its key, its track and what it knows of its entities' live budgets."""

    def __init__(self, number: int, tenant, track: str, key: str):
        self.number = number
        self.tenant = tenant
        self.track = track
        self.authorization = f"Bearer {key}"
        self.live = {
            entity_of(name, number): budget
            for members in ENTITIES.values()
            for name, budget in members
        }
        self.start = dict(self.live)
        self.sent = 0
        self.refused: list[str] = []

    def next_change_set(self) -> dict:
        """Both entities of one channel, 2 % of their starting budget up on even rounds of that
        channel, back down on odd ones: far inside the 10 % move and the 15 % drift."""
        channel = list(ENTITIES)[self.sent % 2]
        up = (self.sent // 2) % 2 == 0
        items = []
        for name, _budget in ENTITIES[channel]:
            entity = entity_of(name, self.number)
            before = self.live[entity]
            move = (self.start[entity] * Decimal("0.02")).quantize(CENT)
            after = before + move if up else before - move
            items.append(
                {
                    "entity_id": entity,
                    "field": "daily_budget",
                    "before": str(before),
                    "after": str(after),
                }
            )
        self.sent += 1
        return {
            "change_set_id": f"cs-{self.number}-{self.sent:06d}",
            "track": self.track,
            "agent": f"optimizer-{self.number}",
            "reason": "Shift budget towards the better CPA.",
            "items": items,
        }

    def applied(self, change_set: dict) -> None:
        for item in change_set["items"]:
            self.live[item["entity_id"]] = Decimal(item["after"])


def make_agents(args: argparse.Namespace) -> list[Agent]:
    stamp = int(time.time())
    tenants = [
        tenant_create(
            slug=f"change-sets-{stamp}-{n}",
            name=f"Change-set bench {n}",
            vertical="retail",
            country="DE",
            time_zone="Europe/Berlin",
            actor=ACTOR,
            # Every change set applies by itself: no client sign-off on these small moves.
            policy={"client_must_approve_budget_increase": False},
        )
        for n in range(args.tenants)
    ]
    payload = plan_payload()
    agents = []
    for number in range(args.agents):
        tenant = tenants[number % len(tenants)]
        track = TRACKS[number // len(tenants)]
        plan_version_import_approved(
            tenant=tenant,
            track_key=track,
            kind=KINDS.get(track, "event_draft"),
            payload=payload,
            actor=ACTOR,
            approved_by="bench",
        )
        manifest_sync(
            tenant=tenant,
            track_key=track,
            entries=[
                {
                    "platform": PLATFORM[channel],
                    "entity_id": entity_of(entity, number),
                    "channel": channel,
                    "plan_version": 1 + number // len(tenants),
                    "state": {"daily_budget": str(budget), "status": "active"},
                }
                for channel, members in ENTITIES.items()
                for entity, budget in members
            ],
            actor=ACTOR,
            launched_by="bench",
        )
        _key, plain = agent_key_create(tenant=tenant, name=f"optimizer-{number}", actor=ACTOR)
        agents.append(Agent(number, tenant, track, plain))
    return agents
