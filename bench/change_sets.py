"""Change sets per second through the API: POST /api/v1/change-sets over HTTP, 8 agents at once,
each change set applied within the guardrails, next to a trivial JSON view served the same way.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/human_touch python bench/change_sets.py

Each run recreates its own database (bench_ht_change_sets, bench/_setup.py) and, through the
services, 4 tenants, and for each of the 8 agents a real agent key of its tenant and a track of
its own (two agents per tenant, so they share their tenant's audit chain; `--tenants 8` gives
each its own) with an approved plan (search €500 and social €300 a day) and a live manifest of
two entities per channel.

Served by gunicorn (2 workers, production settings, bench/_http.py). Each agent sends change sets
one after the other on its own track: both entities of one channel moved by 2 % of their
starting budget, up then back down, so every channel stays within the 10 % move and the 15 %
drift and every change set applies at once (status `applied`, no ticket). Each one is what a
real change set costs: the key, the idempotency record, the checks, the entities locked and
compared, the guardrails (live, planned and drift figures), the change set, its items, log
events, applied changes, the live state and two audit events.

Also printed: the cost of the drift read the guardrails make for each change set (the one drift
selector, optimization/drift.py) next to the read they made before issue 16, on the agents'
tracks after the run (aim: no more than 1.2×).

Printed: change sets per second and their p50/p99 latency, next to the trivial view (a POST of
a small JSON body answered with JSON) driven by the same 8 clients for as long in the same run,
as a ratio; that every change set applied; that every entity's live budget equals its starting
budget plus the applied deltas (no lost update); and the statements one change set takes.
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from decimal import Decimal

import _setup

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--agents", type=int, default=8, help="concurrent agents (clients)")
parser.add_argument("--tenants", type=int, default=4)
parser.add_argument("--seconds", type=float, default=20)
parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
parser.add_argument("--warm-up", type=float, default=1, help="seconds not counted, first")
parser.add_argument(
    "--show-statements", action="store_true", help="print the SQL of one change set's statements"
)
ARGS = _setup.arguments(parser, quick={"agents": 4, "tenants": 2, "seconds": 1, "warm_up": 0.3})
# A fresh database each run: exactly these tracks, and drift counted from this run's plans.
_setup.django_on_bench_db("change_sets", fresh=True)

import _http  # noqa: E402
from _agents import ENTITIES, Agent, make_agents  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Count, Sum  # noqa: E402
from django.test import Client as DjangoClient  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.utils import timezone  # noqa: E402

from optimization.drift import channel_drift_rows  # noqa: E402
from optimization.models import AppliedChange, ChangeSet, ExecutionManifestEntry  # noqa: E402
from plans.diff import planned_daily_budget  # noqa: E402
from plans.models import Track  # noqa: E402
from plans.schema import parse_payload  # noqa: E402


def change_set_work(agents: list[Agent]):
    def work(client: _http.Client, number: int, running) -> None:
        agent = agents[number]
        while running():
            change_set = agent.next_change_set()
            status, answer = client.send(
                "change set",
                "/api/v1/change-sets",
                change_set,
                {"Authorization": agent.authorization},
            )
            if status == 201 and answer["status"] == "applied":
                agent.applied(change_set)
            elif status is not None:
                # Told at the end: this agent stops here (its idea of the live state is wrong).
                agent.refused.append(f"agent {number}: {status} {answer}")
                return

    return work


def lost_updates() -> int:
    """Entities whose live budget is not their starting one plus every delta applied to it."""
    start = {name: budget for members in ENTITIES.values() for name, budget in members}
    wrong = 0
    for entry in ExecutionManifestEntry.objects.all():
        moved = sum(
            (row.delta for row in entry.applied_changes.all() if row.delta is not None),
            Decimal("0"),
        )
        if Decimal(entry.state["daily_budget"]) != start[entry.entity_id.rsplit("-", 1)[0]] + moved:
            wrong += 1
    return wrong


def statements_of_one(agent: Agent) -> int:
    """The statements of one change set, the whole request in-process."""
    served = override_settings(ROOT_URLCONF="_served_urls", ALLOWED_HOSTS=["testserver"])
    with served, CaptureQueriesContext(connection) as queries:
        change_set = agent.next_change_set()
        response = DjangoClient().post(
            "/api/v1/change-sets",
            change_set,
            content_type="application/json",
            headers={"authorization": agent.authorization},
            secure=True,
        )
    assert response.status_code == 201 and response.json()["status"] == "applied"
    agent.applied(change_set)
    if ARGS.show_statements:
        for number, query in enumerate(queries.captured_queries, 1):
            print(f"    {number:2d}. {query['sql'][:160]}")
    return len(queries)


def drift_before_issue_16(track, now) -> dict[str, Decimal]:
    """What the guardrails read of drift before issue 16 (kept here as the baseline): one
    aggregate of the moves since the current version's approval or the window's start,
    whichever is later, and the current version's planned daily budgets."""
    version, policy = track.current_version, track.tenant.policy
    since = max(version.approved_at, now - timedelta(days=policy.drift_window_days))
    payload = parse_payload(version.payload)
    planned = {
        c.channel: planned_daily_budget(payload, c.channel, track.tenant.today(now))
        for c in payload.channels
    }
    rows = (
        AppliedChange.objects.filter(track=track, field="daily_budget", applied_at__gte=since)
        .values("channel")
        .annotate(net=Sum("delta"))
    )
    return {row["channel"]: (row["net"], planned.get(row["channel"])) for row in rows}


