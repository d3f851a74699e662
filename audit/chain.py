"""Canonical JSON and the hash of one chain link (pure; shared by the writer and the verifier)."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import Decimal
from json.encoder import c_make_encoder, encode_basestring
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

GENESIS_HASH = "0" * 64


# One encoder for every call: building one per json.dumps call is most of its cost.
_CANONICAL = DjangoJSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


# encode() builds a new C encoder for every call, most of the cost of encoding a small value;
# this one is built once, with the same settings (no circular-reference markers: a shared
# markers dict is not safe across threads, and a cycle still fails, as a RecursionError).
_C_CANONICAL = (
    c_make_encoder(
        None,
        _CANONICAL.default,
        encode_basestring,
        None,
        _CANONICAL.key_separator,
        _CANONICAL.item_separator,
        True,
        False,
        False,
    )
    if c_make_encoder is not None
    else None
)


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, Decimals and dates as strings: the same value gives the same text.

    NaN and Infinity are refused (ValueError): they are not JSON, and no database column that
    stores JSON gives them back.
    """
    if _C_CANONICAL is None:
        return _CANONICAL.encode(value)
    return "".join(_C_CANONICAL(value, 0))


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


def clean_text(text: str) -> str:
    """Text any database keeps: no NUL (PostgreSQL refuses it), no lone surrogates."""
    if text.isascii() and "\x00" not in text:
        return text
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {clean_text(key): _clean(item) for key, item in value.items()}
    return value


class _Unusual(Exception):
    """A value the quick walk leaves to the JSON round trip (odd keys, say)."""


def _walk(value: Any) -> Any:
    """normalize() without the JSON round trip, for the values events carry: the same result
    (tests/audit/test_chain_normalize.py holds the two equal), several times faster."""
    kind = type(value)
    if kind is str:
        return clean_text(value)
    if value is None or kind is bool or kind is int:
        return value
    if kind is dict:
        walked = {}
        for key, item in value.items():
            if type(key) is not str or not key.isascii() or "\x00" in key:
                raise _Unusual
            walked[key] = _walk(item)
        return walked
    if kind is list or kind is tuple:
        return [_walk(item) for item in value]
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise _Unusual  # the round trip refuses it with its own error
        return _number_as_stored(float.__repr__(value))
    if isinstance(value, str | int | float | dict | list | tuple):
        raise _Unusual  # subclasses: whatever the encoder makes of them
    # Dates, times, Decimals, UUIDs: the encoder's text for them.
    text = _CANONICAL.default(value)
    if type(text) is not str:
        raise _Unusual
    return clean_text(text)


def normalize(value: Any) -> Any:
    """What a JSON column gives back on every engine: hash this, store this, and the verifier
    recomputes the same hash from what it reads."""
    try:
        return _walk(value)
    except _Unusual:
        return _normalize_round_trip(value)


def _normalize_round_trip(value: Any) -> Any:
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
