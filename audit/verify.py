"""Recompute every hash chain and name the first broken event (`manage.py verify_audit`).

`chain_rows_check` is pure (rows in, verdict out) so tests and the bench can feed it directly;
`audit_chains_verify` streams the rows out of the database into it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from django.db import connection, transaction

from audit.chain import BODY_FIELDS, GENESIS_HASH, canonical_json, link_hash
from audit.models import AuditArchive, AuditChainHead, AuditEvent
from tenants.models import Tenant

# The order chain_rows_check reads each row in: the chain position, then the body fields.
ROW_FIELDS = ("id", "seq", "created_at", "prev_hash", "hash", *BODY_FIELDS)
_TENANT = ROW_FIELDS.index("tenant_id")
_BODY = slice(_TENANT, None)


@dataclass(frozen=True)
class ChainBreak:
    tenant_id: int
    seq: int | None  # None: the head itself disagrees with the events
    event_id: int | None
    problem: str


@dataclass(frozen=True)
class ChainVerdict:
    checked: int
    broken: ChainBreak | None = None

    @property
    def ok(self) -> bool:
        return self.broken is None


def _head_problem(tenant_id: int, last: tuple[int, str] | None, heads: Mapping) -> str | None:
    head = heads.get(tenant_id)
    last_seq, last_hash = last or (0, GENESIS_HASH)
    if head is None:
        return None if last is None else "the tenant has events but no chain head"
    head_seq, head_hash = head
    if head_seq > last_seq:
        return (
            f"the chain ends at #{last_seq} but its head says #{head_seq}: "
            "events at the end were deleted"
        )
    if head_seq < last_seq:
        return f"events after the head (#{head_seq}) were added around the chain"
    if head_hash != last_hash:
        return f"the head's hash does not match event #{last_seq}"
    return None


def chain_rows_check(
    rows: Iterable[tuple],
    heads: Mapping[int, tuple[int, str]],
    floors: Mapping[int, tuple[int, str]] | None = None,
) -> ChainVerdict:
    """Check rows (ROW_FIELDS order, sorted by tenant then seq) against the chain heads
    ({tenant_id: (seq, hash)}); stop at the first broken link. A tenant in `floors`
    ({tenant_id: (seq, hash)}: its events up to seq were archived, audit/retention.py) starts
    after that link instead of at the genesis."""
    floors = floors or {}
    checked = 0
    tenant_id = None
    expected_seq, prev_hash = 1, GENESIS_HASH
    seen_tenants = set()
    for row in rows:
        event_id, seq, created_at, stored_prev, stored_hash = row[:_TENANT]
        row_tenant = row[_TENANT]
        if row_tenant != tenant_id:
            if tenant_id is not None:
                problem = _head_problem(tenant_id, (expected_seq - 1, prev_hash), heads)
                if problem:
                    return ChainVerdict(checked, ChainBreak(tenant_id, None, None, problem))
            floor_seq, floor_hash = floors.get(row_tenant, (0, GENESIS_HASH))
            tenant_id, expected_seq, prev_hash = row_tenant, floor_seq + 1, floor_hash
            seen_tenants.add(tenant_id)
        problem = None
        if seq != expected_seq:
            missing = (
                f"#{expected_seq}" if seq == expected_seq + 1 else f"#{expected_seq}–#{seq - 1}"
            )
            problem = f"sequence gap: {missing} missing before it (deleted)"
        elif stored_prev != prev_hash:
            problem = f"prev_hash does not match the hash of #{seq - 1} (the link was rewritten)"
        elif stored_hash != link_hash(
            prev_hash=stored_prev, seq=seq, created_at=created_at, body=canonical_json(row[_BODY])
        ):
            problem = "hash does not match the row's content (the row was edited)"
        if problem:
            return ChainVerdict(checked, ChainBreak(row_tenant, seq, event_id, problem))
        checked += 1
        expected_seq, prev_hash = seq + 1, stored_hash
    if tenant_id is not None:
        problem = _head_problem(tenant_id, (expected_seq - 1, prev_hash), heads)
        if problem:
            return ChainVerdict(checked, ChainBreak(tenant_id, None, None, problem))
    # A head whose events are all gone (or whose tenant never had rows) is a deleted chain.
    for head_tenant, (head_seq, head_hash) in heads.items():
        if head_tenant in seen_tenants or head_seq == 0:
            continue
        if floors.get(head_tenant) == (head_seq, head_hash):
            continue  # every event archived, none since
        problem = f"the head says #{head_seq} but the chain has no events (all deleted)"
        return ChainVerdict(checked, ChainBreak(head_tenant, None, None, problem))
    return ChainVerdict(checked)


# PostgreSQL: the same columns, with the time and the JSON as text. Its own loaders for
# timestamptz and jsonb cost more than the whole check; the text form of the time is exactly
# the one the link hash uses (audit.chain.utc_iso), and the JSON text is parsed below.
_PG_ROWS = """
SELECT id, seq,
       to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'),
       prev_hash, hash, tenant_id, actor_type, actor_id, actor_label, action, resource_type,
       resource_id, plan_version, payload_hash, data::text
  FROM audit_auditevent
 WHERE %(all)s OR tenant_id = %(tenant_id)s
 ORDER BY tenant_id, seq
