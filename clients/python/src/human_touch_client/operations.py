"""Every operation of the agent API, once: what to send and what comes back.

Each builder below is registered under its method and path (`OPERATIONS`) and returns an
`Operation`; `Client` and `AsyncClient` expose each one as a method (client.py) and send it with
the same retry rules. Adding an endpoint is a builder here, its result dataclass in results.py and
one line in each client's namespace; tests/client/test_contract.py fails until all three exist.

`retry_safe` says whether the server sees one effect however often the request arrives
(idempotent by an id the client sends, an upsert, a read). Those are sent again after a lost
answer or a 5xx; the others only when the server surely did nothing (no connection, 409
`try_again`, 429, 503).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Generic, Literal, ParamSpec, TypeVar
from urllib.parse import quote

from human_touch_client.results import (
    Alignment,
    AuditPage,
    ChangeSet,
    ChangeSetOutcome,
    CreativeTheme,
    CurrentPlan,
    Draft,
    GateAnswer,
    ObservationsAccepted,
    PlanSubmitted,
    PlatformAccount,
    QcResult,
    Recommendation,
    Reconciliations,
    ReservationReleased,
    Run,
    RunCreated,
    Spend,
    Ticket,
    Upserted,
    WhoAmI,
)

API_PREFIX = "/api/v1"
T = TypeVar("T")
P = ParamSpec("P")

Money = Decimal | str | int
GateKind = Literal["step", "tool_round", "qc_correction", "orchestrator_retry", "llm_call"]
DraftKind = Literal["initial", "revise", "replan", "track_draft", "event_draft"]


@dataclass(frozen=True)
class Operation(Generic[T]):
    """One request to send, and how to read its answer."""

    method: str
    path: str  # the template, as the OpenAPI schema names it
    result: type[T]
    retry_safe: bool
    path_params: Mapping[str, Any] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    query: dict[str, Any] | None = None
    acts_for_run: str | None = None  # a 423 without a ticket: the run's red flag is looked up

    @property
    def url(self) -> str:
        return API_PREFIX + self.path.format(
            **{name: quote(str(value), safe="") for name, value in self.path_params.items()}
        )

    @property
    def name(self) -> str:
        return f"{self.method} {API_PREFIX}{self.path}"


@dataclass(frozen=True)
class _Send:
    path: Mapping[str, Any] = field(default_factory=dict)
    json: dict[str, Any] | None = None
    query: dict[str, Any] | None = None
    retry_safe: bool | None = None
    acts_for_run: str | None = None


OPERATIONS: dict[tuple[str, str], Callable[..., Operation[Any]]] = {}


def operation(
    method: str, path: str, result: type[T], *, retry_safe: bool
) -> Callable[[Callable[P, _Send]], Callable[P, Operation[T]]]:
    """Register a builder as the client's way to call `method path`."""

    def register(build: Callable[P, _Send]) -> Callable[P, Operation[T]]:
        @functools.wraps(build)
        def make(*args: P.args, **kwargs: P.kwargs) -> Operation[T]:
            send = build(*args, **kwargs)
            return Operation(
                method=method,
                path=path,
                result=result,
                retry_safe=retry_safe if send.retry_safe is None else send.retry_safe,
                path_params=send.path,
                json=send.json,
                query=send.query,
                acts_for_run=send.acts_for_run,
            )

        key = (method, API_PREFIX + path)
        if key in OPERATIONS:
            raise RuntimeError(f"{method} {path} has two builders")
        OPERATIONS[key] = make
        make.http_method, make.http_path = key  # type: ignore[attr-defined]
        return make

    return register


def money(value: Money, name: str) -> str:
    """An amount as the API reads it: a decimal string, never a float."""
    if isinstance(value, bool | float):
        raise TypeError(f"{name}: pass a Decimal or a string such as '0.50', not {value!r}")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{name}: {value} is not an amount")
        return str(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"{name}: pass a Decimal or a string, not {type(value).__name__}")


def new_id(prefix: str) -> str:
    """A fresh idempotency id for one logical call (its retries reuse it)."""
    return f"{prefix}-{uuid.uuid4().hex}"


