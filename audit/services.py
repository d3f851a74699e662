from __future__ import annotations

import json
from hashlib import sha256
from json.encoder import encode_basestring
from typing import Any

from django.db import connection, models, transaction
from django.db.models.base import ModelState
from django.utils import timezone

from audit.actors import Actor
from audit.chain import (
    EVENT_FIELDS,
    GENESIS_HASH,
    canonical_json,
    clean_text,
    link_body,
    link_hash,
    normalize,
    sha256_of,
    utc_iso,
)
from audit.models import AuditChainHead, AuditEvent

Resource = tuple[str, Any] | models.Model

ACTOR_LABEL_MAX = AuditEvent._meta.get_field("actor_label").max_length
EVENT_TABLE = AuditEvent._meta.db_table
HEAD_TABLE = AuditChainHead._meta.db_table

# PostgreSQL: move the head and insert the event in ONE statement, hashing in the database
# (the same "prev_hash|seq|created_at|body" text as audit.chain.link_hash). The UPDATE takes the
# head row's lock until the transaction ends; in READ COMMITTED a writer that waited for it
# re-evaluates the statement on the committed head, so it continues from the newest link
# instead of forking the chain (under REPEATABLE READ it would get a serialization error
# instead). Doing all the work in one statement keeps the time the lock is held, and so
# the time every other writer of the tenant waits, down to this statement plus the commit.
_PG_APPEND = f"""
WITH link AS (
    UPDATE {HEAD_TABLE}
       SET seq = seq + 1,
           prev_hash = hash,
           hash = encode(sha256(convert_to(
               hash || '|' || (seq + 1)::text || '|' || %(at)s || '|' || %(body)s, 'UTF8'
           )), 'hex')
     WHERE tenant_id = %(tenant_id)s
 RETURNING seq, prev_hash, hash
)
INSERT INTO {EVENT_TABLE} (
    tenant_id, seq, created_at, actor_type, actor_id, actor_label, action, resource_type,
    resource_id, plan_version, payload_hash, data, prev_hash, hash
)
SELECT %(tenant_id)s, link.seq, %(created_at)s, %(actor_type)s, %(actor_id)s, %(actor_label)s,
       %(action)s, %(resource_type)s, %(resource_id)s, %(plan_version)s, %(payload_hash)s,
       %(data)s::jsonb, link.prev_hash, link.hash
  FROM link
RETURNING id, seq, prev_hash, hash
"""


def resource_key(resource: Resource) -> tuple[str, str]:
    if isinstance(resource, models.Model):
        return resource._meta.model_name, str(getattr(resource, "audit_id", resource.pk))
    resource_type, resource_id = resource
    return str(resource_type), str(resource_id)


def _chain_head_create(tenant_id: int) -> None:
    """The tenant's first event. A concurrent first writer's insert makes ours a no-op (after
    waiting for it to commit), and the retried append then queues behind it."""
    AuditChainHead.objects.bulk_create(
        [AuditChainHead(tenant_id=tenant_id, seq=0, hash=GENESIS_HASH)], ignore_conflicts=True
    )


def _append_postgresql(fields: dict, body: str) -> tuple[int, int, str, str]:
    params = {
        **fields,
        "at": utc_iso(fields["created_at"]),
        "body": body,
        "data": json.dumps(fields["data"], ensure_ascii=False),
    }
    with connection.cursor() as cursor:
        cursor.execute(_PG_APPEND, params)
        row = cursor.fetchone()
    if row is None:
        _chain_head_create(fields["tenant_id"])
        return _append_postgresql(fields, body)
    return row