"""


def _pg_rows(tenant_id: int | None, chunk_size: int) -> Iterator[tuple]:
    loads = json.loads
    with connection.connection.cursor(name="audit_verify") as cursor:
        cursor.itersize = chunk_size
        cursor.execute(_PG_ROWS, {"all": tenant_id is None, "tenant_id": tenant_id})
        for row in cursor:
            yield (*row[:-1], loads(row[-1]))


def audit_chains_verify(*, tenant: Tenant | None = None, chunk_size: int = 5000) -> ChainVerdict:
    """Verify every tenant's chain (or one tenant's) from one consistent snapshot."""
    own_transaction = not connection.in_atomic_block
    with transaction.atomic():
        postgresql = connection.vendor == "postgresql"
        if postgresql and own_transaction:
            # Heads and events from one snapshot, so appends running meanwhile don't look
            # like tampering. (SQLite's IMMEDIATE transaction holds writers off instead.)
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        heads_qs = AuditChainHead.objects.all()
        if tenant is not None:
            heads_qs = heads_qs.filter(tenant=tenant)
        heads = {t: (s, h) for t, s, h in heads_qs.values_list("tenant_id", "seq", "hash")}
        floors = archive_floors(tenant)
        if postgresql:
            connection.ensure_connection()
            rows = _pg_rows(tenant.pk if tenant else None, chunk_size)
        else:
            events = AuditEvent.objects.order_by("tenant_id", "seq")
            if tenant is not None:
                events = events.filter(tenant=tenant)
            rows = events.values_list(*ROW_FIELDS).iterator(chunk_size=chunk_size)
        return chain_rows_check(rows, heads, floors)


def archive_floors(tenant: Tenant | None = None) -> dict[int, tuple[int, str]]:
    """{tenant_id: (seq, hash)} of the newest event each tenant has archived (none: absent)."""
    archives = AuditArchive.objects.order_by("tenant_id", "upto_seq")
    if tenant is not None:
        archives = archives.filter(tenant=tenant)
    return {t: (s, h) for t, s, h in archives.values_list("tenant_id", "upto_seq", "upto_hash")}


def describe_break(broken: ChainBreak) -> str:
    slug = Tenant.objects.filter(pk=broken.tenant_id).values_list("slug", flat=True).first()
    where = f"tenant {slug or broken.tenant_id}"
    if broken.seq is not None:
        where += f", event #{broken.seq} (id {broken.event_id})"
    else:
        where += ", chain head"
    return f"broken: {where}: {broken.problem}"