def _without_none(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if value is not None}


# --- whoami and runs ---------------------------------------------------------------------------
@operation("GET", "/whoami", WhoAmI, retry_safe=True)
def whoami() -> _Send:
    """The tenant, key and API version this client's requests act for."""
    return _Send()


@operation("POST", "/runs", RunCreated, retry_safe=True)
def runs_create(
    *,
    main_task_id: str,
    agent: str,
    model: str,
    estimated_cost_usd: Money,
    run_id: str | None = None,
) -> _Send:
    """Register a run before its first step (idempotent by run_id; one is made up if not given)."""
    return _Send(
        json={
            "run_id": run_id or new_id("run"),
            "main_task_id": main_task_id,
            "agent": agent,
            "model": model,
            "estimated_cost_usd": money(estimated_cost_usd, "estimated_cost_usd"),
        }
    )


@operation("GET", "/runs/{run_id}", Run, retry_safe=True)
def runs_get(run_id: str) -> _Send:
    """A run: its state and why, counts against ceilings, costs, open tickets."""
    return _Send(path={"run_id": run_id})


@operation("POST", "/runs/{run_id}/gate", GateAnswer, retry_safe=False)
def runs_gate(
    run_id: str, kind: GateKind = "step", *, expected_cost_usd: Money | None = None
) -> _Send:
    """Ask before a step: allowed (counted), or `Blocked` with the A8/A9 ticket. An llm_call with
    `expected_cost_usd` reserves that much against the Cost Guard's line."""
    body: dict[str, Any] = {"kind": kind}
    if expected_cost_usd is not None:
        body["expected_cost_usd"] = money(expected_cost_usd, "expected_cost_usd")
    return _Send(path={"run_id": run_id}, json=body)


@operation("POST", "/runs/{run_id}/spend", Spend, retry_safe=False)
def runs_spend(
    run_id: str,
    *,
    cost_usd: Money,
    input_tokens: int = 0,
    output_tokens: int = 0,
    reservation: str | None = None,
) -> _Send:
    """Report one LLM call's cost, settling its reservation. With a reservation the report counts
    once however often it arrives (so it is retried); without one each report counts."""
    body: dict[str, Any] = {
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cost_usd": money(cost_usd, "cost_usd"),
    }
    if reservation:
        body["reservation"] = reservation
    return _Send(path={"run_id": run_id}, json=body, retry_safe=bool(reservation))


@operation(
    "POST",
    "/runs/{run_id}/reservations/{reservation}/release",
    ReservationReleased,
    retry_safe=True,
)
def runs_release(run_id: str, reservation: str) -> _Send:
    """Release a reservation early: the call it held money for was not made."""
    return _Send(path={"run_id": run_id, "reservation": reservation})


@operation("POST", "/runs/{run_id}/qc-results", QcResult, retry_safe=False)
def runs_qc_result(
    run_id: str,
    *,
    subtask_id: str,
    passed: bool,
    attempt: int = 1,
    failure_codes: Iterable[str] = (),
) -> _Send:
    """Record a QC verdict on a subtask's attempt (feeds the success-floor alerts)."""
    return _Send(
        path={"run_id": run_id},
        json={
            "subtask_id": subtask_id,
            "passed": passed,
            "attempt": attempt,
            "failure_codes": list(failure_codes),
        },
    )


# --- tickets -----------------------------------------------------------------------------------
@operation("POST", "/tickets", Ticket, retry_safe=True)
def tickets_open(
    *,
    type: Literal["A4", "A7"],
    title: str,
    summary: str = "",
    subject_type: str = "",
    subject_id: str = "",
    diff: dict[str, Any] | None = None,
    plan_version: int | None = None,
    change_set_id: str = "",
    run_id: str = "",
    platform: str = "",
    agent: str = "",
    client_visible: bool | None = None,
    idempotency_key: str | None = None,
) -> _Send:
    """Ask people for a decision: an A4 (access) or A7 (compliance) ticket. Idempotent by
    `idempotency_key` (one is made up if not given, and reused on retries)."""
    return _Send(
        json=_without_none(
            {
                "type": type,
                "title": title,
                "summary": summary,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "diff": diff,
                "plan_version": plan_version,
                "change_set_id": change_set_id,
                "run_id": run_id,
                "platform": platform,
                "agent": agent,
                "client_visible": client_visible,
                "idempotency_key": idempotency_key or new_id("ticket"),
            }
        )
    )


