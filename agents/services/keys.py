from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models.base import ModelState
from django.utils import timezone

from agents.models import AgentKey
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from tenants.models import Tenant

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
    # This process forgets its keys at once; every other one within AGENT_KEY_CACHE_SECONDS.
    transaction.on_commit(agent_key_cache_clear)
    audit_event_append(
        tenant=key.tenant_id,
        actor=actor,
        action=AuditAction.AGENT_KEY_REVOKED,
        resource=key,
        data={"name": key.name, "prefix": key.prefix},
    )
    return key


# --- The per-process key cache ----------------------------------------------------------------
# An API call's key lookup is a round trip to PostgreSQL, a third of a gate call's own cost. Each
# process (gunicorn worker, cluster) keeps what a key it authenticated names — the key's row and
# its tenant's row, as plain values, nothing related — for AGENT_KEY_CACHE_SECONDS (5 by
# default). The bound, documented in docs/agent-api.md: a revoked key, or a change to its tenant's
# row, reaches every process within that many seconds (the revoking process itself at once). Only
# keys that authenticated are kept, under the SHA-256 of the whole plain key (never the key), so a
# wrong secret always goes to the database. 0 turns the cache off.
_CACHE: dict[str, tuple[float, dict, dict]] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_MAX = 10_000
_clock = time.monotonic  # (a test moves it on)


def agent_key_cache_clear() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()


def _row_values(row) -> dict:
    """The row's own columns: no related object, no cached property."""
    return {
        field.attname: row.__dict__[field.attname]
        for field in row._meta.concrete_fields
        if field.attname in row.__dict__
    }


def _saved(model, values: dict):
    row = model.__new__(model)
    row.__dict__.update(values)
    row._state = ModelState()
    row._state.adding, row._state.db = False, "default"
    return row


def _from_cache(digest: str) -> AgentKey | None:
    hit = _CACHE.get(digest)
    if hit is None:
        return None
    expires, key_values, tenant_values = hit
    if expires <= _clock():
        with _CACHE_LOCK:
            _CACHE.pop(digest, None)
        return None
    # Fresh objects each time: nothing a request sets on them reaches the next request.
    key = _saved(AgentKey, key_values)
    key._state.fields_cache["tenant"] = _saved(Tenant, tenant_values)
    return key


def _to_cache(digest: str, key: AgentKey, seconds: float) -> None:
    entry = (_clock() + seconds, _row_values(key), _row_values(key.tenant))
    with _CACHE_LOCK:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[digest] = entry


def _touch(key: AgentKey, digest: str | None) -> None:
    """last_used_at at most once a minute: no write on every request."""
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > timedelta(minutes=1):
        AgentKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
        if digest is not None:
            hit = _CACHE.get(digest)
            if hit is not None:
                hit[1]["last_used_at"] = now


def agent_key_authenticate(raw: str) -> AgentKey | None:
    """The active key `raw` names, or None. Compares hashes in constant time. A key that
    authenticated is remembered for AGENT_KEY_CACHE_SECONDS in this process (see above)."""
    seconds = settings.AGENT_KEY_CACHE_SECONDS
    digest = _hash(raw) if seconds > 0 else None
    if digest is not None:
        key = _from_cache(digest)
        if key is not None:
            _touch(key, digest)
            return key
    key = _lookup(raw)
    if key is not None:
        if digest is not None:
            _to_cache(digest, key, seconds)
        _touch(key, digest)
    return key


def _lookup(raw: str) -> AgentKey | None:
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
    return key
