"""A small optimization agent, guarded by Human Touch.

It reads the approved plan of a track and a week of performance, cuts the budget of the channel
furthest above its CPA target, is stopped by a guardrail (the cut is beyond what agents may do
alone, so it waits for a person on an A3 ticket), waits for the decision, and continues: after an
approval it trims the next channel within the guardrails; after a rejection it proposes a cut
small enough to apply by itself. Every step passes the gate of its run first.

Against `make run`'s demo world, in a second terminal:

    make example-agent

which creates a key for acme and runs

    HT_BASE_URL=http://127.0.0.1:8000 HT_API_KEY=ht_… python clients/python/examples/optimizer.py

Approve (or reject) the A3 it names as `operator` on its ticket page while it waits.

Where an agent in production asks Google Ads, Meta and GA4 for live budgets and results, this one
asks `DemoPlatform`, which holds the demo world's figures as `seed_demo` leaves them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from human_touch_client import Blocked, Client, Conflict, WaitTimeout

AGENT = "example-optimizer"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Entity:
    entity_id: str
    channel: str
    daily_budget: Decimal


@dataclass(frozen=True)
class ChannelWeek:
    channel: str
    spend: Decimal
    conversions: Decimal

    @property
    def cpa(self) -> Decimal:
        return (self.spend / self.conversions).quantize(CENT)


class DemoPlatform:
    """The ad platforms' and GA4's answers in the demo world (acme's always_on track on
    `seed_demo`'s day): the live daily budgets and last week's results per channel."""

    source = "ga4"

    def live_entities(self) -> list[Entity]:
        return [
            Entity("acme-search-brand", "search", Decimal("360.00")),
            Entity("acme-search-generic", "search", Decimal("470.00")),
            Entity("acme-social-prospecting", "social", Decimal("300.00")),
        ]

    def last_week(self) -> list[ChannelWeek]:
        return [
            ChannelWeek("search", Decimal("5740.00"), Decimal("140")),
            ChannelWeek("social", Decimal("2110.00"), Decimal("46")),
        ]


def scaled(amount: Decimal, factor: str) -> Decimal:
    return (amount * Decimal(factor)).quantize(CENT, rounding=ROUND_HALF_UP)


def budget_item(entity: Entity, after: Decimal) -> dict:
    return {
        "entity_id": entity.entity_id,
        "field": "daily_budget",
        "before": str(entity.daily_budget),
        "after": str(after),
    }


def optimize(
    client: Client,
    platform: DemoPlatform,
    *,
    track: str,
    wait: float,
    poll: float,
    say: Callable[[str], None],
) -> int:
    with client.run(
        task="budget-pacing", estimate_usd="0.05", agent=AGENT, model="rules-v1"
    ) as run:
        say(f"Run {run.id} started.")

        run.step("tool_round")
        plan = client.plans.current(track)
        kpi = plan.payload["primary_kpi"]
        target = Decimal(str(plan.payload["kpi_targets"][kpi]))
        say(f"{track}: v{plan.number} is approved, {kpi} target €{target}.")

        run.step("tool_round")
        week = platform.last_week()
        for channel in week:
            say(
                f"{channel.channel}: €{channel.spend} spent for {channel.conversions} "
                f"conversions last week, CPA €{channel.cpa}."
            )
        worst = max(week, key=lambda c: c.cpa / target)
        if worst.cpa <= target:
            say("Every channel meets its target: nothing to change.")
            return 0
        entities = [e for e in platform.live_entities() if e.channel == worst.channel]
        biggest = max(entities, key=lambda e: e.daily_budget)

        run.step("tool_round")
        cut = scaled(biggest.daily_budget, "0.85")
        outcome = run.change_set(
            track=track,
            items=[budget_item(biggest, cut)],
            reason=f"{worst.channel} CPA €{worst.cpa} against a target of €{target}: cut "
            f"{biggest.entity_id} by 15%.",
        )
        say(
            f"Proposed {biggest.entity_id} €{biggest.daily_budget} → €{cut}: {outcome.status}. "
            f"{outcome.reason}"
        )
        if not outcome.pending:
            return 0

        ticket = client.tickets.get(outcome.ticket)
        say(
            f"Stopped by a guardrail: {ticket.ticket} waits for "
            f"{', '.join(ticket.pending_roles)} — decide it at "
            f"{client.base_url}/tickets/{ticket.ticket}/"
        )
        decided = client.tickets.wait(ticket.ticket, timeout=wait, poll=poll)
        who = ", ".join(f"{d.role} ({d.verdict})" for d in decided.decisions)
        say(f"{decided.ticket} is {decided.status}: {who}.")

        run.step("step")
        if decided.approved:
            applied = client.change_sets.get(outcome.change_set_id)
            say(
                f"{outcome.change_set_id} is {applied.status}: {biggest.entity_id} now "
                f"€{applied.items[0].applied_after}."
            )
            others = [c for c in week if c.channel != worst.channel and c.cpa > target]
            if not others:
                return 0
            nxt = others[0]
            entity = max(
                (e for e in platform.live_entities() if e.channel == nxt.channel),
                key=lambda e: e.daily_budget,
            )
            item = budget_item(entity, scaled(entity.daily_budget, "0.95"))
            reason = f"{nxt.channel} CPA €{nxt.cpa} is above €{target} too: trim 5%."
        else:
            item = budget_item(biggest, scaled(biggest.daily_budget, "0.95"))
            reason = f"The 15% cut was {decided.status}; a 5% cut stays within the guardrails."
        run.step("tool_round")
        follow_up = run.change_set(track=track, items=[item], reason=reason)
        say(
            f"Then {item['entity_id']} €{item['before']} → €{item['after']}: "
            f"{follow_up.status}. {follow_up.reason}"
        )
        return 0


def main(argv: list[str] | None = None, say: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--base-url", default=os.environ.get("HT_BASE_URL", "http://127.0.0.1:8000")
    )
    parser.add_argument("--track", default="always_on")
    parser.add_argument("--wait", type=float, default=1800, help="seconds to wait for people")
    parser.add_argument("--poll", type=float, default=2, help="first wait between looks")
    args = parser.parse_args(argv)
    api_key = os.environ.get("HT_API_KEY")
    if not api_key:
        parser.error("set HT_API_KEY (manage.py agent_key_create --tenant acme --name …)")
    with Client(base_url=args.base_url, api_key=api_key) as client:
        try:
            return optimize(
                client, DemoPlatform(), track=args.track, wait=args.wait, poll=args.poll, say=say
            )
        except Blocked as blocked:
            say(f"Stopped: {blocked}. A person has to resolve it before this run goes on.")
            return 2
        except WaitTimeout as timeout:
            say(f"Gave up waiting: {timeout}")
            return 3
        except Conflict as conflict:
            if conflict.error != "stale_before":
                raise
            say(
                f"The live state moved: {conflict.detail} This example knows the demo world as "
                "seed_demo leaves it; start from a fresh demo database to run it again."
            )
            return 4


if __name__ == "__main__":
    sys.exit(main())
