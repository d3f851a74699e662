"""Reconciliation over 2,000 tracks × 4 entities with 1 % mismatches (aim: the run ≤ 2× one
hand-written SQL query finding the same mismatches; a second run opens nothing).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/human_touch python bench/reconcile.py

Each run recreates its own database (bench_ht_reconcile, bench/_setup.py) and builds, in 20
tenants (through the tenants service, so each has its policy and its 2 % tolerance): 2,000 tracks,
each with a live manifest of four entities, and three observations per entity over the last
hour (24,000 rows). The latest observation of 1 % of the entities differs from the manifest —
half by a daily budget 5–20 % off, half by a status — and every other latest one is within
±1.5 % (inside the tolerance); older observations differ freely (only the latest counts).

Measured: `reconcile()` (opening an A6 for each mismatch), then a second run (which must open
nothing), next to ONE hand-written query finding the mismatches: the latest observation of each
entity against its manifest state and its tenant's tolerance. The bench checks that the first
run opened an A6 for exactly the entities the query finds.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, timedelta
from decimal import Decimal

import _http
import _setup

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--tenants", type=int, default=20)
parser.add_argument("--tracks", type=int, default=2_000)
parser.add_argument("--mismatch-pct", type=float, default=1.0, help="entities that differ (%%)")
ARGS = _setup.arguments(parser, quick={"tenants": 2, "tracks": 50, "mismatch_pct": 5.0})
_setup.django_on_bench_db("reconcile", fresh=True)

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from approvals.models import Ticket  # noqa: E402
from audit.actors import Actor  # noqa: E402
from optimization.models import (  # noqa: E402
    ExecutionManifestEntry,
    PlatformObservation,
    Reconciliation,
)
from optimization.services.reconcile import reconcile  # noqa: E402
from plans.models import Track  # noqa: E402
from tenants.services import tenant_create  # noqa: E402

ACTOR = Actor.system("bench")
ENTITIES = [("google_ads", "search", "g"), ("google_ads", "search", "h"), ("meta", "social", "m")]
ENTITIES.append(("meta", "social", "n"))
CENT = Decimal("0.01")


def build(args: argparse.Namespace, now) -> int:
    """Tenants through the service; tracks, entries and observations in bulk. Returns how many
    entities were made to differ."""
    stamp = int(now.timestamp())
    tenants = [
        tenant_create(
            slug=f"rec-{stamp}-{n}",
            name=f"Reconcile bench {n}",
            vertical="retail",
            country="DE",
            time_zone="Europe/Berlin",
            actor=ACTOR,
        )
        for n in range(args.tenants)
    ]
    tracks = Track.objects.bulk_create(
        Track(tenant=tenants[n % len(tenants)], key=f"event_t{n:05d}") for n in range(args.tracks)
    )
    rng = random.Random(17)
    entries = ExecutionManifestEntry.objects.bulk_create(
        ExecutionManifestEntry(
            tenant_id=track.tenant_id,
            track=track,
            platform=platform,
            entity_id=f"{prefix}-{track.pk}",
            channel=channel,
            plan_version=1,
            state={
                "daily_budget": str(Decimal(rng.randrange(5_000, 50_000)) / 100),
                "status": "active",
            },
            first_active_at=now - timedelta(days=30),
        )
        for track in tracks
        for platform, channel, prefix in ENTITIES
    )
    step = max(round(100 / args.mismatch_pct), 1)
    observations, mismatched = [], 0
    for n, entry in enumerate(entries):
        planned = Decimal(entry.state["daily_budget"])
        for age in (50, 30):  # older observations: anything, only the latest counts
            observations.append(
                PlatformObservation(
                    tenant_id=entry.tenant_id,
                    track_id=entry.track_id,
                    manifest_entry=entry,
                    status=rng.choice(["active", "paused"]),
                    daily_budget=(planned * Decimal(rng.uniform(0.5, 1.5))).quantize(CENT),
                    observed_at=now - timedelta(minutes=age),
                    reported_by="bench",
                )
            )
        status, budget = "active", planned * Decimal(rng.uniform(0.985, 1.015))
        if n % step == 0:
            mismatched += 1
            if (n // step) % 2:
                status = "paused"
            else:
                budget = planned * Decimal(rng.choice([0.8, 0.9, 1.1, 1.2]))
        observations.append(
            PlatformObservation(
                tenant_id=entry.tenant_id,
                track_id=entry.track_id,
                manifest_entry=entry,
                status=status,
                daily_budget=budget.quantize(CENT),
                spend_to_date=Decimal("1000.00"),
                observed_at=now - timedelta(minutes=10),
                reported_by="bench",
            )
        )
    PlatformObservation.objects.bulk_create(observations, batch_size=5_000)
    with connection.cursor() as cursor:
        for model in (ExecutionManifestEntry, PlatformObservation, Track):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    return mismatched


# --- The baseline: one hand-written query ----------------------------------------------------
MISMATCH_SQL = """
SELECT e.id
FROM optimization_executionmanifestentry e
JOIN tenants_tenantpolicy p ON p.tenant_id = e.tenant_id
JOIN LATERAL (
    SELECT o.id, o.status, o.daily_budget
    FROM optimization_platformobservation o
    WHERE o.manifest_entry_id = e.id
    ORDER BY o.observed_at DESC, o.id DESC
    LIMIT 1
) o ON true
WHERE NOT EXISTS (
        SELECT 1 FROM optimization_reconciliation r
        WHERE r.manifest_entry_id = e.id
          AND (r.status IN ('open', 'restoring') OR r.observation_id = o.id)
    )
  AND (
        (o.status <> '' AND o.status <> coalesce(e.state ->> 'status', 'active'))
     OR (o.daily_budget IS NOT NULL AND e.state ? 'daily_budget' AND CASE
            WHEN (e.state ->> 'daily_budget')::numeric = 0 THEN o.daily_budget <> 0
            ELSE abs(o.daily_budget - (e.state ->> 'daily_budget')::numeric) * 100
                 > p.reconciliation_tolerance_pct * (e.state ->> 'daily_budget')::numeric
         END)
  )
