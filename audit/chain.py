"""Canonical JSON and the hash of one chain link (pure; shared by the writer and the verifier)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, Decimals and dates as strings: the same value gives the same text.

    NaN and Infinity are refused (ValueError): they are not JSON, and no database column that
    stores JSON gives them back.
    """
    return json.dumps(
        value,
        cls=DjangoJSONEncoder,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )


def sha256_of(value: Any) -> str:
    # surrogatepass: a lone surrogate in a string must hash, not crash the write.
    return hashlib.sha256(canonical_json(value).encode("utf-8", "surrogatepass")).hexdigest()


def _number_as_stored(text: str) -> float | int:
    """A JSON number the way PostgreSQL's jsonb gives it back.

    jsonb keeps numbers as `numeric`, which prints without an exponent and has no negative
    zero: Python writes 1e+20, jsonb returns 100000000000000000000 (an int to json.loads), and
    -0.0 comes back as 0.0. Storing that form in the first place keeps the hash stable.
    """
    if "e+" in text or "E+" in text:
        return int(Decimal(text))
    number = float(text)
    return 0.0 if number == 0 else number


def _clean_text(text: str) -> str:
    """Text any database keeps: no NUL (PostgreSQL refuses it), no lone surrogates."""
    if text.isascii() and "\x00" not in text:
        return text
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {_clean_text(key): _clean(item) for key, item in value.items()}
    return value


def normalize(value: Any) -> Any:
    """What a JSON column gives back on every engine: hash this, store this, and the verifier
    recomputes the same hash from what it reads."""
    return _clean(json.loads(canonical_json(value), parse_float=_number_as_stored))


def link_hash(
    *,
    prev_hash: str,
    tenant_id: int,
    seq: int,
    created_at: datetime,
    actor_type: str,
    actor_id: str,
    actor_label: str,
    action: str,
    resource_type: str,
    resource_id: str,
    plan_version: int | None,
    payload_hash: str,
    data: Any,
) -> str:
    """SHA-256 of the previous link's hash followed by every stored field of this one."""
    content = canonical_json(
        [
            tenant_id,
            seq,
            created_at.astimezone(UTC).isoformat(timespec="microseconds"),
            actor_type,
            actor_id,
            actor_label,
            action,
            resource_type,
            resource_id,
            plan_version,
            payload_hash,
            data,
        ]
    )
    return hashlib.sha256((prev_hash + content).encode("utf-8", "surrogatepass")).hexdigest()
