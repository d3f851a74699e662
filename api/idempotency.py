"""Idempotent writes for agents that retry (docs/agent-api.md "Agent API").

The same key with an equal request (compared as canonical JSON) gets the first answer again with
200; the same key with any other request is a 409. Every idempotent endpoint (tickets, change
sets, runs) goes through `idempotent`.

`idempotent` is the transaction of such a write (config/transactions.py): `work` runs inside it
and calls the services' `_within` steps, never their entry points.

How it stays exactly-once under concurrent replays: the key row is inserted first (INSERT … ON
CONFLICT DO NOTHING, no savepoint), in the transaction that does the work. A second request with
the same key blocks on the unique index until the first commits (then nothing is inserted and it
reads the stored answer) or rolls back (then its own insert goes through and it does the work
itself). A refused request (a 4xx from the work) rolls the key
back with everything else, so nothing is remembered of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from api.models import IdempotencyKey
from audit.chain import sha256_of
from config.errors import Conflict

Answer = tuple[int, dict[str, Any]]


def request_hash(request: Any) -> str:
    """SHA-256 of the request as canonical JSON (sorted keys, compact)."""
    return sha256_of(request)


_TABLE = IdempotencyKey._meta.db_table
# One statement, no savepoint: a concurrent insert of the same key makes this one wait for it to
# commit (then nothing is inserted and no row comes back) or roll back (then this one inserts).
_CLAIM = f"""
INSERT INTO {_TABLE} (tenant_id, scope, key, request_hash, created_at)
VALUES (%s, %s, %s, %s, %s)
ON CONFLICT (tenant_id, scope, key) DO NOTHING
RETURNING id
"""


def _claim(*, tenant, scope: str, key: str, fingerprint: str) -> IdempotencyKey | None:
    """The key's new row, or None when the key was used already."""
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(_CLAIM, [tenant_id, scope, key, fingerprint, now])
        row = cursor.fetchone()
    if row is None:
        return None
    record = IdempotencyKey(
        id=row[0],
        tenant_id=tenant_id,
        scope=scope,
        key=key,
        request_hash=fingerprint,
        created_at=now,
    )
    record._state.adding, record._state.db = False, connection.alias
    return record


@transaction.atomic(durable=True)
def idempotent(*, tenant, scope: str, key: str, request: Any, work: Callable[[], Answer]) -> Answer:
    """Run `work` once per (tenant, scope, key); return its (status, body), or the first answer
    with 200 when an equal request already ran."""
    fingerprint = request_hash(request)
    record = _claim(tenant=tenant, scope=scope, key=key, fingerprint=fingerprint)
    if record is None:
        earlier = IdempotencyKey.objects.get(tenant=tenant, scope=scope, key=key)
        if earlier.request_hash != fingerprint:
            raise Conflict(
                f"The key {key!r} was already used for another request; send a new key for a "
                "new request, or the same request to get its first answer.",
                code="conflict",
            ) from None
        return 200, earlier.response
    status, body = work()
    record.response_status, record.response = status, body
    record.save(update_fields=["response_status", "response"])
    return status, body