"""


def hand_written() -> tuple[float, set[int]]:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(MISMATCH_SQL)
        rows = {row[0] for row in cursor.fetchall()}
    return time.perf_counter() - started, rows


def run(label: str) -> tuple[float, int]:
    tickets = Ticket.objects.count()
    started = time.perf_counter()
    result = reconcile()
    seconds = time.perf_counter() - started
    opened = Ticket.objects.count() - tickets
    print(f"{label}: {seconds:.2f} s, {opened} A6 opened (load average {_http.load_average()})")
    for line in result.lines():
        print(f"    {line[:160]}")
    return seconds, opened


def main(args: argparse.Namespace) -> None:
    now = timezone.now().astimezone(UTC)
    started = time.perf_counter()
    mismatched = build(args, now)
    print(
        f"set-up: {Track.objects.count():,} tracks in {args.tenants} tenants, "
        f"{ExecutionManifestEntry.objects.count():,} entities, "
        f"{PlatformObservation.objects.count():,} observations, {mismatched} made to differ "
        f"({time.perf_counter() - started:.0f} s)"
    )
    hand_written()  # warms the cache the run then finds warm too
    baseline, found = hand_written()
    print(f"hand-written query: {baseline:.3f} s, {len(found)} mismatches")
    if len(found) != mismatched:
        raise SystemExit(f"the query finds {len(found)} mismatches, {mismatched} were made")

    first, opened = run("first run ")
    opened_for = set(Reconciliation.objects.values_list("manifest_entry_id", flat=True))
    if opened_for != found:
        raise SystemExit(
            f"reconcile opened for {len(opened_for)} entities, the query finds {len(found)}; "
            f"{len(opened_for ^ found)} differ"
        )
    second, opened_again = run("second run")
    again, left = hand_written()
    baseline = min(baseline, again)
    if opened_again or left:
        raise SystemExit(f"the second run opened {opened_again}; the query still finds {len(left)}")

    def verdict(name: str, seconds: float) -> str:
        within = "ok" if seconds <= 2 * baseline else "over 2×"
        return f"{name} {seconds:.2f} s = {seconds / baseline:.1f}× ({within})"

    print(f"against the hand-written query ({baseline:.3f} s; aim ≤ 2×):")
    print(f"    {verdict('second run (compares, opens nothing)', second)}")
    print(
        f"    first run {first:.2f} s = {first / baseline:.1f}× (of which opening "
        f"{opened} A6 with their tickets and audit events)"
    )
    print("the first run opened an A6 for exactly the query's mismatches; the second opened none")


if __name__ == "__main__":
    main(ARGS)
