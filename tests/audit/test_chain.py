"""The pure part of the chain: canonical JSON, what gets stored, and one link's hash."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from audit.chain import GENESIS_HASH, canonical_json, link_hash, normalize, sha256_of

LINK = {
    "prev_hash": GENESIS_HASH,
    "tenant_id": 1,
    "seq": 1,
    "created_at": datetime(2026, 11, 21, 12, 0, 0, 123456, tzinfo=UTC),
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
    "field",
    [
        "prev_hash",
        "tenant_id",
        "seq",
        "created_at",
        "actor_type",
        "actor_id",
        "actor_label",
        "action",
        "resource_type",
        "resource_id",
        "plan_version",
        "payload_hash",
        "data",
    ],
)
def test_changing_any_stored_field_changes_the_link_hash(field):
    changed = dict(LINK)
    original = changed[field]
    if isinstance(original, datetime):
        changed[field] = original + timedelta(microseconds=1)
    elif isinstance(original, int):
        changed[field] = original + 1
    elif isinstance(original, dict):
        changed[field] = {**original, "b": 2}
    else:
        changed[field] = original + "x"
    assert link_hash(**changed) != link_hash(**LINK)


def test_the_link_hash_does_not_depend_on_the_time_zone_a_datetime_is_read_in():
    berlin = LINK["created_at"].astimezone(timezone(timedelta(hours=1)))
    assert link_hash(**{**LINK, "created_at": berlin}) == link_hash(**LINK)
