from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from agents.models import AgentKey
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append

KEY_PREFIX = "ht_"


def _hash(secret: str) -> str:
    # Keys are 256-bit random strings, so a fast hash is enough (no dictionary to guess from).
    return hashlib.sha256(secret.encode()).hexdigest()


@transaction.atomic(durable=True)
def agent_key_create(*, tenant, name: str, actor: Actor) -> tuple[AgentKey, str]:
    """Create a key for `tenant`; returns the row and the plain key, which is never stored."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = AgentKey.objects.create(tenant=tenant, name=name, prefix=prefix, key_hash=_hash(secret))
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action=AuditAction.AGENT_KEY_CREATED,
        resource=key,
        data={"name": name, "prefix": prefix},
    )
    return key, f"{KEY_PREFIX}{prefix}_{secret}"


@transaction.atomic(durable=True)
def agent_key_revoke(*, key: AgentKey, actor: Actor) -> AgentKey:
    key = AgentKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is not None:
        return key
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    audit_event_append(
        tenant=key.tenant_id,
        actor=actor,
        action=AuditAction.AGENT_KEY_REVOKED,
        resource=key,
        data={"name": key.name, "prefix": key.prefix},
    )
    return key


def agent_key_authenticate(raw: str) -> AgentKey | None:
    """The active key `raw` names, or None. Compares hashes in constant time."""
    if not raw.startswith(KEY_PREFIX):
        return None
    prefix, _, secret = raw[len(KEY_PREFIX) :].partition("_")
    if not prefix or not secret:
        return None
    try:
        # get(), not first(): no ORDER BY on the hot path of every API call.
        key = AgentKey.objects.select_related("tenant").get(prefix=prefix, revoked_at__isnull=True)
    except AgentKey.DoesNotExist:
        key = None
    if key is None or not hmac.compare_digest(key.key_hash, _hash(secret)):
        return None
    now = timezone.now()
    # Touch last_used_at at most once a minute: no write on every request.
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        AgentKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key
