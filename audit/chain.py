"""Canonical JSON and the hash of one chain link (pure; shared by the writer and the verifier)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, Decimals and dates as strings: the same value gives the same text."""
    return json.dumps(
        value, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def sha256_of(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def normalize(value: Any) -> Any:
    """What a JSON column gives back: hash this, store this, and the verifier sees the same."""
    return json.loads(canonical_json(value))


def link_hash(
    *,
    prev_hash: str,
    tenant_id: int,
    seq: int,
    created_at: datetime,
    actor_type: str,
    actor_id: str,
    action: str,
    resource_type: str,
    resource_id: str,
    plan_version: int | None,
    payload_hash: str,
    data: Any,
) -> str:
    content = canonical_json(
        [
            tenant_id,
            seq,
            created_at.astimezone(UTC).isoformat(timespec="microseconds"),
            actor_type,
            actor_id,
            action,
            resource_type,
            resource_id,
            plan_version,
            payload_hash,
            data,
        ]
    )
    return hashlib.sha256((prev_hash + content).encode()).hexdigest()
