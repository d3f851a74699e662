"""The pure part of the chain: canonical JSON, what gets stored, and one link's hash."""

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from audit.chain import (
    GENESIS_HASH,
    canonical_json,
    link_body,
    link_hash,
    normalize,
    sha256_of,
)

BODY = {
    "tenant_id": 1,
    "actor_type": "user",
    "actor_id": "7",
    "actor_label": "alice",
    "action": "plan_version.approved",
    "resource_type": "planversion",
    "resource_id": "12",
    "plan_version": 12,
    "payload_hash": "",
    "data": {"b": 1, "a": [1, 2]},
}
AT = datetime(2026, 11, 21, 12, 0, 0, 123456, tzinfo=UTC)


def a_link(**changes) -> str:
    position = {"prev_hash": GENESIS_HASH, "seq": 1, "created_at": AT}
    body_fields = {**BODY, **{k: v for k, v in changes.items() if k in BODY}}
    position.update({k: v for k, v in changes.items() if k in position})
    return link_hash(**position, body=link_body(**body_fields))


def test_canonical_json_sorts_keys_and_drops_spaces():
    assert canonical_json({"b": 1, "a": {"d": 2, "c": 3}}) == '{"a":{"c":3,"d":2},"b":1}'


def test_canonical_json_writes_decimals_as_strings():
    assert canonical_json({"budget": Decimal("46000.50")}) == '{"budget":"46000.50"}'


@pytest.mark.parametrize("value", [float("nan"), float("inf")], ids=["nan", "infinity"])
def test_canonical_json_refuses_numbers_json_cannot_hold(value):
    with pytest.raises(ValueError):
        canonical_json({"x": value})


def test_the_same_payload_in_another_key_order_has_the_same_hash():
    assert sha256_of({"a": 1, "b": [1, 2]}) == sha256_of({"b": [1, 2], "a": 1})


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (1e20, 100000000000000000000),
        (1e23, 100000000000000000000000),
        (-0.0, 0.0),
        (0.1, 0.1),
        (2.0, 2.0),
        (1.5e-7, 1.5e-7),
        ("nul\x00byte", "nul\ufffdbyte"),
        ("lone \ud800 surrogate", "lone ? surrogate"),
        (Decimal("1.10"), "1.10"),
    ],
    ids=[
        "big-float-as-jsonb-prints-it",
        "float-whose-binary-value-differs-from-its-repr",
        "negative-zero",
        "plain-float",
        "whole-float-keeps-its-point",
        "small-float",
        "nul-byte-postgresql-refuses",
        "lone-surrogate",
        "decimal",
    ],
)
def test_normalize_gives_what_every_json_column_gives_back(given, stored):
    assert normalize({"v": given}) == {"v": stored}


@pytest.mark.parametrize(
    ("field", "other"),
    [
        ("prev_hash", "f" * 64),
        ("seq", 2),
        ("created_at", AT + timedelta(microseconds=1)),
        ("tenant_id", 2),
        ("actor_type", "agent"),
        ("actor_id", "8"),
        ("actor_label", "mallory"),
        ("action", "plan_version.rejected"),
        ("resource_type", "ticket"),
        ("resource_id", "13"),
        ("plan_version", 13),
        ("payload_hash", "a" * 64),
        ("data", {"b": 2, "a": [1, 2]}),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 20 else "",
)
def test_changing_any_stored_field_changes_the_link_hash(field, other):
    assert a_link(**{field: other}) != a_link()


def test_the_link_hash_does_not_depend_on_the_time_zone_a_datetime_is_read_in():
    berlin = AT.astimezone(timezone(timedelta(hours=1)))
    assert a_link(created_at=berlin) == a_link()


def test_the_link_hash_is_sha256_of_the_text_postgresql_also_builds():
    body = link_body(**BODY)
    text = f"{GENESIS_HASH}|1|2026-11-21T12:00:00.123456+00:00|{body}"
    assert a_link() == hashlib.sha256(text.encode()).hexdigest()
