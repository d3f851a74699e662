"""The draft editor form: POST fields → one payload, validated by plans.schema, errors by field."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from plans.forms import PlanPayloadForm

PAYLOAD = {
    "objective": "purchases",
    "primary_kpi": "cpa",
    "kpi_targets": {"cpa": "40"},
    "geos": ["DE"],
    "currency": "EUR",
    "start": "2026-11-01",
    "end": "2027-01-31",
    "channels": [
        {
            "channel": "search",
            "platform": "google_ads",
            "budget": "40000.00",
            "flights": [
                {"start": "2026-11-01", "end": "2026-11-30", "budget": "15000.00"},
                {"start": "2026-12-01", "end": "2026-12-31", "budget": "15000.00"},
            ],
        },
        {"channel": "social", "platform": "meta", "budget": "20000.00", "flights": []},
    ],
    "creative_themes": ["winter sale", "gift guide"],
    "messaging": "Warm gifts, fast delivery.",
}


def post_of(payload: dict, **overrides: str) -> QueryDict:
    """The POST the editor sends for `payload`, with some fields overridden."""
    data = QueryDict(mutable=True)
    for key in ("objective", "primary_kpi", "currency", "start", "end", "messaging"):
        data[key] = payload[key]
    data["geos"] = ", ".join(payload["geos"])
    data["creative_themes"] = "\n".join(payload["creative_themes"])
    for i, (name, value) in enumerate(payload["kpi_targets"].items()):
        data[f"kpi_targets-{i}-name"] = name
        data[f"kpi_targets-{i}-value"] = value
    for c, channel in enumerate(payload["channels"]):
        for key in ("channel", "platform", "budget"):
            data[f"channels-{c}-{key}"] = channel[key]
        for f, flight in enumerate(channel["flights"]):
            for key in ("start", "end", "budget"):
                data[f"channels-{c}-flights-{f}-{key}"] = flight[key]
    for key, value in overrides.items():
        data[key] = value
    return data


def test_a_payload_round_trips_through_the_form_unchanged():
    form = PlanPayloadForm(data=post_of(PAYLOAD))

    assert form.is_valid(), form.errors
    assert form.payload == {
        **PAYLOAD,
        "kpi_targets": {"cpa": "40"},
        "channels": [
            {**PAYLOAD["channels"][0]},
            {**PAYLOAD["channels"][1]},
        ],
    }


def test_the_form_shows_a_stored_payload_as_editable_fields():
    form = PlanPayloadForm(payload=PAYLOAD)

    assert form.field("geos").value == "DE"
    assert form.field("creative_themes").value == "winter sale\ngift guide"
    rows = form.channel_rows
    assert [r.channel.value for r in rows] == ["search", "social"]
    assert rows[0].flights[1].start.name == "channels-0-flights-1-start"
    assert rows[0].flights[1].budget.value == "15000.00"
    assert [(k.name.value, k.value.value) for k in form.kpi_rows] == [("cpa", "40")]


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        pytest.param(
            {"channels-0-budget": "lots"},
            "channels-0-budget",
            "Enter a number",
            id="budget-not-a-number",
        ),
        pytest.param(
            {"channels-0-flights-1-budget": "-5"},
            "channels-0-flights-1-budget",
            "Must be 0 or more",
            id="negative-flight-budget",
        ),
        pytest.param(
            {"channels-0-flights-0-end": "30.11.2026"},
            "channels-0-flights-0-end",
            "YYYY-MM-DD",
            id="flight-date-in-the-wrong-format",
        ),
        pytest.param({"geos": "Germany"}, "geos", "two-letter country codes", id="geo-not-a-code"),
        pytest.param({"geos": ""}, "geos", "at least one geo", id="no-geo"),
        pytest.param({"currency": "euro"}, "currency", "three-letter", id="currency-not-a-code"),
        pytest.param({"objective": ""}, "objective", "required", id="no-objective"),
        pytest.param(
            {"channels-1-platform": "Meta Ads"},
            "channels-1-platform",
            "lower-case",
            id="platform-not-a-slug",
        ),
        pytest.param(
            {"kpi_targets-0-value": "forty"},
            "kpi_targets-0-value",
            "Enter a number",
            id="kpi-not-a-number",
        ),
        pytest.param(
            {"kpi_targets-0-name": ""},
            "kpi_targets-0-name",
            "Name the KPI",
            id="kpi-value-without-a-name",
        ),
        pytest.param(
            {"channels-0-flights-1-budget": "30000.00"},
            "channels-0",
            "more than the channel budget",
            id="flights-exceed-the-channel-budget",
        ),
        pytest.param(
            {"channels-0-flights-1-start": "2026-11-15"},
            "channels-0",
            "overlap",
            id="overlapping-flights",
        ),
        pytest.param({"end": "2026-10-01"}, "__all__", "ends", id="plan-ends-before-it-starts"),
        pytest.param(
            {"channels-1-channel": "search"},
            "__all__",
            "channel listed twice",
            id="duplicate-channel",
        ),
    ],
)
def test_each_schema_error_lands_beside_the_field_it_names(overrides, field, message):
    form = PlanPayloadForm(data=post_of(PAYLOAD, **overrides))

    assert not form.is_valid()
    assert any(message in text for text in form.errors.get(field, [])), form.errors
    with pytest.raises(AssertionError):
        form.payload  # noqa: B018 — an invalid form has no payload to save


def test_blank_kpi_rows_are_ignored_rather_than_errors():
    data = post_of(PAYLOAD, **{"kpi_targets-1-name": "", "kpi_targets-1-value": ""})

    form = PlanPayloadForm(data=data)

    assert form.is_valid(), form.errors
    assert form.payload["kpi_targets"] == {"cpa": "40"}


def test_a_kpi_listed_twice_is_an_error():
    data = post_of(PAYLOAD, **{"kpi_targets-1-name": "cpa", "kpi_targets-1-value": "35"})

    form = PlanPayloadForm(data=data)

    assert not form.is_valid()
    assert form.errors["kpi_targets"] == ["The KPI 'cpa' is listed twice."]


@pytest.mark.parametrize(
    ("action", "channels", "flights_of_first"),
    [
        pytest.param("add-channel", ["search", "social", ""], 2, id="add-channel"),
        pytest.param("remove-channel-0", ["social"], 0, id="remove-first-channel"),
        pytest.param("add-flight-0", ["search", "social"], 3, id="add-flight"),
        pytest.param("remove-flight-0-1", ["search", "social"], 1, id="remove-flight"),
        pytest.param("remove-channel-9", ["search", "social"], 2, id="stale-row-is-ignored"),
        pytest.param("explode", ["search", "social"], 2, id="unknown-action-is-ignored"),
    ],
)
def test_row_buttons_add_and_remove_channel_and_flight_rows(action, channels, flights_of_first):
    form = PlanPayloadForm(data=post_of(PAYLOAD))

    form.apply_row_action(action)

    assert [r.channel.value for r in form.channel_rows] == channels
    assert len(form.channel_rows[0].flights) == flights_of_first


def test_kpi_rows_can_be_added_and_the_last_one_never_disappears():
    form = PlanPayloadForm(data=post_of(PAYLOAD))

    form.apply_row_action("add-kpi")
    assert len(form.kpi_rows) == 2
    form.apply_row_action("remove-kpi-0")
    form.apply_row_action("remove-kpi-0")

    assert [(k.name.value, k.value.value) for k in form.kpi_rows] == [("", "")]


def test_values_typed_so_far_survive_a_row_action():
    data = post_of(PAYLOAD, **{"channels-1-budget": "25000"})
    form = PlanPayloadForm(data=data)

    form.apply_row_action("add-flight-1")

    assert form.channel_rows[1].budget.value == "25000"
    assert [f.name for f in [form.channel_rows[1].flights[0].start]] == [
        "channels-1-flights-0-start"
    ]


def test_a_new_empty_row_is_to_fill_in_while_a_value_typed_wrong_is_an_error():
    form = PlanPayloadForm(data=post_of(PAYLOAD, **{"channels-0-budget": "lots"}))
    form.apply_row_action("add-channel")
    assert not form.is_valid()

    corrections = form.corrections(blanks_shown=False)
    form.hide_errors_of_blank_fields()

    assert corrections["marked"] is True
    assert corrections["blank"] == "channel 3 (channel, platform, budget)"
    assert set(corrections["errors"]["fields"]) == {
        "channels-0-budget",
        "channels-2-channel",
        "channels-2-platform",
        "channels-2-budget",
    }
    assert form.errors == {"channels-0-budget": ["Enter a number, e.g. 12000.00."]}


def test_after_a_save_empty_fields_count_as_marked():
    form = PlanPayloadForm(data=post_of(PAYLOAD, geos=""))
    assert not form.is_valid()

    assert form.corrections(blanks_shown=False) == {
        "marked": False,
        "blank": "the plan (geos)",
        "errors": {"fields": {"geos": ["Enter at least one geo."]}, "groups": {}},
    }
    assert form.corrections(blanks_shown=True)["marked"] is True
