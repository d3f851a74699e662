"""The one plan payload schema (pure, no database): the API, the forms and the services all use it.

Shape (docs/agent-api.md "Plan payload"): objective, primary_kpi, kpi_targets, geos, currency,
start, end, channels [{channel, platform, budget, flights [{start, end, budget}]}], creative_themes,
messaging.

Rules, each with a message that names the field:
- money is Decimal (numbers or strings in, never float arithmetic), every budget >= 0;
- end >= start, for the plan and for every flight; flights lie inside the plan dates and do not
  overlap within a channel;
- the flights of a channel add up to at most the channel's budget. We chose "at most" over
  "exactly": a channel may keep part of its budget unflighted (a reserve the planner schedules
  later), but it can never schedule more than it has;
- channel names are unique (one row per channel; a second platform for the same channel is a
  second channel name, e.g. "social_meta", "social_tiktok"), geos and creative themes too.

The canonical form (`canonical_payload`) is what we store and hash: money as strings with two
decimals, KPI targets as plain decimal strings, geos upper-case and sorted. `payload_hash` is the
SHA-256 of its canonical JSON, so 46000, 46000.0 and "46000.00" give the same hash.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from audit.chain import sha256_of
from config.text import storable_text

CENT = Decimal("0.01")


def money_text(value: Decimal) -> str:
    return str(value.quantize(CENT))


def decimal_text(value: Decimal) -> str:
    return format(value.normalize(), "f")


Money = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("1e12"), decimal_places=2, allow_inf_nan=False),
    PlainSerializer(money_text, return_type=str, when_used="json"),
]
KpiValue = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("1e12"), decimal_places=6, allow_inf_nan=False),
    PlainSerializer(decimal_text, return_type=str, when_used="json"),
]
# Free text goes through the one storable-text rule (config/text.py); slugs can't hold NUL or a
# lone surrogate anyway (their pattern runs in pydantic-core, which refuses both).
# The constraints come first, so pydantic-core applies them to the string itself: it strips
# whitespace *before* it measures the length — the same normalisation the stored form gets, so
# "   " is refused now instead of being stored as "" that the next parse refuses — and a long
# text is "at most N characters". (After a BeforeValidator they would become a generic length
# check, run on the text before stripping and worded in "items".)
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=80),
    BeforeValidator(storable_text),
]
# Pattern and lower-casing both run in pydantic-core (no Python call per field): a 50-channel
# plan is validated on every diff, so this matters (bench/plans.py).
Slug = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        min_length=1,
        max_length=60,
        pattern=r"^[A-Za-z0-9_]+$",
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Flight(_Strict):
    start: date
    end: date
    budget: Money

    @model_validator(mode="after")
    def _end_not_before_start(self) -> Flight:
        if self.end < self.start:
            raise ValueError(f"flight ends ({self.end}) before it starts ({self.start})")
        return self

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


class Channel(_Strict):
    channel: Slug
    platform: Slug
    budget: Money
    flights: list[Flight] = Field(default_factory=list, max_length=60)

    @model_validator(mode="after")
    def _flights_fit(self) -> Channel:
        flights = sorted(self.flights, key=lambda f: f.start)
        for earlier, later in zip(flights, flights[1:], strict=False):
            if later.start <= earlier.end:
                raise ValueError(
                    f"flights of {self.channel} overlap: {earlier.start}–{earlier.end} and "
                    f"{later.start}–{later.end}"
                )
        flighted = sum((f.budget for f in self.flights), Decimal("0"))
        if flighted > self.budget:
            raise ValueError(
                f"flights of {self.channel} add up to {money_text(flighted)}, more than the "
                f"channel budget of {money_text(self.budget)}"
            )
        return self


class PlanPayload(_Strict):
    objective: Slug
    primary_kpi: Slug
    kpi_targets: dict[Slug, KpiValue] = Field(default_factory=dict)
    geos: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}(-[A-Za-z0-9]{1,3})?$")]] = (
        Field(min_length=1, max_length=250)
    )
    currency: Annotated[
        str, StringConstraints(strip_whitespace=True, to_upper=True, pattern=r"^[A-Za-z]{3}$")
    ]
    start: date
    end: date
    channels: list[Channel] = Field(min_length=1, max_length=200)
    creative_themes: list[Name] = Field(default_factory=list, max_length=50)
    messaging: Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=5000),
        BeforeValidator(storable_text),
    ] = ""

    @field_validator("geos")
    @classmethod
    def _geos_upper_unique_sorted(cls, geos: list[str]) -> list[str]:
        upper = [g.upper() for g in geos]
        duplicates = sorted({g for g in upper if upper.count(g) > 1})
        if duplicates:
            raise ValueError(f"geo listed twice: {', '.join(duplicates)}")
        return sorted(upper)

    @field_validator("creative_themes")
    @classmethod
    def _themes_unique(cls, themes: list[str]) -> list[str]:
        seen = [t.casefold() for t in themes]
        duplicates = sorted({t for t, key in zip(themes, seen, strict=True) if seen.count(key) > 1})
        if duplicates:
            raise ValueError(f"creative theme listed twice: {', '.join(duplicates)}")
        return themes

    @model_validator(mode="after")
    def _dates_and_channels(self) -> PlanPayload:
        if self.end < self.start:
            raise ValueError(f"the plan ends ({self.end}) before it starts ({self.start})")
        names = [c.channel for c in self.channels]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"channel listed twice: {', '.join(duplicates)}")
        for channel in self.channels:
            for flight in channel.flights:
                if flight.start < self.start or flight.end > self.end:
                    raise ValueError(
                        f"flight {flight.start}–{flight.end} of {channel.channel} lies outside "
                        f"the plan dates {self.start}–{self.end}"
                    )
        return self

    @property
    def total_budget(self) -> Decimal:
        return sum((c.budget for c in self.channels), Decimal("0"))

    def channel(self, name: str) -> Channel | None:
        return next((c for c in self.channels if c.channel == name), None)


class PayloadInvalid(ValueError):
    """The payload breaks the schema; `errors` holds one readable line per problem and `fields`
    the same problems by the path of the field at fault ("channels[0].budget"; "" for the whole
    payload)."""

    def __init__(self, errors: list[str], fields: dict[str, list[str]] | None = None):
        super().__init__("; ".join(errors))
        self.errors = errors
        self.fields = fields if fields is not None else {"": list(errors)}


def _location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _message(error: dict) -> str:
    return error["msg"].removeprefix("Value error, ")


def _readable(error: dict) -> str:
    where = _location(error.get("loc", ()))
    return f"{where}: {_message(error)}" if where else _message(error)


def parse_payload(data: Any) -> PlanPayload:
    """Validate raw data (API JSON, form data, a stored payload) or raise PayloadInvalid."""
    if isinstance(data, PlanPayload):
        return data
    if not isinstance(data, dict):
        raise PayloadInvalid(["payload: must be a JSON object"], {"": ["must be a JSON object"]})
    try:
        return PlanPayload.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, list[str]] = {}
        for error in exc.errors():
            fields.setdefault(_location(error.get("loc", ())), []).append(_message(error))
        raise PayloadInvalid([_readable(e) for e in exc.errors()], fields) from None


def payload_errors(data: Any) -> list[str]:
    """Every problem with `data`, as sentences; empty when it is a valid plan payload."""
    try:
        parse_payload(data)
    except PayloadInvalid as exc:
        return exc.errors
    return []


def canonical_payload(data: Any) -> dict:
    """The stored form: validated, money as two-decimal strings, geos sorted."""
    return parse_payload(data).model_dump(mode="json")


def payload_hash(data: Any) -> str:
    """SHA-256 of the canonical JSON of the canonical payload."""
    return sha256_of(canonical_payload(data))