@operation("GET", "/tickets/{public_id}", Ticket, retry_safe=True)
def tickets_get(public_id: str) -> _Send:
    """A ticket of this key's tenant, with its status and decisions."""
    return _Send(path={"public_id": public_id})


# --- plans -------------------------------------------------------------------------------------
@operation("GET", "/tracks/{track}/current", CurrentPlan, retry_safe=True)
def plans_current(track: str) -> _Send:
    """The approved version of a track (`NotFound` if it has none)."""
    return _Send(path={"track": track})


@operation("POST", "/tracks/{track}/drafts", Draft, retry_safe=False)
def plans_draft(
    track: str,
    *,
    kind: DraftKind,
    payload: dict[str, Any],
    reason: str = "",
    agent: str = "",
    master_change: dict[str, Any] | None = None,
) -> _Send:
    """File a draft vN+1 of a track; its kind must agree with the classifier (else `Invalid`,
    `kind_contradicts_classifier`). Each call makes a draft, so it is not sent twice."""
    return _Send(
        path={"track": track},
        json=_without_none(
            {
                "kind": kind,
                "payload": payload,
                "reason": reason,
                "agent": agent,
                "master_change": master_change,
            }
        ),
    )


@operation("POST", "/plan-versions/{number}/submit", PlanSubmitted, retry_safe=True)
def plans_submit(number: int) -> _Send:
    """Send a draft for approval: opens its A1/A5 (and an A7 where compliance applies)."""
    return _Send(path={"number": number})


# --- execution and optimization ----------------------------------------------------------------
@operation("PUT", "/tracks/{track}/manifest", Upserted, retry_safe=True)
def tracks_sync_manifest(track: str, *, entries: list[dict[str, Any]], agent: str = "") -> _Send:
    """Upsert the live entities of a track as the platform runs them. The daily budget of an
    entity that has been live moves only through a change set: another budget (or none) for one
    raises `Invalid` (`budget_needs_change_set`) and nothing is synced; another channel,
    `state.objective` or `state.geo` for one raises `Invalid` (`structural_needs_replan`)."""
    return _Send(path={"track": track}, json={"entries": entries, "agent": agent})


@operation("POST", "/tracks/{track}/performance", Upserted, retry_safe=True)
def tracks_report_performance(track: str, *, rows: list[dict[str, Any]], agent: str = "") -> _Send:
    """Upsert performance rows by (track, date, channel, source); GA4 is the primary source."""
    return _Send(path={"track": track}, json={"rows": rows, "agent": agent})


@operation("POST", "/tracks/{track}/creative-themes", CreativeTheme, retry_safe=True)
def tracks_propose_creative_theme(
    track: str,
    *,
    theme_id: str,
    name: str,
    headlines: list[str],
    imagery_note: str = "",
    claims: list[str] | None = None,
    agent: str = "",
) -> _Send:
    """Propose a creative theme: it opens an A7 (with a client slot where the tenant's policy
    says so); its creatives go live only once it is approved. Idempotent by `theme_id`."""
    return _Send(
        path={"track": track},
        json={
            "theme_id": theme_id,
            "name": name,
            "headlines": headlines,
            "imagery_note": imagery_note,
            "claims": claims or [],
            "agent": agent,
        },
    )


@operation("POST", "/tracks/{track}/observations", ObservationsAccepted, retry_safe=True)
def tracks_report_observations(
    track: str, *, observations: list[dict[str, Any]], agent: str = ""
) -> _Send:
    """Report what the platforms actually run (`platform`, `entity_id`, `status`,
    `daily_budget`, `spend_to_date`, `observed_at`); the reconciliation compares it with the
    manifest and opens an A6 for a difference beyond the tenant's tolerance."""
    return _Send(path={"track": track}, json={"observations": observations, "agent": agent})