def drift_selector_cost(agents: list[Agent], rounds: int) -> tuple[float, float]:
    """Milliseconds of one drift read per change set — the one drift selector the guardrails
    read now (optimization/drift.py), and the read before issue 16 — on the agents' tracks
    after the run (every move of the run in their window), best of five rounds each, the two
    reads' rounds taken in turns."""
    tracks = [
        Track.objects.select_related("tenant", "tenant__policy", "current_version").get(
            tenant=agent.tenant, key=agent.track
        )
        for agent in agents
    ]
    now = timezone.now()
    for track in tracks:  # the same figures
        old = drift_before_issue_16(track, now)
        new = {row.channel: row.net for row in channel_drift_rows(track=track, now=now)}
        assert all(new.get(channel) == net for channel, (net, _p) in old.items()), (old, new)

    def one_round(read) -> float:
        started = time.perf_counter()
        for _ in range(rounds):
            for track in tracks:
                read(track)
        return (time.perf_counter() - started) / (rounds * len(tracks))

    # Taken in turns, so a burst of load on the shared machine falls on both reads alike.
    before, after = [], []
    for _ in range(5):
        before.append(one_round(lambda track: drift_before_issue_16(track, now)))
        after.append(one_round(lambda track: channel_drift_rows(track=track, now=now)))
    return min(before) * 1000, min(after) * 1000


def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    agents = make_agents(args)
    print(
        f"set-up: {args.agents} agents (keys, tracks, approved plans, manifests) in "
        f"{args.tenants} tenants ({time.perf_counter() - started:.1f} s)"
    )
    with _http.gunicorn(workers=args.workers) as server:
        load_before = _http.load_average()
        ping = _http.drive(
            server,
            clients=args.agents,
            seconds=args.seconds,
            warm_up=args.warm_up,
            work=_http.ping_work,
        )
        load = _http.drive(
            server,
            clients=args.agents,
            seconds=args.seconds,
            warm_up=args.warm_up,
            work=change_set_work(agents),
        )
        load_after = _http.load_average()
    rate, ping_rate = load.rate("change set"), ping.rate("ping")
    print(
        f"\n{args.agents} agents, {args.seconds:g} s each, gunicorn {args.workers} workers "
        f"(load average {load_before} before, {load_after} after)"
    )
    print(f"    trivial JSON view  {_http.describe(ping, 'ping')}")
    print(f"    change sets        {_http.describe(load, 'change set')}")
    print(f"    ratio: {rate / ping_rate:.1%} of the trivial view's requests per second")
    if load.errors or ping.errors:
        print(f"    connection errors: {dict(load.errors + ping.errors)}")
    statuses = dict(ChangeSet.objects.values_list("status").annotate(n=Count("id")))
    wrong = lost_updates()
    print(
        f"change sets by status: {statuses}; entities whose live budget is not start + applied "
        f"deltas: {wrong}"
    )
    cold = statements_of_one(agents[0])  # this process has not seen the key yet
    warm = statements_of_one(agents[0])  # the key in the process's cache (AGENT_KEY_CACHE_SECONDS)
    print(
        f"statements of one change set (the request in-process, BEGIN and COMMIT included): "
        f"{warm} (aim ≤ 12; before issue 21: 31), {cold} with the key not yet in the cache"
    )
    before, after = drift_selector_cost(agents, rounds=20 if args.seconds < 5 else 100)
    print(
        f"drift read per change set: {after:.2f} ms (optimization/drift.py) against "
        f"{before:.2f} ms before issue 16 = {after / before:.2f}× (aim ≤ 1.2×)"
    )
    refused = [line for agent in agents for line in agent.refused]
    if wrong or refused or set(statuses) != {"applied"}:
        raise SystemExit("a change set did not apply, or a move was lost\n" + "\n".join(refused))


if __name__ == "__main__":
    main(ARGS)
