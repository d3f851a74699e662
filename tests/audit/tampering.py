"""Lift the audit table's guard triggers inside one test, the way whoever holds the database
could (docs/rules.md "Audit log": the owner or a superuser; never the application role).

PostgreSQL: `ALTER TABLE ... DISABLE TRIGGER USER` as the tables' owner (tests/dbroles.py: the
owner's own connection when the suite runs as the application role, so tests that tamper are
transactional), put back before the tampering commits. SQLite has no such switch: the triggers
are dropped and recreated.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

from django.db import connection

from tests.dbroles import owner_cursor

TABLE = "audit_auditevent"


@contextmanager
def audit_triggers_lifted():
    if connection.vendor == "postgresql":
        with owner_cursor() as cursor:
            # Django's foreign keys are deferred; ALTER TABLE refuses to run while their checks
            # are pending in this (test) transaction, so run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER USER")
            try:
                yield cursor
            finally:
                cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER USER")
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
            [TABLE],
        )
        triggers = cursor.fetchall()
        assert triggers, "the guard triggers should be installed"
        for name, _ in triggers:
            cursor.execute(f"DROP TRIGGER {name}")
        try:
            yield cursor
        finally:
            for _, sql in triggers:
                cursor.execute(sql)


def rechained(cursor, tenant, events, *, from_seq: int) -> None:
    """Rewrite `events` (the tenant's remaining events, in seq order, as the caller wants them
    numbered) from `from_seq` on: renumber them 1, 2, … and recompute every hash, then move the
    head — what whoever holds the database does to make a rewritten chain verify again."""
    from audit.chain import BODY_FIELDS, GENESIS_HASH, link_body, link_hash

    prev = GENESIS_HASH
    for seq, event in enumerate(events, start=1):
        if seq >= from_seq:
            body = link_body(**{name: getattr(event, name) for name in BODY_FIELDS})
            new_hash = link_hash(prev_hash=prev, seq=seq, created_at=event.created_at, body=body)
            cursor.execute(
                f"UPDATE {TABLE} SET seq = %s, prev_hash = %s, hash = %s, data = %s WHERE id = %s",
                [seq, prev, new_hash, json.dumps(event.data), event.pk],
            )
            event.seq, event.prev_hash, event.hash = seq, prev, new_hash
        prev = event.hash
    cursor.execute(
        "UPDATE audit_auditchainhead SET seq = %s, hash = %s, prev_hash = %s WHERE tenant_id = %s",
        [len(events), prev, events[-2].hash if len(events) > 1 else GENESIS_HASH, tenant.pk],
    )
