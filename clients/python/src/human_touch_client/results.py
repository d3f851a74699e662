"""Typed answers of the agent API: frozen dataclasses, money as Decimal, times as datetime.

`parse(cls, data)` builds one from the JSON by its annotations, so a new answer is just a
dataclass. Fields the server adds later are kept in `raw` (and ignored otherwise); a field the
dataclass needs and the answer lacks is a `ProtocolError`. tests/client/test_contract.py checks
every field here against the server's OpenAPI schema.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeVar

from human_touch_client.errors import HumanTouchError

T = TypeVar("T")


class ProtocolError(HumanTouchError):
    """The server answered something this client cannot read (a field missing or malformed)."""


@dataclass(frozen=True)
class Result:
    """An answer; `raw` is the JSON as the server sent it."""

    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, kw_only=True)


# --- whoami and runs ---------------------------------------------------------------------------
@dataclass(frozen=True)
class WhoAmI(Result):
    tenant: str
    key_name: str
    key_prefix: str
    api_version: str = ""  # a server older than the version check names none


@dataclass(frozen=True)
class RunCreated(Result):
    run_id: str
    state: str


@dataclass(frozen=True)
class GateAnswer(Result):
    """The gate let the step through; `reservation` holds an llm_call's expected cost."""

    allowed: bool
    state: str
    counts: dict[str, int]
    reservation: str | None = None


@dataclass(frozen=True)
class Spend(Result):
    """The run's costs after a spend report; `ticket` is the A9 when the Cost Guard tripped."""

    actual_cost_usd: Decimal
    estimated_cost_usd: Decimal
    state: str
    ticket: str | None

    @property
    def blocked(self) -> bool:
        return self.state == "blocked"


@dataclass(frozen=True)
class ReservationReleased(Result):
    reservation: str
    status: str


@dataclass(frozen=True)
class QcResult(Result):
    id: int
    subtask_id: str
    passed: bool
    attempt: int


@dataclass(frozen=True)
class TicketRef(Result):
    ticket: str
    type: str
    status: str


@dataclass(frozen=True)
class Run(Result):
    """A run as the server keeps it: state and why, counts against ceilings, costs."""

    run_id: str
    main_task_id: str
    agent: str
    model: str
    state: str
    block_reason: str
    counts: dict[str, int]
    ceilings: dict[str, int]
    estimated_cost_usd: Decimal
    actual_cost_usd: Decimal
    reserved_usd: Decimal
    trip_line_usd: Decimal
    input_tokens: int
    output_tokens: int
    open_tickets: list[TicketRef]
    recent_gate_calls: list[dict[str, Any]]
    created_at: datetime

    @property
    def blocking_ticket(self) -> str | None:
        """The open red flag (A8 loop limit, A9 Cost Guard) that holds the run, if any."""
        if self.state != "blocked":
            return None
        flags = [t.ticket for t in self.open_tickets if t.type in ("A8", "A9")]
        return flags[0] if flags else None


# --- tickets -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decision(Result):
    role: str
    verdict: str
    comment: str
    at: datetime


@dataclass(frozen=True)
class Ticket(Result):
    """A ticket and where its decision stands. `wait()` polls until a person decides."""

    ticket: str
    type: str
    type_name: str
    status: str
    title: str
    summary: str
    subject_type: str
    subject_id: str
    plan_version: int | None
    change_set_id: str
    run_id: str
    platform: str
    requesting_agent: str
    required_roles: list[str]
    approved_roles: list[str]
    pending_roles: list[str]
    client_visible: bool
    red_flag: dict[str, Any] | None
    blocks: str
    sla_due_at: datetime | None
    escalation_level: int
    created_at: datetime
    resolved_at: datetime | None
    resolution_note: str
    decisions: list[Decision]
    _client: Any = field(default=None, repr=False, compare=False, kw_only=True)

    @property
    def decided(self) -> bool:
        return self.status != "open"

    @property
    def approved(self) -> bool:
        return self.status == "approved"

    def wait(self, timeout: float | None = 600.0, *, poll: float = 2.0) -> Ticket:
        """Poll (with backoff, from `poll` seconds up to 30) until a person decides; the decided
        ticket, or `WaitTimeout` after `timeout` seconds (None: no limit)."""
        if self._client is None:
            raise HumanTouchError("This ticket was not read through a client: it cannot wait.")
        return self._client.tickets.wait(self.ticket, timeout=timeout, poll=poll)


