"""The one payload schema (no database): rules, messages, canonical form and hash."""

import hashlib
import json
from decimal import Decimal

import pytest

from plans.schema import canonical_payload, parse_payload, payload_errors, payload_hash
from tests.plans.plan_samples import changed, channel, winter_plan

WINTER = winter_plan()


def test_a_valid_plan_parses_with_decimal_money():
    plan = parse_payload(WINTER)
    assert plan.total_budget == Decimal("70000")
    assert isinstance(plan.channels[0].budget, Decimal)


def test_the_canonical_form_stores_money_as_two_decimal_strings_and_sorts_geos():
    canonical = canonical_payload(WINTER)
    assert canonical["geos"] == ["AT", "DE"]
    assert canonical["channels"][0]["budget"] == "40000.00"
    assert canonical["channels"][0]["flights"][0] == {
        "start": "2026-11-01",
        "end": "2026-11-30",
        "budget": "15000.00",
    }
    assert canonical["kpi_targets"] == {"cpa": "40", "roas": "4"}


def test_the_hash_does_not_depend_on_how_a_number_is_written():
    as_floats = changed(WINTER, lambda p: channel(p, "search").update(budget=40000.0))
    as_strings = changed(WINTER, lambda p: channel(p, "search").update(budget="40000.00"))
    assert payload_hash(WINTER) == payload_hash(as_floats) == payload_hash(as_strings)
    assert len(payload_hash(WINTER)) == 64
    other = changed(WINTER, lambda p: channel(p, "search").update(budget="40000.01"))
    assert payload_hash(other) != payload_hash(WINTER)


def test_the_canonical_form_is_a_fixed_point():
    canonical = canonical_payload(WINTER)
    assert canonical_payload(canonical) == canonical


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.update(creative_themes=["  winter sale  ", "gifts\u3000"]),
        lambda p: p.update(messaging="  Warm and close.\n"),
        lambda p: p.update(currency=" eur ", objective=" Purchases "),
        lambda p: p.update(kpi_targets={" CPA ": "40.50"}),
        lambda p: channel(p, "search").update(channel=" Search ", platform=" google_ads "),
    ],
    ids=["themes", "messaging", "slugs", "kpi-keys", "channel"],
)
def test_what_validates_still_validates_after_canonicalisation(change):
    # Validation runs on the same normalised text that is stored: nothing passes once and
    # fails when the stored form is read again.
    canonical = canonical_payload(changed(WINTER, change))
    assert canonical_payload(canonical) == canonical


def _flights_over_budget(plan):
    channel(plan, "search")["flights"][2]["budget"] = 10001


def _flight_outside_plan(plan):
    channel(plan, "social")["flights"][2]["end"] = "2027-02-15"


def _overlapping_flights(plan):
    channel(plan, "search")["flights"][1]["start"] = "2026-11-20"


def _backwards_flight(plan):
    channel(plan, "search")["flights"][0].update(start="2026-11-30", end="2026-11-01")


def _duplicate_channel(plan):
    plan["channels"].append(dict(channel(plan, "search"), flights=[]))


INVALID = [
    pytest.param(
        lambda p: p.update(end="2026-10-01"),
        "the plan ends (2026-10-01) before it starts (2026-11-01)",
        id="end before start",
    ),
    pytest.param(
        lambda p: channel(p, "search").update(budget=-5),
        "channels[0].budget: Input should be greater than or equal to 0",
        id="negative budget",
    ),
    pytest.param(
        _flights_over_budget,
        "flights of search add up to 40001.00, more than the channel budget of 40000.00",
        id="flights above the channel budget",
    ),
    pytest.param(
        _flight_outside_plan,
        "flight 2027-01-01–2027-02-15 of social lies outside the plan dates",
        id="flight outside the plan dates",
    ),
    pytest.param(
        _overlapping_flights,
        "flights of search overlap: 2026-11-01–2026-11-30 and 2026-11-20–2026-12-31",
        id="overlapping flights",
    ),
    pytest.param(
        _backwards_flight,
        "flight ends (2026-11-01) before it starts (2026-11-30)",
        id="flight end before start",
    ),
    pytest.param(_duplicate_channel, "channel listed twice: search", id="duplicate channel"),
    pytest.param(lambda p: p["geos"].append("de"), "geo listed twice: DE", id="duplicate geo"),
    pytest.param(
        lambda p: channel(p, "search").update(budget="12.345"),
        "channels[0].budget: Decimal input should have no more than 2 decimal places",
        id="fractions of a cent",
    ),
    pytest.param(
        lambda p: channel(p, "search").update(budget="lots"),
        "channels[0].budget: Input should be a valid decimal",
        id="money that is text",
    ),
    pytest.param(
        lambda p: p.update(channels=[]),
        "channels: List should have at least 1 item",
        id="no channel",
    ),
    pytest.param(
        lambda p: p.update(currency="EURO"),
        "currency: String should match pattern",
        id="bad currency",
    ),
    pytest.param(
        lambda p: p.update(budget_total=1),
        "budget_total: Extra inputs are not permitted",
        id="unknown field",
    ),
    pytest.param(lambda p: p.pop("objective"), "objective: Field required", id="missing objective"),
]


@pytest.mark.parametrize(("change", "message"), INVALID)
def test_an_invalid_payload_gets_a_clear_message(change, message):
    errors = payload_errors(changed(WINTER, change))
    assert any(message in error for error in errors), errors


def test_a_payload_that_is_not_an_object_is_refused():
    assert payload_errors(["search"]) == ["payload: must be a JSON object"]


def test_unflighted_budget_is_allowed_as_a_reserve():
    plan = changed(WINTER, lambda p: channel(p, "search").update(budget=45000))
    assert payload_errors(plan) == []


def test_names_are_trimmed_and_lower_cased():
    plan = changed(WINTER, lambda p: p.update(objective=" Purchases "))
    channel(plan, "search")["channel"] = "Search"
    canonical = canonical_payload(plan)
    assert canonical["objective"] == "purchases"
    assert canonical["channels"][0]["channel"] == "search"


def test_the_hash_is_the_sha256_of_the_canonical_payload_as_sorted_compact_json():
    text = json.dumps(canonical_payload(WINTER), sort_keys=True, separators=(",", ":"))
    assert payload_hash(WINTER) == hashlib.sha256(text.encode()).hexdigest()
