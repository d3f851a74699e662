"""How much the audit hash chain costs over a plain INSERT (target: at most 2x), one by one and
in bulk.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/human_touch python bench/audit_append.py

4 writer threads (each its own connection) append 20,000 events to ONE tenant's chain, each
event in its own transaction like a service does, so all four contend for the one chain head.
The baseline inserts the same rows, with the same threads and transaction shape, into a plain
copy of the table (same columns, indexes and foreign key, no chain, no triggers). For comparison
it also runs the chain with one tenant per writer (no contention).

Bulk (issue 21, aim >= 50,000 events/s and <= 2x a bare COPY): one writer appends --bulk-events
events to one tenant's chain with audit_events_append_many, --batch events per call and
transaction (a sweep's tenant, a scan's openings). Batch by batch, the same rows (values, seq and
hashes the append gave them) are then COPYed as ready-made text into the plain table in a
transaction of their own: the floor, with nothing to hash, adapt or check. The two alternate so
both see the same load on the machine. Runs in its own bench_ht_audit_append database
(bench/_setup.py); every run makes fresh tenants, since audit rows can't be deleted.
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time

import _setup

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--events", type=int, default=20_000)
parser.add_argument("--writers", type=int, default=4)
parser.add_argument("--bulk-events", type=int, default=100_000)
parser.add_argument("--batch", type=int, default=10_000)
ARGS = _setup.arguments(parser, quick={"events": 400, "bulk_events": 2_000, "batch": 500})
_setup.django_on_bench_db("audit_append")

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from audit.actors import Actor  # noqa: E402
from audit.models import AuditEvent  # noqa: E402
from audit.services import audit_event_append, audit_events_append_many  # noqa: E402
from audit.verify import audit_chains_verify  # noqa: E402
from tenants.models import Tenant  # noqa: E402

PLAIN_TABLE = "bench_plain_auditevent"


def plain_table_reset() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {PLAIN_TABLE}")
        # Same columns, constraints and indexes; triggers are not copied. LIKE leaves the
        # foreign key out: it is added as the real table has it (checked at commit, one check
        # per row), since it is the table's cost, not the chain's.
        cursor.execute(f"CREATE TABLE {PLAIN_TABLE} (LIKE audit_auditevent INCLUDING ALL)")
        cursor.execute(
            f"ALTER TABLE {PLAIN_TABLE} ADD FOREIGN KEY (tenant_id) REFERENCES tenants_tenant (id) "
            "DEFERRABLE INITIALLY DEFERRED"
        )


def fresh_tenant(label: str) -> Tenant:
    slug = f"bench-{int(time.time() * 1000)}-{label}"
    return Tenant.objects.create(slug=slug, name=slug, vertical="retail", country="DE")


def event_fields(writer: int, i: int) -> dict:
    return {
        "actor": Actor.service(f"writer-{writer}"),
        "action": "change_set.applied",
        "resource": ("changeset", f"{writer}-{i}"),
        "plan_version": 12,
        "payload": {"items": [{"field": "daily_budget", "before": 100, "after": 110}]},
        "data": {"channel": "search", "entity_id": f"cmp-{i}", "pct": 10},
    }


def chained_writer(tenant_id: int, writer: int, count: int) -> None:
    try:
        for i in range(count):
            with transaction.atomic():
                audit_event_append(tenant=tenant_id, **event_fields(writer, i))
    finally:
        connection.close()


def plain_writer(tenant_id: int, writer: int, count: int) -> None:
    """The row audit_event_append would write, minus the chain: same values, one INSERT."""
    from audit.chain import normalize, sha256_of
    from audit.services import resource_key

    insert = (
        f"INSERT INTO {PLAIN_TABLE} (tenant_id, seq, created_at, actor_type, actor_id, "
        "actor_label, action, resource_type, resource_id, plan_version, payload_hash, data, "
        "prev_hash, hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    )
    try:
        for i in range(count):
            spec = event_fields(writer, i)
            actor = spec["actor"]
            resource_type, resource_id = resource_key(spec["resource"])
            data = normalize(spec["data"])
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    insert,
                    [
                        tenant_id,
                        writer * count + i + 1,
                        timezone.now(),
                        actor.type,
                        actor.id,
                        actor.label,
                        spec["action"],
                        resource_type,
                        resource_id,
                        spec["plan_version"],
                        sha256_of(spec["payload"]),
                        json.dumps(data),
                        "0" * 64,
                        "0" * 64,
                    ],
                )
    finally:
        connection.close()


def run(writer_func, tenant_ids: list[int], per_writer: int) -> float:
    threads = [
        threading.Thread(target=writer_func, args=(tenant_id, w, per_writer))
        for w, tenant_id in enumerate(tenant_ids)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(tenant_ids) * per_writer / (time.perf_counter() - started)


def bulk_specs(batch: int, count: int) -> list[dict]:
    """What a sweep hands over: an action, a resource, a plan version, a little data."""
    return [
        {
            "action": "ticket.escalated",
            "resource": ("ticket", f"T-{batch}-{i}"),
            "plan_version": 12,
            "data": {"escalation_level": 1, "escalated_to": "admin", "channel": "search"},
        }
        for i in range(count)
    ]


def _copy_field(value) -> str:
    if value is None:
        return "\\N"
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def bare_copy_text(events) -> str:
    """The rows as COPY text, made before the clock starts."""
    columns = (
        "tenant_id",
        "seq",
        "created_at",
        "actor_type",
        "actor_id",
        "actor_label",
        "action",
        "resource_type",
        "resource_id",
        "plan_version",
        "payload_hash",
    )
    return "".join(
        "\t".join(
            [
                *(_copy_field(getattr(e, name)) for name in columns),
                _copy_field(json.dumps(e.data, sort_keys=True, separators=(",", ":"))),
                e.prev_hash,
                e.hash,
            ]
        )
        + "\n"
        for e in events
    )


def bare_copy(text: str) -> float:
    columns = (
        "tenant_id, seq, created_at, actor_type, actor_id, actor_label, action, "
        "resource_type, resource_id, plan_version, payload_hash, data, prev_hash, hash"
    )
    started = time.perf_counter()
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {PLAIN_TABLE} ({columns}) FROM STDIN") as copy,
    ):
        copy.write(text)
    return time.perf_counter() - started


def bulk(args: argparse.Namespace) -> None:
    tenant = fresh_tenant("bulk")
    actor = Actor.service("sweep")
    chained = bare = 0.0
    total = 0
    for batch in range(max(1, args.bulk_events // args.batch)):
        specs = bulk_specs(batch, args.batch)
        started = time.perf_counter()
        with transaction.atomic():
            events = audit_events_append_many(tenant=tenant, actor=actor, events=specs)
        chained += time.perf_counter() - started
        bare += bare_copy(bare_copy_text(events))
        total += len(events)
    rate, floor = total / chained, total / bare
    ratio = chained / bare
    print(f"\nbulk: {total} events in calls of {args.batch}, one writer")
    print(f"bare COPY of the same rows        : {floor:7.0f} events/s")
    print(
        f"audit_events_append_many          : {rate:7.0f} events/s  {ratio:.2f}x the bare COPY "
        f"(aims: >= 50,000/s {'OK' if rate >= 50_000 else 'UNDER'}, "
        f"<= 2x {'OK' if ratio <= 2 else 'OVER'})"
    )
    verdict = audit_chains_verify(tenant=tenant)
    if not verdict.ok or verdict.checked != total:
        raise SystemExit(f"bulk chain broken: {verdict.broken}")
    print(f"bulk chain after the run: valid, {total} events verified")


def main(args: argparse.Namespace) -> None:
    per_writer = args.events // args.writers
    total = args.writers * per_writer

    plain_table_reset()
    shared = fresh_tenant("shared")
    own = [fresh_tenant(f"w{w}") for w in range(args.writers)]
    connection.close()
    print(
        f"{total} events, {args.writers} writer threads, one transaction per event "
        f"(database {os.environ['DATABASE_URL'].rsplit('/', 1)[1]})"
    )
    plain = run(plain_writer, [shared.pk] * args.writers, per_writer)
    print(f"plain INSERT                      : {plain:7.0f} events/s")
    chained = run(chained_writer, [shared.pk] * args.writers, per_writer)
    ratio = plain / chained
    print(
        f"audit_event_append, one chain     : {chained:7.0f} events/s  "
        f"{ratio:.2f}x the plain insert (target <= 2x: {'OK' if ratio <= 2 else 'OVER'})"
    )
    separate = run(chained_writer, [t.pk for t in own], per_writer)
    print(
        f"audit_event_append, chain per writer: {separate:5.0f} events/s  "
        f"{plain / separate:.2f}x the plain insert"
    )
    for tenant in (shared, *own):
        verdict = audit_chains_verify(tenant=tenant)
        stored = AuditEvent.objects.filter(tenant=tenant).count()
        if not verdict.ok or stored != verdict.checked:
            raise SystemExit(f"chain of {tenant.slug} broken: {verdict.broken}")
    print(f"chains after the run: valid, {total * 2} events verified")
    bulk(args)


if __name__ == "__main__":
    main(ARGS)