@dataclass(frozen=True)
class AsyncTicket(Ticket):
    """A ticket read through an `AsyncClient`: `await ticket.wait()`."""

    async def wait(  # type: ignore[override]
        self, timeout: float | None = 600.0, *, poll: float = 2.0
    ) -> AsyncTicket:
        if self._client is None:
            raise HumanTouchError("This ticket was not read through a client: it cannot wait.")
        return await self._client.tickets.wait(self.ticket, timeout=timeout, poll=poll)


# --- plans -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CurrentPlan(Result):
    """A track's approved version (reports anchor to it)."""

    number: int
    track: str
    kind: str
    status: str
    payload: dict[str, Any]
    payload_hash: str
    approved_at: datetime


@dataclass(frozen=True)
class Draft(Result):
    """A draft vN+1; `path` is the classifier's verdict on it."""

    number: int
    track: str
    kind: str
    status: str
    path: str
    path_reason: str
    parent: int | None
    payload_hash: str
    diff: dict[str, Any]


@dataclass(frozen=True)
class PlanSubmitted(Result):
    number: int
    status: str
    ticket: str
    tickets: list[str]


# --- execution and optimization ----------------------------------------------------------------
@dataclass(frozen=True)
class Upserted(Result):
    upserted: int


@dataclass(frozen=True)
class ObservationsAccepted(Result):
    """How many observations were stored (the same figures again store nothing)."""

    accepted: int


@dataclass(frozen=True)
class Reconciliation(Result):
    """An entity whose platform figures differ from the manifest: `open` (its A6 waits for an
    admin), or `restoring` (`restore` holds the manifest's values for the agent to put back)."""

    platform: str
    entity_id: str
    status: str
    ticket: str
    differences: dict[str, dict[str, Any]]
    restore: dict[str, Any] | None
    opened_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class Reconciliations(Result):
    track: str
    reconciliations: list[Reconciliation]


@dataclass(frozen=True)
class AlignmentEntity(Result):
    """One field of a live entity and the value the track's approved version wants there:
    a daily budget (money as a string) or a status ("paused")."""

    entity_id: str
    platform: str
    field: str
    live: str
    target: str

    @property
    def target_amount(self) -> Decimal | None:
        """The target daily budget as money (None for a status)."""
        return _money_or_none(self.target) if self.field == "daily_budget" else None

    @property
    def live_amount(self) -> Decimal | None:
        return _money_or_none(self.live) if self.field == "daily_budget" else None