@operation("GET", "/tracks/{track}/reconciliations", Reconciliations, retry_safe=True)
def tracks_reconciliations(track: str) -> _Send:
    """The track's pending reconciliations; automated changes to their entities get 423
    `reconciliation_pending` until an admin decides."""
    return _Send(path={"track": track})


@operation("GET", "/tracks/{track}/alignment", Alignment, retry_safe=True)
def tracks_alignment(track: str) -> _Send:
    """What the live entities must still change to run the track's approved version (each
    entity, field, live value and target) and by when; submit a change set of kind
    "alignment" that moves each field exactly to its target."""
    return _Send(path={"track": track})


@operation("POST", "/platform-accounts", PlatformAccount, retry_safe=True)
def platform_accounts_request(
    *,
    platform: str,
    kind: Literal["ad_account", "business_manager", "tracking_domain", "pixel", "ga4_property"],
    external_id: str,
    client_owned: bool = False,
    agent: str = "",
) -> _Send:
    """Request access to a platform account: opens an A4 (the same request again answers it)."""
    return _Send(
        json={
            "platform": platform,
            "kind": kind,
            "external_id": external_id,
            "client_owned": client_owned,
            "agent": agent,
        }
    )


@operation("POST", "/platform-accounts/{account_id}/verified", PlatformAccount, retry_safe=True)
def platform_accounts_verified(account_id: int, *, agent: str = "") -> _Send:
    """Report a granted account's access verified: it becomes ready (again: no change)."""
    return _Send(path={"account_id": account_id}, json={"agent": agent})


@operation("POST", "/change-sets", ChangeSetOutcome, retry_safe=True)
def change_sets_submit(
    *,
    track: str,
    items: list[dict[str, Any]],
    reason: str = "",
    run_id: str = "",
    agent: str = "",
    change_set_id: str | None = None,
    kind: Literal["agent", "alignment"] = "agent",
) -> _Send:
    """Propose changes to live entities; the answer says what the guardrails made of them
    (applied, pending_approval with its ticket, or blocked). Idempotent by `change_set_id` (one
    is made up if not given, and reused on retries). A blocked run's change set is `Blocked`.
    `kind="alignment"` moves each field exactly to its target from `tracks.alignment`: applied
    without a ticket, anything else refused (422)."""
    return _Send(
        json={
            "change_set_id": change_set_id or new_id("cs"),
            "track": track,
            "run_id": run_id,
            "agent": agent,
            "reason": reason,
            "kind": kind,
            "items": [{key: _plain(value) for key, value in item.items()} for item in items],
        },
        acts_for_run=run_id or None,
    )


@operation("GET", "/change-sets/{change_set_id}", ChangeSet, retry_safe=True)
def change_sets_get(change_set_id: str) -> _Send:
    """A change set: its status, items (asked, approved, applied), history and tickets."""
    return _Send(path={"change_set_id": change_set_id})


@operation("POST", "/recommendations", Recommendation, retry_safe=True)
def recommendations_open(
    *,
    track: str,
    path: Literal["revise", "replan"],
    reason: str,
    evidence: dict[str, Any] | None = None,
    agent: str = "",
) -> _Send:
    """Recommend a revise or replan (opens a ticket for the planners; the same track, path and
    reason while it is open answers with the open one)."""
    return _Send(
        json={
            "track": track,
            "path": path,
            "reason": reason,
            "evidence": evidence or {},
            "agent": agent,
        }
    )


# --- audit -------------------------------------------------------------------------------------
@operation("GET", "/audit/events", AuditPage, retry_safe=True)
def audit_events(*, after_seq: int = 0, limit: int = 100) -> _Send:
    """The tenant's audit events in chain order, a page at a time."""
    return _Send(query={"after_seq": after_seq, "limit": limit})


def _plain(value: Any) -> Any:
    """Decimals in change set items as the strings the API reads."""
    return str(value) if isinstance(value, Decimal) else value
