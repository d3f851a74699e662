"""normalize() walks the value instead of round-tripping it through JSON; the hash of every
event depends on it giving exactly what the round trip gives (what the database gives back)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.chain import _CANONICAL, _normalize_round_trip, canonical_json, normalize

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.datetimes(timezones=st.just(dt.UTC))
    | st.dates()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.uuids()
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_the_walk_gives_what_the_json_round_trip_gives(value):
    walked = normalize(value)
    assert walked == _normalize_round_trip(value)
    assert canonical_json(walked) == canonical_json(_normalize_round_trip(value))


@settings(max_examples=300, deadline=None)
@given(values)
def test_the_cached_encoder_writes_what_the_encoder_writes(value):
    try:
        expected = _CANONICAL.encode(value)
    except (TypeError, ValueError) as refused:
        with pytest.raises(type(refused)):
            canonical_json(value)
    else:
        assert canonical_json(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"at": dt.datetime(2026, 3, 1, 12, 30, 0, 123456, tzinfo=dt.UTC)},
        {"amount": Decimal("1.50"), "id": uuid.UUID(int=7)},
        {"big": 1e20, "neg_zero": -0.0, "small": 1e-7},
        {"nul": "a\x00b", "surrogate": "x\ud800y"},
        {1: "int key", 2: [1, (2, 3)]},
        {"nul\x00key": 1},
    ],
)
def test_awkward_values_normalize_like_the_round_trip(value):
    assert canonical_json(normalize(value)) == canonical_json(_normalize_round_trip(value))


def test_nan_is_still_refused():
    with pytest.raises(ValueError):
        normalize({"x": float("nan")})