def _money_or_none(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


@dataclass(frozen=True)
class AlignmentHold(Result):
    """The track's hold ("Pause all spend"): alignment work waits until it ends."""

    reason: str
    started_at: datetime


@dataclass(frozen=True)
class Alignment(Result):
    """What the live entities must still change to run the track's approved `version`, due by
    `due_at`; align them with `client.change_sets.submit(kind="alignment", ...)`, each item
    moving a field exactly from `live` to `target`. While the track is on hold (`on_hold`,
    `hold`) the work is the same as before the pause and waits for the resume: the paused
    entities are listed as they run again then, and an alignment sent meanwhile waits."""

    version: int | None
    aligned: bool
    due_at: datetime | None
    entities: list[AlignmentEntity]
    on_hold: bool = False  # a server older than holds in alignments names none
    hold: AlignmentHold | None = None


@dataclass(frozen=True)
class PlatformAccount(Result):
    """A platform account's onboarding (`state`: requested, granted, ready or refused) and its
    A4; a manifest entity on it goes live only once it is ready."""

    id: int
    platform: str
    kind: str
    external_id: str
    client_owned: bool
    state: str
    ticket: str | None


@dataclass(frozen=True)
class CreativeTheme(Result):
    """A proposed creative theme and its A7 (`status`: in_review, approved or rejected)."""

    theme_id: str
    track: str
    name: str
    headlines: list[str]
    imagery_note: str
    claims: list[str]
    status: str
    ticket: str
    client_approves: bool


@dataclass(frozen=True)
class ChangeSetOutcome(Result):
    """What the guardrails made of a change set: `applied`, `pending_approval` (with the A3/A2
    `ticket`) or `blocked` (structural)."""

    change_set_id: str
    status: str
    path: str
    ticket: str | None
    reason: str

    @property
    def applied(self) -> bool:
        return self.status == "applied"

    @property
    def pending(self) -> bool:
        return self.status == "pending_approval"

    @property
    def blocked(self) -> bool:
        return self.status == "blocked"


@dataclass(frozen=True)
class ChangeSetItem(Result):
    entity_id: str | None
    field: str
    before: Any
    after: Any
    approved_after: Any = None
    applied_after: Any = None


@dataclass(frozen=True)
class ChangeSetEvent(Result):
    kind: str
    at: datetime
    actor: str
    message: str


@dataclass(frozen=True)
class ChangeSet(ChangeSetOutcome):
    """A change set with its items (asked, approved, applied), history and tickets."""

    track: str
    run_id: str
    agent: str
    kind: str
    created_at: datetime
    applied_at: datetime | None
    reverts: str | None
    reverted_by: list[str]
    items: list[ChangeSetItem]
    history: list[ChangeSetEvent]
    tickets: list[TicketRef]


@dataclass(frozen=True)
class Recommendation(Result):
    ticket: str
    recommendation: int
    status: str


# --- audit -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AuditEvent(Result):
    seq: int
    created_at: datetime
    actor_type: str
    actor_id: str
    actor_label: str
    action: str
    resource_type: str
    resource_id: str
    plan_version: int | None
    payload_hash: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditPage(Result):
    events: list[AuditEvent]
    next_after_seq: int
    has_more: bool


# --- reading JSON into them --------------------------------------------------------------------
def parse(cls: type[T], data: Any) -> T:
    """`data` (decoded JSON) as a `cls` dataclass, converting by the field annotations."""
    if not isinstance(data, dict):
        raise ProtocolError(
            f"Expected a JSON object for {cls.__name__}, got {type(data).__name__}."
        )
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for spec in dataclasses.fields(cls):  # type: ignore[arg-type]
        if not spec.init or spec.name in ("raw", "_client"):
            continue
        if spec.name not in data:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                raise ProtocolError(f"The server's {cls.__name__} answer has no {spec.name!r}.")
            continue
        try:
            values[spec.name] = _convert(hints[spec.name], data[spec.name])
        except (TypeError, ValueError, InvalidOperation) as error:
            raise ProtocolError(
                f"The server's {cls.__name__}.{spec.name} is not readable: {error}"
            ) from error
    return cls(**values, raw=data)  # type: ignore[call-arg]


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _convert(hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        return _convert(options[0], value) if len(options) == 1 else value
    if hint is Any or origin is Literal:
        return value
    if origin is list:
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        return [_convert(args[0], item) for item in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {type(value).__name__}")
        return {key: _convert(args[1], item) for key, item in value.items()}
    if dataclasses.is_dataclass(hint):
        return parse(hint, value)  # type: ignore[arg-type]
    if hint is Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise TypeError(f"expected an amount, got {value!r}")
        return Decimal(str(value))
    if hint is datetime:
        return datetime.fromisoformat(value)
    if hint is date:
        return date.fromisoformat(value)
    if hint in (str, int, bool) and not isinstance(value, hint):
        raise TypeError(f"expected {hint.__name__}, got {value!r}")
    return value
