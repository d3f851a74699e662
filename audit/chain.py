"""Canonical JSON and the hash of one chain link (pure; shared by the writer and the verifier)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

GENESIS_HASH = "0" * 64


# One encoder for every call: building one per json.dumps call is most of its cost.
_CANONICAL = DjangoJSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, Decimals and dates as strings: the same value gives the same text.

    NaN and Infinity are refused (ValueError): they are not JSON, and no database column that
    stores JSON gives them back.
    """
    return _CANONICAL.encode(value)


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


def utc_iso(moment: datetime) -> str:
    """The one text form of a timestamp in a link: UTC, microseconds, "+00:00"."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


# The stored fields a link's body covers, in this order (everything but its chain position).
BODY_FIELDS = (
    "tenant_id",
    "actor_type",
    "actor_id",
    "actor_label",
    "action",
    "resource_type",
    "resource_id",
    "plan_version",
    "payload_hash",
    "data",
)


# Every stored field of a link but its tenant, in the order an export lists them.
EVENT_FIELDS = (
    "seq",
    "created_at",
    *(name for name in BODY_FIELDS if name != "tenant_id"),
    "prev_hash",
    "hash",
)


def link_body(**fields: Any) -> str:
    """Canonical JSON of the BODY_FIELDS values (a JSON array in that order)."""
    return canonical_json([fields[name] for name in BODY_FIELDS])


def link_hash(*, prev_hash: str, seq: int, created_at: datetime | str, body: str) -> str:
    """SHA-256 of "prev_hash|seq|created_at|body".

    Kept this simple on purpose: PostgreSQL computes the very same text and hash inside the
    append statement (audit/services.py), so the chain head is locked for one statement only.
    """
    at = created_at if isinstance(created_at, str) else utc_iso(created_at)
    return hashlib.sha256(f"{prev_hash}|{seq}|{at}|{body}".encode()).hexdigest()
