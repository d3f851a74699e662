from __future__ import annotations

from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone

from audit.actors import Actor
from audit.chain import GENESIS_HASH, link_hash, normalize, sha256_of
from audit.models import AuditChainHead, AuditEvent

Resource = tuple[str, Any] | models.Model

ACTOR_LABEL_MAX = AuditEvent._meta.get_field("actor_label").max_length


def resource_key(resource: Resource) -> tuple[str, str]:
    if isinstance(resource, models.Model):
        return resource._meta.model_name, str(getattr(resource, "audit_id", resource.pk))
    resource_type, resource_id = resource
    return str(resource_type), str(resource_id)


def _claim_next_link(tenant_id: int) -> tuple[int, str]:
    """Lock the tenant's chain head and return (next seq, previous hash).

    The UPDATE takes the head row's lock until our transaction ends; in READ COMMITTED a writer
    that waited for it re-reads the committed row, so it continues from the newest link instead
    of a stale one. (Under REPEATABLE READ that waiting writer gets a serialization error
    instead: it can fail, but never fork the chain.) On SQLite the IMMEDIATE transaction
    already serialises writers.
    """
    table = AuditChainHead._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET seq = seq + 1 WHERE tenant_id = %s RETURNING seq, hash",
            [tenant_id],
        )
        row = cursor.fetchone()
    if row is None:
        # The tenant's first event. A concurrent first writer's insert makes ours a no-op
        # (after waiting for it to commit), and the retried UPDATE then queues behind it.
        AuditChainHead.objects.bulk_create(
            [AuditChainHead(tenant_id=tenant_id, seq=0, hash=GENESIS_HASH)], ignore_conflicts=True
        )
        return _claim_next_link(tenant_id)
    return row[0], row[1]


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
    resource_type, resource_id = resource_key(resource)
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    normalized = normalize(
        {
            "actor_type": actor.type,
            "actor_id": actor.id,
            "actor_label": actor.label[:ACTOR_LABEL_MAX],
            "action": action,
            "resource_type": resource_type,
            "resource_id": resource_id,
            "data": data or {},
        }
    )
    payload_hash = sha256_of(payload) if payload is not None else ""
    with transaction.atomic(savepoint=False):
        seq, prev_hash = _claim_next_link(tenant_id)
        fields = {
            **normalized,
            "tenant_id": tenant_id,
            "seq": seq,
            "created_at": timezone.now(),
            "plan_version": plan_version,
            "payload_hash": payload_hash,
        }
        event_hash = link_hash(prev_hash=prev_hash, **fields)
        event = AuditEvent.objects.create(**fields, prev_hash=prev_hash, hash=event_hash)
        AuditChainHead.objects.filter(tenant_id=tenant_id).update(hash=event_hash)
    return event
