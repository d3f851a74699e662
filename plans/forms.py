"""The draft editor's form: flat HTML fields in, the one plan payload schema out.

The form does not repeat the payload rules. Its inputs are named after the payload's own paths
(`channels-0-flights-1-budget` is `payload["channels"][0]["flights"][1]["budget"]`), so the form
only reshapes the POST into a payload and hands it to `plans.schema` — the same validation the API
runs — and every error the schema reports lands beside the input its path names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django import forms
from django.http import QueryDict
from pydantic import ValidationError

from config.text import REASON_MAX, StorableTextField
from plans.schema import PlanPayload

SEP = "-"
TOP_LEVEL_FIELDS = frozenset(
    {"objective", "primary_kpi", "geos", "currency", "start", "end", "creative_themes", "messaging"}
)
CHANNEL_ROW = re.compile(r"^channels-(\d+)-(channel|platform|budget)$")
FLIGHT_ROW = re.compile(r"^channels-(\d+)-flights-(\d+)-(start|end|budget)$")
KPI_ROW = re.compile(r"^kpi_targets-(\d+)-(name|value)$")
FLIGHT_KEYS = ("start", "end", "budget")
# Buttons that change the rows rather than save: "add-channel", "remove-channel-2",
# "add-flight-1", "remove-flight-1-0", "add-kpi", "remove-kpi-1".
ROW_ACTION = re.compile(r"^(add|remove)-(channel|flight|kpi)((?:-\d+){0,2})$")

# Pydantic's messages name Python types; a planner wants to know what to type.
FRIENDLY_MESSAGES = {
    "decimal_parsing": "Enter a number, e.g. 12000.00.",
    "float_parsing": "Enter a number, e.g. 12000.00.",
    "int_parsing": "Enter a whole number.",
    "date_from_datetime_parsing": "Enter a date as YYYY-MM-DD.",
    "date_parsing": "Enter a date as YYYY-MM-DD.",
    "date_type": "Enter a date as YYYY-MM-DD.",
    "decimal_type": "Enter a number, e.g. 12000.00.",
    "missing": "This field is required.",
    "string_too_short": "This field is required.",
    "greater_than_equal": "Must be 0 or more.",
}
PATTERN_MESSAGES = {
    "geos": "Use two-letter country codes, e.g. DE, AT.",
    "currency": "Use a three-letter currency code, e.g. EUR.",
}
TOO_SHORT_MESSAGES = {
    "geos": "Enter at least one geo.",
    "channels": "Add at least one channel.",
}


@dataclass
class Field:
    name: str
    value: str = ""
    errors: list[str] = field(default_factory=list)


@dataclass
class FlightRow:
    index: int
    start: Field
    end: Field
    budget: Field


@dataclass
class ChannelRow:
    index: int
    channel: Field
    platform: Field
    budget: Field
    flights: list[FlightRow]
    errors: list[str] = field(default_factory=list)


@dataclass
class KpiRow:
    index: int
    name: Field
    value: Field


def _text(value) -> str:
    return "" if value is None else str(value)


def _blank(row: dict) -> bool:
    return not any(str(v).strip() for v in row.values() if not isinstance(v, list))


class PlanPayloadForm:
    """Edit a plan payload: built from a payload (GET) or from a POST (re-render, save, verdict)."""

    def __init__(self, *, data: QueryDict | None = None, payload: dict | None = None) -> None:
        self.raw = (
            self._raw_from_post(data) if data is not None else self._raw_from_payload(payload)
        )
        self.errors: dict[str, list[str]] = {}
        self.cleaned: PlanPayload | None = None

    # --- building the raw (string) payload ------------------------------------------------------
    @staticmethod
    def _raw_from_payload(payload: dict | None) -> dict:
        payload = payload or {}
        return {
            "objective": _text(payload.get("objective")),
            "primary_kpi": _text(payload.get("primary_kpi")),
            "kpi_targets": [
                {"name": name, "value": _text(value)}
                for name, value in (payload.get("kpi_targets") or {}).items()
            ]
            or [{"name": "", "value": ""}],
            "geos": ", ".join(payload.get("geos") or []),
            "currency": _text(payload.get("currency")),
            "start": _text(payload.get("start")),
            "end": _text(payload.get("end")),
            "creative_themes": "\n".join(payload.get("creative_themes") or []),
            "messaging": _text(payload.get("messaging")),
            "channels": [
                {
                    "channel": _text(channel.get("channel")),
                    "platform": _text(channel.get("platform")),
                    "budget": _text(channel.get("budget")),
                    "flights": [
                        {
                            "start": _text(flight.get("start")),
                            "end": _text(flight.get("end")),
                            "budget": _text(flight.get("budget")),
                        }
                        for flight in channel.get("flights") or []
                    ],
                }
                for channel in payload.get("channels") or []
            ],
        }

    @staticmethod
    def _raw_from_post(data: QueryDict) -> dict:
        raw: dict = {
            key: data.get(key, "").strip()
            for key in ("objective", "primary_kpi", "geos", "currency", "start", "end")
        }
        raw["creative_themes"] = data.get("creative_themes", "")
        raw["messaging"] = data.get("messaging", "").strip()
        channels: dict[int, dict] = {}
        kpis: dict[int, dict] = {}
        for key in data:
            if match := CHANNEL_ROW.match(key):
                row = channels.setdefault(int(match[1]), {"flights": {}})
                row[match[2]] = data.get(key, "").strip()
            elif match := FLIGHT_ROW.match(key):
                row = channels.setdefault(int(match[1]), {"flights": {}})
                flight = row["flights"].setdefault(int(match[2]), {})
                flight[match[3]] = data.get(key, "").strip()
            elif match := KPI_ROW.match(key):
                kpis.setdefault(int(match[1]), {})[match[2]] = data.get(key, "").strip()
        raw["channels"] = [
            {
                "channel": row.get("channel", ""),
                "platform": row.get("platform", ""),
                "budget": row.get("budget", ""),
                "flights": [
                    {k: flight.get(k, "") for k in ("start", "end", "budget")}
                    for _, flight in sorted(row["flights"].items())
                ],
            }
            for _, row in sorted(channels.items())
        ]
        raw["kpi_targets"] = [
            {"name": row.get("name", ""), "value": row.get("value", "")}
            for _, row in sorted(kpis.items())
        ] or [{"name": "", "value": ""}]
        return raw

    # --- add / remove rows (a submit button without JS, an hx-post with it) ---------------------
    @staticmethod
    def is_row_action(action: str) -> bool:
        return bool(ROW_ACTION.match(action or ""))

    def apply_row_action(self, action: str) -> None:
        match = ROW_ACTION.match(action or "")
        if match is None:
            return
        verb, what = match[1], match[2]
        indexes = [int(i) for i in match[3].split(SEP) if i]
        channels = self.raw["channels"]
        try:
            if what == "channel" and verb == "add":
                channels.append({"channel": "", "platform": "", "budget": "", "flights": []})
            elif what == "channel":
                channels.pop(indexes[0])
            elif what == "flight" and verb == "add":
                channels[indexes[0]]["flights"].append(_empty_flight())
            elif what == "flight":
                channels[indexes[0]]["flights"].pop(indexes[1])
            elif verb == "add":
                self.raw["kpi_targets"].append({"name": "", "value": ""})
            else:
                self.raw["kpi_targets"].pop(indexes[0])
        except IndexError:
            # A stale page (the row is already gone): nothing to add to or remove.
            return
        if not self.raw["kpi_targets"]:
            self.raw["kpi_targets"].append({"name": "", "value": ""})

    # --- validation through the one schema -----------------------------------------------------
    def payload_candidate(self) -> dict:
        """The raw strings shaped as a payload; blank KPI rows are left out, not errors."""
        raw = self.raw
        return {
            "objective": raw["objective"],
            "primary_kpi": raw["primary_kpi"],
            "kpi_targets": {
                row["name"].strip(): row["value"] for row in raw["kpi_targets"] if not _blank(row)
            },
            "geos": [
                geo.strip().upper() for geo in re.split(r"[,\s]+", raw["geos"]) if geo.strip()
            ],
            "currency": raw["currency"].upper(),
            "start": raw["start"] or None,
            "end": raw["end"] or None,
            "channels": [
                {**channel, "budget": channel["budget"] or None}
                | {
                    "flights": [
                        {**flight, "budget": flight["budget"] or None}
                        for flight in channel["flights"]
                    ]
                }
                for channel in raw["channels"]
            ],
            "creative_themes": [
                line.strip() for line in raw["creative_themes"].splitlines() if line.strip()
            ],
            "messaging": raw["messaging"],
        }

    def is_valid(self) -> bool:
        self.errors = {}
        candidate = self.payload_candidate()
        kpi_names = [row["name"].strip() for row in self.raw["kpi_targets"] if not _blank(row)]
        for index, row in enumerate(self.raw["kpi_targets"]):
            if not _blank(row) and not row["name"].strip():
                self.add_error(f"kpi_targets-{index}-name", "Name the KPI, e.g. cpa.")
        for name in {n for n in kpi_names if kpi_names.count(n) > 1}:
            self.add_error("kpi_targets", f"The KPI {name!r} is listed twice.")
        try:
            self.cleaned = PlanPayload.model_validate(candidate)
        except ValidationError as exc:
            self.cleaned = None
            for error in exc.errors():
                self.add_error(self._field_for(error["loc"]), _message(error))
        if self.errors:
            self.cleaned = None
        return not self.errors

    @property
    def payload(self) -> dict:
        """The validated payload as JSON-ready data (call is_valid() first)."""
        assert self.cleaned is not None, "is_valid() first"
        return self.cleaned.model_dump(mode="json")

    def _field_for(self, loc: tuple) -> str:
        """The input an error path belongs to: the longest rendered name that prefixes it."""
        parts = [str(p) for p in loc]
        if parts[:1] == ["kpi_targets"] and len(parts) > 1:
            names = [row["name"].strip() for row in self.raw["kpi_targets"]]
            if parts[1] in names:
                return f"kpi_targets-{names.index(parts[1])}-value"
            return "kpi_targets"
        if parts[:1] in (["geos"], ["creative_themes"]):
            return parts[0]
        rendered = self._field_names()
        while parts:
            name = SEP.join(parts)
            if name in rendered:
                return name
            parts.pop()
        return "__all__"

    def _field_names(self) -> set[str]:
        names = set(TOP_LEVEL_FIELDS) | {"kpi_targets", "channels"}
        for c, channel in enumerate(self.raw["channels"]):
            names |= {f"channels-{c}", f"channels-{c}-flights"}
            names |= {f"channels-{c}-{k}" for k in ("channel", "platform", "budget")}
            for f, _ in enumerate(channel["flights"]):
                names |= {f"channels-{c}-flights-{f}"}
                names |= {f"channels-{c}-flights-{f}-{k}" for k in ("start", "end", "budget")}
        return names

    def add_error(self, name: str, message: str) -> None:
        messages = self.errors.setdefault(name, [])
        if message not in messages:
            messages.append(message)

    # --- which errors the planner sees while editing -------------------------------------------
    def _input_values(self) -> dict[str, str]:
        """Every rendered input by name, with what it holds."""
        raw = self.raw
        values = {name: raw[name] for name in TOP_LEVEL_FIELDS}
        for i, row in enumerate(raw["kpi_targets"]):
            values |= {f"kpi_targets-{i}-{k}": row[k] for k in ("name", "value")}
        for c, channel in enumerate(raw["channels"]):
            values |= {f"channels-{c}-{k}": channel[k] for k in ("channel", "platform", "budget")}
            for f, flight in enumerate(channel["flights"]):
                values |= {f"channels-{c}-flights-{f}-{k}": flight[k] for k in FLIGHT_KEYS}
        return values

    def _blank_inputs_at_fault(self) -> list[str]:
        values = self._input_values()
        return [name for name in self.errors if name in values and not values[name].strip()]

    def hide_errors_of_blank_fields(self) -> None:
        """Keep only the errors of what the planner typed: a row just added is a row to fill in,
        not a row of "This field is required." (a save still shows them all)."""
        for name in self._blank_inputs_at_fault():
            del self.errors[name]

    def corrections(self, *, blanks_shown: bool) -> dict:
        """What the live verdict says about an invalid form: whether fields are marked (errors
        on what was typed, on a row or the whole plan, or — `blanks_shown`, after a save — on
        empty fields too), which empty fields still wait to be filled in, and every error by
        input (`fields`) and by row or list (`groups`) for the editor's script to mark and
        clear (static/js/app.js)."""
        values = self._input_values()
        blanks = self._blank_inputs_at_fault()
        marked = [name for name in self.errors if blanks_shown or name not in blanks]
        return {
            "marked": bool(marked),
            "blank": _blank_list(blanks, self.raw),
            "errors": {
                "fields": {n: m for n, m in self.errors.items() if n in values},
                "groups": {
                    **{
                        f"channels-{row.index}": row.errors
                        for row in self.channel_rows
                        if row.errors
                    },
                    **{
                        name: self.errors[name]
                        for name in ("channels", "kpi_targets", "__all__")
                        if name in self.errors
                    },
                },
            },
        }

    # --- what the template renders --------------------------------------------------------------
    def field(self, name: str) -> Field:
        return Field(name, self.raw.get(name, ""), self.errors.get(name, []))

    def __getitem__(self, name: str) -> Field:
        """`{{ form.objective }}` in a template: the top-level inputs by name."""
        if name not in TOP_LEVEL_FIELDS:
            raise KeyError(name)
        return self.field(name)

    def _row_field(self, name: str, value: str) -> Field:
        return Field(name, value, self.errors.get(name, []))

    @property
    def non_field_errors(self) -> list[str]:
        return self.errors.get("__all__", [])

    @property
    def channel_rows(self) -> list[ChannelRow]:
        rows = []
        for c, channel in enumerate(self.raw["channels"]):
            prefix = f"channels-{c}"
            flights = [
                FlightRow(
                    f,
                    *(
                        self._row_field(f"{prefix}-flights-{f}-{k}", flight[k])
                        for k in ("start", "end", "budget")
                    ),
                )
                for f, flight in enumerate(channel["flights"])
            ]
            row_errors = [
                *self.errors.get(prefix, []),
                *self.errors.get(f"{prefix}-flights", []),
                *(
                    m
                    for f in range(len(flights))
                    for m in self.errors.get(f"{prefix}-flights-{f}", [])
                ),
            ]
            rows.append(
                ChannelRow(
                    c,
                    *(
                        self._row_field(f"{prefix}-{k}", channel[k])
                        for k in ("channel", "platform", "budget")
                    ),
                    flights,
                    row_errors,
                )
            )
        return rows

    @property
    def kpi_rows(self) -> list[KpiRow]:
        return [
            KpiRow(
                i,
                self._row_field(f"kpi_targets-{i}-name", row["name"]),
                self._row_field(f"kpi_targets-{i}-value", row["value"]),
            )
            for i, row in enumerate(self.raw["kpi_targets"])
        ]

    @property
    def channels_errors(self) -> list[str]:
        return self.errors.get("channels", [])


def _empty_flight() -> dict:
    return dict.fromkeys(FLIGHT_KEYS, "")


# How the live verdict names an empty field it waits for: "channel 3 (channel, platform,
# budget)", "search flight 2 (start)", "the plan (geos)".
BLANK_PARTS = {
    "objective": "objective",
    "primary_kpi": "primary KPI",
    "geos": "geos",
    "currency": "currency",
    "start": "start date",
    "end": "end date",
    "creative_themes": "creative themes",
    "messaging": "messaging",
}


def _blank_owner_and_part(name: str, raw: dict) -> tuple[str, str]:
    if match := FLIGHT_ROW.match(name):
        channel = raw["channels"][int(match[1])]["channel"].strip()
        owner = channel or f"channel {int(match[1]) + 1}"
        return f"{owner} flight {int(match[2]) + 1}", match[3]
    if match := CHANNEL_ROW.match(name):
        return f"channel {int(match[1]) + 1}", match[2]
    if match := KPI_ROW.match(name):
        return f"KPI target {int(match[1]) + 1}", match[2]
    return "the plan", BLANK_PARTS.get(name, name)


def _blank_list(names: list[str], raw: dict) -> str:
    """Empty fields grouped by the row they belong to, in the order of the form."""
    owners: dict[str, list[str]] = {}
    for name in names:
        owner, part = _blank_owner_and_part(name, raw)
        owners.setdefault(owner, []).append(part)
    return "; ".join(f"{owner} ({', '.join(parts)})" for owner, parts in owners.items())


def _message(error: dict) -> str:
    kind, top = error.get("type", ""), str((error.get("loc") or ("",))[0])
    if kind == "string_pattern_mismatch":
        return PATTERN_MESSAGES.get(
            top, "Use lower-case letters, digits and _ only, e.g. google_ads."
        )
    if kind == "too_short":
        whole_list = len(error.get("loc") or ()) == 1 and top in TOO_SHORT_MESSAGES
        return TOO_SHORT_MESSAGES[top] if whole_list else "This field is required."
    friendly = FRIENDLY_MESSAGES.get(kind)
    if friendly:
        return friendly
    message = error.get("msg", "Invalid value.")
    # Pydantic prefixes messages of custom validators with "Value error, ".
    return message.removeprefix("Value error, ")


class DraftReasonForm(forms.Form):
    """Why a draft is made (the editor's "Why this draft"), under the one storable-text rule."""

    reason = StorableTextField(required=False, max_length=REASON_MAX)


class EnvelopeProposalForm(forms.Form):
    """A new master envelope proposed with a draft: the total and a cap per track. A blank cap
    leaves a track uncapped; a track that has a cap keeps one (a cap can change, not go)."""

    total_budget = forms.DecimalField(
        label="Total envelope", min_value=0, max_digits=14, decimal_places=2
    )

    def __init__(self, *args, tracks: list[str], capped: set[str], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.tracks = tracks
        for key in tracks:
            self.fields[self.cap_name(key)] = forms.DecimalField(
                label=f"{key} cap",
                required=key in capped,
                min_value=0,
                max_digits=14,
                decimal_places=2,
                error_messages={
                    "required": f"{key} has a cap: enter one (a cap can change, not go)."
                },
            )

    @staticmethod
    def cap_name(key: str) -> str:
        return f"cap_{key}"

    @property
    def cap_fields(self) -> list:
        return [self[self.cap_name(key)] for key in self.tracks]

    def master_change(self) -> dict:
        """The proposal as the service takes it (call is_valid() first)."""
        data = self.cleaned_data
        return {
            "total_budget": str(data["total_budget"]),
            "track_caps": {
                key: str(data[self.cap_name(key)])
                for key in self.tracks
                if data.get(self.cap_name(key)) is not None
            },
        }
