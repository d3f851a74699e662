"""Plan diffs and version numbering, each next to a baseline from the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/human_touch python bench/plans.py

1. Diff + client summary (plan_revise_summary: validation of both payloads, the structured diff,
   sentences, budget table) for a plan of 50 channels × 12 flights. Target: under 20 ms a call.
   Baseline: a plain deep copy + JSON round trip of the same two payloads.
2. Version creation with 8 concurrent writers on ONE tenant (PostgreSQL): plan_version_create_draft
   (validate, classify, claim the per-tenant number, insert, audit), each in its own transaction.
   Baseline: the same threads inserting the same rows into a plain copy of the table (no counter,
   no validation, no audit), one INSERT per transaction. Every run makes a fresh tenant, in its own
   bench_ht_plans database (bench/_setup.py).
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import threading
import time
from datetime import date, timedelta
from decimal import Decimal

import _setup

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--repeat", type=int, default=50)
parser.add_argument("--writers", type=int, default=8)
parser.add_argument("--count", type=int, default=50, help="versions per writer")
ARGS = _setup.arguments(parser, quick={"repeat": 5, "writers": 4, "count": 5})
_setup.django_on_bench_db("plans")

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from audit.actors import Actor  # noqa: E402
from audit.chain import sha256_of  # noqa: E402
from plans.models import PlanVersion  # noqa: E402
from plans.schema import canonical_payload  # noqa: E402
from plans.services import plan_version_create_draft  # noqa: E402
from plans.summary import plan_revise_summary  # noqa: E402
from tenants.models import Tenant, TenantPolicy  # noqa: E402

PLAIN_TABLE = "bench_plain_planversion"
START = date(2027, 1, 1)


def big_plan(channels: int = 50, flights: int = 12, bump: bool = False) -> dict:
    rows = []
    for c in range(channels):
        flight_rows = []
        for f in range(flights):
            first = START + timedelta(days=30 * f)
            budget = Decimal(1000 + 10 * c) + (
                Decimal(150) if bump and c % 3 == 0 and f == 6 else 0
            )
            flight_rows.append(
                {
                    "start": first.isoformat(),
                    "end": (first + timedelta(days=29)).isoformat(),
                    "budget": str(budget),
                }
            )
        rows.append(
            {
                "channel": f"channel_{c:02d}",
                "platform": "google_ads" if c % 2 else "meta",
                "budget": str(sum(Decimal(f["budget"]) for f in flight_rows)),
                "flights": flight_rows,
            }
        )
    return {
        "objective": "purchases",
        "primary_kpi": "cpa",
        "kpi_targets": {"cpa": "36" if bump else "40"},
        "geos": ["DE", "AT", "CH"],
        "currency": "EUR",
        "start": START.isoformat(),
        "end": (START + timedelta(days=30 * flights)).isoformat(),
        "channels": rows,
        "creative_themes": ["spring", "summer"] + (["autumn"] if bump else []),
        "messaging": "All year, well made.",
    }


def timed(fn, repeat: int) -> list[float]:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return times


def bench_diff(repeat: int) -> None:
    before, after = big_plan(), big_plan(bump=True)
    summary_ms = timed(lambda: plan_revise_summary(before, after), repeat)
    baseline_ms = timed(lambda: json.loads(json.dumps(copy.deepcopy([before, after]))), repeat)
    result = plan_revise_summary(before, after)
    median, baseline = statistics.median(summary_ms), statistics.median(baseline_ms)
    print("1. diff + client summary, 50 channels × 12 flights (median of", repeat, "calls)")
    print(f"   plan_revise_summary      {median:8.2f} ms/call  (p95 {_p95(summary_ms):.2f} ms)")
    print(f"   deepcopy + JSON baseline {baseline:8.2f} ms/call")
    print(
        f"   ratio {median / baseline:.1f}x; target < 20 ms: {'met' if median < 20 else 'MISSED'}"
    )
    print(f"   ({len(result['summary'])} sentences, {len(result['budget_table']['rows'])} rows)")


def _p95(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.95) - 1]


def fresh_tenant() -> Tenant:
    slug = f"bench-plans-{int(time.time() * 1000)}"
    tenant = Tenant.objects.create(slug=slug, name=slug, vertical="retail", country="DE")
    TenantPolicy.objects.create(tenant=tenant)
    return tenant


def run_threads(target, writers: int, count: int) -> float:
    barrier = threading.Barrier(writers + 1)
    errors: list[str] = []

    def body(writer: int) -> None:
        try:
            barrier.wait()
            target(writer, count)
        except Exception as exc:  # noqa: BLE001 (reported below: a writer that fails fails the bench)
            errors.append(f"writer {writer}: {exc!r}")
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit("\n".join(errors))
    return time.perf_counter() - started


def bench_numbering(writers: int, count: int) -> None:
    tenant = fresh_tenant()
    payload = {
        **big_plan(channels=3, flights=3),
        "start": "2027-01-01",
        "end": "2027-03-31",
    }
    canonical = canonical_payload(payload)
    actor = Actor.service("bench")

    def service_writer(writer: int, n: int) -> None:
        for _ in range(n):
            plan_version_create_draft(
                tenant=tenant,
                track_key=f"event_w{writer}",
                kind="event_draft",
                payload=payload,
                actor=actor,
            )

    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PLAIN_TABLE}")
        cursor.execute(f"CREATE TABLE {PLAIN_TABLE} (LIKE plans_planversion INCLUDING ALL)")
    track_ids = {}

    def plain_writer(writer: int, n: int) -> None:
        insert = (
            f"INSERT INTO {PLAIN_TABLE} (tenant_id, track_id, number, kind, status, payload, "
            "payload_hash, path, path_reason, trigger, reason, created_at, created_by, "
            "submitted_by, approved_by, superseded_by, rejected_by, discarded_by, updated_at, "
            "carry_collisions) "
            "VALUES (%s, %s, %s, 'event_draft', 'draft', %s, %s, 'event_draft', '', 'api', '', "
            "%s, 'bench', '', '', '', '', '', %s, '[]')"
        )
        body = json.dumps(canonical)
        digest = sha256_of(canonical)
        for i in range(n):
            with transaction.atomic(), connection.cursor() as cursor:
                now = timezone.now()
                cursor.execute(
                    insert,
                    [
                        tenant.pk,
                        track_ids[writer],
                        1_000_000 + writer * n + i,
                        body,
                        digest,
                        now,
                        now,
                    ],
                )

    service_seconds = run_threads(service_writer, writers, count)
    for writer in range(writers):
        track_ids[writer] = (
            PlanVersion.objects.filter(tenant=tenant, track__key=f"event_w{writer}")
            .values_list("track_id", flat=True)
            .first()
        )
    plain_seconds = run_threads(plain_writer, writers, count)
    numbers = sorted(PlanVersion.objects.filter(tenant=tenant).values_list("number", flat=True))
    total = writers * count
    assert numbers == list(range(1, total + 1)), "numbers have a gap or a duplicate"
    print(f"2. version creation, {writers} concurrent writers × {count} on one tenant (PostgreSQL)")
    print(f"   plan_version_create_draft {total / service_seconds:8.0f} versions/s")
    print(f"   plain INSERT baseline     {total / plain_seconds:8.0f} rows/s")
    print(
        f"   ratio {plain_seconds and service_seconds / plain_seconds:.1f}x slower; "
        f"numbers 1..{total}, no gap, no duplicate"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PLAIN_TABLE}")


def main(args: argparse.Namespace) -> None:
    bench_diff(args.repeat)
    bench_numbering(args.writers, args.count)


if __name__ == "__main__":
    main(ARGS)