def _claim_links(tenant_id: int, count: int) -> tuple[int, str]:
    """Lock the tenant's head and advance it by `count`: returns (last claimed seq, the hash to
    chain on). The caller writes the events and the head's new hash before committing."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {HEAD_TABLE} SET seq = seq + %s WHERE tenant_id = %s RETURNING seq, hash",
            [count, tenant_id],
        )
        row = cursor.fetchone()
    if row is None:
        _chain_head_create(tenant_id)
        return _claim_links(tenant_id, count)
    return row[0], row[1]


def _append_sqlite(fields: dict, body: str) -> tuple[int, int, str, str]:
    # The IMMEDIATE transaction (settings) already holds the database's one write lock.
    seq, prev_hash = _claim_links(fields["tenant_id"], 1)
    event_hash = link_hash(prev_hash=prev_hash, seq=seq, created_at=fields["created_at"], body=body)
    event = AuditEvent.objects.create(**fields, seq=seq, prev_hash=prev_hash, hash=event_hash)
    AuditChainHead.objects.filter(tenant_id=fields["tenant_id"]).update(
        hash=event_hash, prev_hash=prev_hash
    )
    return event.pk, seq, prev_hash, event_hash


def _event_fields(
    *,
    tenant,
    actor: Actor,
    action: str,
    resource: Resource,
    plan_version: int | None = None,
    payload: Any = None,
    data: dict | None = None,
) -> dict:
    """Every stored field but the chain position, as the database will give it back."""
    resource_type, resource_id = resource_key(resource)
    return {
        **normalize(
            {
                "actor_type": actor.type,
                "actor_id": actor.id,
                "actor_label": actor.label[:ACTOR_LABEL_MAX],
                "action": str(action),  # an AuditAction (audit/actions.py)
                "resource_type": resource_type,
                "resource_id": resource_id,
                "data": data or {},
            }
        ),
        "tenant_id": tenant if isinstance(tenant, int) else tenant.pk,
        "plan_version": plan_version,
        "payload_hash": sha256_of(payload) if payload is not None else "",
    }


def audit_event_append(
    *,
    tenant,
    actor: Actor,
    action: str,
    resource: Resource,
    plan_version: int | None = None,
    payload: Any = None,
    data: dict | None = None,
) -> AuditEvent:
    """Append one event to the tenant's chain, inside the caller's transaction.

    `payload` is hashed (payload_hash) but not stored; `data` is stored with the event. The
    head stays locked until the caller commits, so keep the work after this call short.
    """
    fields = _event_fields(
        tenant=tenant,
        actor=actor,
        action=action,
        resource=resource,
        plan_version=plan_version,
        payload=payload,
        data=data,
    )
    # Everything but the chain position is hashed before the head is locked.
    body = link_body(**fields)
    with transaction.atomic(savepoint=False):
        fields["created_at"] = timezone.now()
        if connection.vendor == "postgresql":
            event_id, seq, prev_hash, event_hash = _append_postgresql(fields, body)
        else:
            event_id, seq, prev_hash, event_hash = _append_sqlite(fields, body)
    event = AuditEvent(id=event_id, **fields, seq=seq, prev_hash=prev_hash, hash=event_hash)
    event._state.adding, event._state.db = False, connection.alias  # it is a saved row
    return event


_COPY_COLUMNS = ("tenant_id", *EVENT_FIELDS)
_MANY_KEYS = frozenset({"action", "resource", "plan_version", "payload", "data"})
# COPY's text format: a backslash, tab, newline or carriage return inside a value is escaped.
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


_COPY_NULL = "\\N"


def _copy_text(value: str) -> str:
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_COPY_ESCAPES)
    return value


def _json_text(value: str) -> str:
    """canonical_json of a string (the C encoder's own string writer)."""
    return encode_basestring(value)


def _plan_version_json(plan_version) -> str:
    if plan_version is None:
        return "null"
    return str(plan_version) if type(plan_version) is int else canonical_json(plan_version)


def _prepare(fixed: dict, body_prefix: str, spec: dict, alias: str) -> tuple:
    """One event of a bulk append, as far as it goes before the head is locked: the event
    without its chain position, its link body and the middle of its COPY line.

    The body is link_body() built from its parts: the actor's part (`body_prefix`, the same for
    every event) is encoded once, the event's data once (it is stored as well).
    """
    if not spec.keys() <= _MANY_KEYS or "action" not in spec or "resource" not in spec:
        raise TypeError(f"an event takes {sorted(_MANY_KEYS)}, not {sorted(spec)}")
    resource_type, resource_id = resource_key(spec["resource"])
    action = clean_text(str(spec["action"]))
    resource_type, resource_id = clean_text(resource_type), clean_text(resource_id)
    plan_version = spec.get("plan_version")
    payload = spec.get("payload")
    payload_hash = sha256_of(payload) if payload is not None else ""
    data = normalize(spec.get("data") or {})
    data_json = canonical_json(data)
    body = (
        f"{body_prefix}{_json_text(action)},{_json_text(resource_type)},"
        f"{_json_text(resource_id)},{_plan_version_json(plan_version)},"
        f'"{payload_hash}",{data_json}]'
    )
    copy_middle = (
        f"{_copy_text(action)}\t{_copy_text(resource_type)}\t{_copy_text(resource_id)}\t"
        f"{_COPY_NULL if plan_version is None else _copy_text(str(plan_version))}\t"
        f"{payload_hash}\t{_copy_text(data_json)}"
    )
    # An AuditEvent without Model.__init__ (a tenth of its cost, which for a sweep's tens of
    # thousands of events is most of the Python time); the loop adds the chain position.
    event = AuditEvent.__new__(AuditEvent)
    event.__dict__.update(fixed)
    event.action, event.resource_type, event.resource_id = action, resource_type, resource_id
    event.plan_version, event.payload_hash, event.data = plan_version, payload_hash, data
    state = event._state = ModelState()
    state.adding, state.db = False, alias
    return event, body, copy_middle


def _copy_events(lines: list[str]) -> None:
    """COPY the rows in, as text lines built by the caller: no per-value adapting at all."""
    columns = ", ".join(_COPY_COLUMNS)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(f"COPY {EVENT_TABLE} ({columns}) FROM STDIN") as copy:
            for start in range(0, len(lines), 2000):
                copy.write("".join(lines[start : start + 2000]))


# A few events (a change set's proposal and its outcome): the head claimed, the links hashed in
# the database (the same text as audit.chain.link_hash, each on the one before) and the rows
# inserted in ONE statement, instead of a claim, a COPY and a head update. The head is locked
# (FOR UPDATE) before the chain is read: a writer that waited for it reads the committed head
# and continues from the newest link (READ COMMITTED), as _PG_APPEND does; the UPDATE of the
# same row in the statement then writes the last link over it.
_PG_APPEND_FEW = f"""
WITH RECURSIVE head AS (
    SELECT seq, hash FROM {HEAD_TABLE} WHERE tenant_id = %(tenant_id)s FOR UPDATE
),
event AS (
    SELECT * FROM unnest(
        %(body)s::text[], %(action)s::text[], %(resource_type)s::text[], %(resource_id)s::text[],
        %(plan_version)s::integer[], %(payload_hash)s::text[], %(data)s::text[]
    ) WITH ORDINALITY AS e(
        body, action, resource_type, resource_id, plan_version, payload_hash, data, n
    )
),
link (n, seq, prev_hash, hash) AS (
    SELECT 0::bigint, seq, ''::text, hash::text FROM head
    UNION ALL
    SELECT link.n + 1, link.seq + 1, link.hash, encode(sha256(convert_to(
               link.hash || '|' || (link.seq + 1)::text || '|' || %(at)s || '|' || event.body,
               'UTF8'
           )), 'hex')
      FROM link JOIN event ON event.n = link.n + 1
),
moved AS (
    UPDATE {HEAD_TABLE} AS head_row
       SET seq = last.seq, prev_hash = last.prev_hash, hash = last.hash
      FROM link AS last
     WHERE head_row.tenant_id = %(tenant_id)s AND last.n = %(count)s
)
INSERT INTO {EVENT_TABLE} (
    tenant_id, seq, created_at, actor_type, actor_id, actor_label, action, resource_type,
    resource_id, plan_version, payload_hash, data, prev_hash, hash
)
SELECT %(tenant_id)s, link.seq, %(created_at)s, %(actor_type)s, %(actor_id)s, %(actor_label)s,
       event.action, event.resource_type, event.resource_id, event.plan_version,
       event.payload_hash, event.data::jsonb, link.prev_hash, link.hash
  FROM link JOIN event ON event.n = link.n
 ORDER BY link.n
RETURNING id, seq, prev_hash, hash
"""
# Up to this many events go through _PG_APPEND_FEW; more are COPY'd (hashed in Python).
FEW_EVENTS = 16


def _append_few_postgresql(fixed: dict, prepared: list[tuple], now) -> None:
    """Write `prepared` (_prepare's events) in one statement, filling in their ids and chain
    positions."""
    events = [event for event, _, _ in prepared]
    params = {
        **{name: fixed[name] for name in ("tenant_id", "actor_type", "actor_id", "actor_label")},
        "count": len(prepared),
        "at": utc_iso(now),
        "created_at": now,
        "body": [body for _, body, _ in prepared],
        "action": [e.action for e in events],
        "resource_type": [e.resource_type for e in events],
        "resource_id": [e.resource_id for e in events],
        "plan_version": [e.plan_version for e in events],
        "payload_hash": [e.payload_hash for e in events],
        "data": [canonical_json(e.data) for e in events],
    }
    with connection.cursor() as cursor:
        cursor.execute(_PG_APPEND_FEW, params)
        rows = cursor.fetchall()
    if not rows:  # the tenant's first events
        _chain_head_create(fixed["tenant_id"])
        return _append_few_postgresql(fixed, prepared, now)
    for event, (event_id, seq, prev_hash, event_hash) in zip(
        events, sorted(rows, key=lambda row: row[1]), strict=True
    ):
        event.id, event.seq, event.created_at = event_id, seq, now
        event.prev_hash, event.hash = prev_hash, event_hash
    return None


def audit_events_append_many(*, tenant, actor: Actor, events: list[dict]) -> list[AuditEvent]:
    """Append several events by one actor in one go (a sweep, a bulk change, a scan's
    openings): one head claim, one COPY and one head update instead of a statement per event.

    Each item of `events` takes audit_event_append's keywords: action, resource and optionally
    plan_version, payload, data. Same transaction rules as audit_event_append; the head stays
    locked from the claim to the commit, and everything that can be is hashed before the
    claim. On PostgreSQL up to FEW_EVENTS events are written in one statement (hashed in the
    database); more are COPY'd, and then the returned events carry no id (COPY returns none).
    """
    # Long on purpose: hashing every event before the head is claimed, then one claim, one COPY and
    # one head update: the steps share the chain state and must stay in this order.
    if not events:
        return []
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    who = normalize(
        {
            "actor_type": actor.type,
            "actor_id": actor.id,
            "actor_label": actor.label[:ACTOR_LABEL_MAX],
        }
    )
    actor_type, actor_id, actor_label = who["actor_type"], who["actor_id"], who["actor_label"]
    body_prefix = (
        f"[{tenant_id},{_json_text(actor_type)},{_json_text(actor_id)},{_json_text(actor_label)},"
    )
    postgresql, alias = connection.vendor == "postgresql", connection.alias
    fixed = {
        "id": None,
        "tenant_id": tenant_id,
        "actor_type": actor_type,
        "actor_id": actor_id,
        "actor_label": actor_label,
    }
    prepared = [_prepare(fixed, body_prefix, spec, alias) for spec in events]
    count = len(prepared)
    if postgresql and count <= FEW_EVENTS:
        _append_few_postgresql(fixed, prepared, timezone.now())
        return [event for event, _, _ in prepared]
    with transaction.atomic(savepoint=False):
        last_seq, prev_hash = _claim_links(tenant_id, count)
        now = timezone.now()
        at = utc_iso(now)
        line_start = f"{tenant_id}\t"
        line_actor = (
            f"{at}\t{_copy_text(actor_type)}\t{_copy_text(actor_id)}\t{_copy_text(actor_label)}"
        )
        seq = last_seq - count
        lines = []
        created = []
        for event, body, copy_middle in prepared:
            seq += 1
            event_hash = sha256(f"{prev_hash}|{seq}|{at}|{body}".encode()).hexdigest()
            lines.append(
                f"{line_start}{seq}\t{line_actor}\t{copy_middle}\t{prev_hash}\t{event_hash}\n"
            )
            event.seq, event.created_at, event.prev_hash, event.hash = (
                seq,
                now,
                prev_hash,
                event_hash,
            )
            created.append(event)
            prev_hash = event_hash
        if postgresql:
            _copy_events(lines)
        else:
            for event in created:
                event._state.adding = True
            AuditEvent.objects.bulk_create(created)
        AuditChainHead.objects.filter(tenant_id=tenant_id).update(
            hash=created[-1].hash, prev_hash=created[-1].prev_hash
        )
    return created
