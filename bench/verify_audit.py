"""How fast verify_audit checks the chain (target: at least 50,000 events/s).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/human_touch python bench/verify_audit.py

Builds (once, then reuses) a tenant with a valid chain of --events events (one tenant per
size, so --quick never reads the big chain) in its own bench_ht_verify_audit database
(bench/_setup.py), then times audit_chains_verify on it next to a baseline from the same run:
streaming the very same rows, the same way, without checking them.
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta

import _setup

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--events", type=int, default=200_000)
ARGS = _setup.arguments(parser, quick={"events": 5_000})
_setup.django_on_bench_db("verify_audit")

from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from audit.chain import GENESIS_HASH, link_body, link_hash, normalize  # noqa: E402
from audit.models import AuditChainHead, AuditEvent  # noqa: E402
from audit.verify import _pg_rows as verify_rows_postgresql  # noqa: E402
from audit.verify import audit_chains_verify  # noqa: E402
from tenants.models import Tenant  # noqa: E402


@transaction.atomic
def chain_build(tenant: Tenant, count: int) -> None:
    """A valid chain written in bulk (far faster than appending one by one)."""
    head, _ = AuditChainHead.objects.get_or_create(
        tenant=tenant, defaults={"seq": 0, "hash": GENESIS_HASH}
    )
    prev_hash, seq = head.hash, head.seq
    start = timezone.now()
    batch = []
    for i in range(count):
        seq += 1
        fields = {
            "tenant_id": tenant.pk,
            "actor_type": "agent",
            "actor_id": "key:1",
            "actor_label": "optimizer",
            "action": "change_set.applied",
            "resource_type": "changeset",
            "resource_id": f"cs-{seq}",
            "plan_version": 12,
            "payload_hash": "a" * 64,
            "data": normalize({"channel": "search", "pct": 7.5, "entity_id": f"cmp-{seq % 50}"}),
        }
        created_at = start + timedelta(milliseconds=i)
        event_hash = link_hash(
            prev_hash=prev_hash, seq=seq, created_at=created_at, body=link_body(**fields)
        )
        batch.append(
            AuditEvent(
                **fields, seq=seq, created_at=created_at, prev_hash=prev_hash, hash=event_hash
            )
        )
        prev_hash = event_hash
        if len(batch) == 5000:
            AuditEvent.objects.bulk_create(batch)
            batch = []
    AuditEvent.objects.bulk_create(batch)
    AuditChainHead.objects.filter(tenant=tenant).update(seq=seq, hash=prev_hash)


def main(args: argparse.Namespace) -> None:
    slug = f"bench-verify-{args.events}"
    tenant, _ = Tenant.objects.get_or_create(
        slug=slug, defaults={"name": slug, "vertical": "retail", "country": "DE"}
    )
    have = AuditEvent.objects.filter(tenant=tenant).count()
    if have < args.events:
        print(f"building {args.events - have} events …")
        chain_build(tenant, args.events - have)

    started = time.perf_counter()
    with transaction.atomic():
        streamed = sum(1 for _ in verify_rows_postgresql(tenant.pk, 5000))
    read_rate = streamed / (time.perf_counter() - started)

    started = time.perf_counter()
    verdict = audit_chains_verify(tenant=tenant)
    verify_rate = verdict.checked / (time.perf_counter() - started)
    if not verdict.ok:
        raise SystemExit(f"the bench chain is broken: {verdict.broken}")

    print(f"{verdict.checked} events in tenant {slug}")
    print(f"read rows only     : {read_rate:9.0f} events/s")
    print(
        f"verify_audit      : {verify_rate:9.0f} events/s  ({read_rate / verify_rate:.2f}x the "
        f"time of reading; target >= 50,000/s: {'OK' if verify_rate >= 50_000 else 'UNDER'})"
    )


if __name__ == "__main__":
    main(ARGS)
