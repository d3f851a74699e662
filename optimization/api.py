"""docs/agent-api.md "Execution, optimization, performance": the manifest sync, change sets,
performance rows and recommendations."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Router, Schema, Status

from api.base import agent_actor, errors, links
from api.idempotency import idempotent, request_hash
from config.errors import NotFound
from config.text import REASON_MAX, BoundedStorableText, StorableText
from optimization.alignment import track_alignment
from optimization.models import STRUCTURAL_FIELDS, TACTICAL_FIELDS, Signal
from optimization.selectors import change_set_or_none, change_set_view, track_reconciliations
from optimization.services import (
    ChangeSetRequest,
    RecommendationError,
    change_set_submit_within,
    manifest_sync,
    performance_ingest,
    recommendation_open,
)
from optimization.services.change_sets import MAX_ITEMS
from optimization.services.onboarding import (
    account_answer,
    platform_account_request,
    platform_account_verify,
)
from optimization.services.reconcile import (
    MAX_OBSERVATIONS,
    ObservationError,
    observations_report,
    restore_targets,
)
from optimization.services.themes import (
    ThemeRequest,
    creative_theme_propose_within,
    theme_json,
    theme_ticket_roles,
)
from plans.models import Track

router = Router(tags=["optimization"])


class ManifestIn(Schema):
    entries: list[dict[str, Any]] = Field(min_length=1)
    agent: StorableText = Field("", max_length=100)


class ManifestOut(Schema):
    upserted: int


class ManifestWaitingOut(Schema):
    upserted: int
    ticket: str = Field(description="the A2 the first launches wait for")
    waiting_for_launch: dict[str, str] = Field(
        description='"platform:entity_id" → the A2 it waits for; live once it is approved'
    )


@router.put(
    "/tracks/{track}/manifest",
    response={200: ManifestOut, 202: ManifestWaitingOut, **errors(404, 409, 422, 423)},
    summary="Upsert the live execution manifest entries of a track",
    description="An entity the sync brings live for the first time (new and active, or active "
    "without ever having been live) waits for launch when the tenant's "
    "`first_launch_requires_human` is on: 202 names the A2; the entity goes live when it is "
    "approved. The same sync again answers the same. A sync never moves the daily budget of "
    "an entity that has been live: another budget (or none) for one is 422 "
    "`budget_needs_change_set` and nothing is written — budgets move through change sets. "
    "Nor does it change such an entity's channel, objective or geo (structural): 422 "
    "`structural_needs_replan`.",
)
def track_manifest_sync(request, track: StorableText, body: ManifestIn):
    result = manifest_sync(
        tenant=request.tenant,
        track_key=track,
        entries=body.entries,
        actor=agent_actor(request, body.agent),
    )
    if result.waiting_for_launch:
        return Status(
            202,
            {
                "upserted": result.upserted,
                "ticket": result.ticket,
                "waiting_for_launch": result.waiting_for_launch,
            },
        )
    return {"upserted": result.upserted}


# --- Change sets -----------------------------------------------------------------------------
EntityId = BoundedStorableText(max_length=120)


class ChangeSetItemIn(Schema):
    entity_id: EntityId | None = None
    field: Literal[tuple(TACTICAL_FIELDS + STRUCTURAL_FIELDS)]  # type: ignore[valid-type]
    before: Any = None
    after: Any = None


class ChangeSetIn(Schema):
    change_set_id: StorableText = Field(min_length=1, max_length=100)
    track: StorableText = Field(min_length=1, max_length=60)
    run_id: StorableText = Field("", max_length=100)
    agent: StorableText = Field("", max_length=100)
    reason: StorableText = Field("", max_length=REASON_MAX)
    kind: Literal["agent", "alignment"] = Field(
        "agent",
        description="alignment: each item moves a field exactly to its target from "
        "GET /tracks/{track}/alignment; applied without a ticket, anything else refused 422",
    )
    items: list[ChangeSetItemIn] = Field(min_length=1, max_length=MAX_ITEMS)


class ChangeSetAnswer(Schema):
    change_set_id: str
    status: str
    path: str
    ticket: str | None
    reason: str


class ChangeSetItemOut(Schema):
    entity_id: str | None
    field: str
    before: Any
    after: Any
    approved_after: Any = None
    applied_after: Any = None


class ChangeSetEventOut(Schema):
    kind: str
    at: datetime
    actor: str
    message: str


class ChangeSetOut(ChangeSetAnswer):
    track: str
    run_id: str
    agent: str
    kind: str
    created_at: datetime
    applied_at: datetime | None
    reverts: str | None
    reverted_by: list[str]
    items: list[ChangeSetItemOut]
    history: list[ChangeSetEventOut]
    tickets: list[dict[str, str]]


def _answer(change_set) -> dict:
    return {
        "change_set_id": change_set.change_set_id,
        "status": change_set.status,
        "path": change_set.path,
        "ticket": change_set.ticket or None,
        "reason": change_set.status_reason,
    }


@router.post(
    "/change-sets",
    response={200: ChangeSetAnswer, 201: ChangeSetAnswer, **errors(409, 422, 423)},
    summary="Apply a change set, send it for approval (A3/A2) or have it blocked (structural)",
    openapi_extra=links(
        200,
        201,
        GetChangeSet=(
            "optimization_api_change_set_detail",
            {"change_set_id": "$response.body#/change_set_id"},
        ),
    ),
)
def change_set_create(request, body: ChangeSetIn):
    def submit():  # inside idempotent's transaction
        change_set = change_set_submit_within(
            tenant=request.tenant,
            request=ChangeSetRequest(
                change_set_id=body.change_set_id,
                track=body.track,
                items=[item.model_dump() for item in body.items],
                agent=body.agent or request.agent_key.name,
                reason=body.reason,
                run_id=body.run_id,
                kind=body.kind,
            ),
            actor=agent_actor(request, body.agent),
        )
        return 201, _answer(change_set)

    return Status(
        *idempotent(
            tenant=request.tenant,
            scope="change_sets",
            key=body.change_set_id,
            request=body.model_dump(mode="json"),
            work=submit,
        )
    )


@router.get(
    "/change-sets/{change_set_id}",
    response={200: ChangeSetOut, **errors(404)},
    summary="A change set: its status, items (asked, approved, applied), history and tickets",
)
def change_set_detail(request, change_set_id: StorableText):
    change_set = change_set_or_none(tenant=request.tenant, change_set_id=change_set_id)
    if change_set is None:
        raise NotFound(f"No change set {change_set_id!r} for this key's tenant.")
    return change_set_view(change_set)


# --- Alignment (issue 16 item 5) -------------------------------------------------------------
class AlignmentEntityOut(Schema):
    entity_id: str
    platform: str
    field: str = Field(description="daily_budget (money as a string) or status")
    live: str
    target: str


class AlignmentHoldOut(Schema):
    reason: str
    started_at: datetime


class AlignmentOut(Schema):
    version: int | None = Field(description="the track's approved version")
    aligned: bool
    due_at: datetime | None = Field(description="alignment_sla_hours business hours after approval")
    entities: list[AlignmentEntityOut]
    on_hold: bool = Field(
        False,
        description="the track is on hold (all spend paused): the work waits for the resume; "
        "the entities the hold paused are listed as they run again then (`live` their budget), "
        "and an alignment change set sent meanwhile waits (`approved_waiting`)",
    )
    hold: AlignmentHoldOut | None = None


@router.get(
    "/tracks/{track}/alignment",
    response={200: AlignmentOut, **errors(404)},
    summary="What the live entities must still change to run the track's approved version",
    description='Submit a change set with `"kind": "alignment"` moving each field exactly '
    "to its target; each entity is re-pointed to the version once it runs its target. During a "
    "hold (`on_hold`) the work is the same as before the pause: it waits for the resume.",
)
def track_alignment_detail(request, track: StorableText):
    found = (
        Track.objects.filter(tenant=request.tenant, key=track)
        .select_related("current_version", "tenant")
        .first()
    )
    if found is None:
        raise NotFound(f"No track {track!r} for this key's tenant.")
    return track_alignment(track=found, read_hold=True).as_json()


# --- Creative themes -------------------------------------------------------------------------
class CreativeThemeIn(Schema):
    theme_id: StorableText = Field(min_length=1, max_length=100, description="your id for it")
    name: StorableText = Field(min_length=1, max_length=200)
    headlines: list[Any] = Field(description="1 to 20 headlines, as the client will read them")
    imagery_note: StorableText = Field("", max_length=2000)
    claims: list[Any] = Field(default_factory=list, description="the claims the theme makes")
    agent: StorableText = Field("", max_length=100)


class CreativeThemeOut(Schema):
    theme_id: str
    track: str
    name: str
    headlines: list[str]
    imagery_note: str
    claims: list[str]
    status: str = Field(description="in_review, approved or rejected")
    ticket: str = Field(description="its A7")
    client_approves: bool = Field(description="the A7 has a client slot")


def _theme_answer(theme) -> dict:
    ticket = theme_json(theme)
    return {**ticket, "client_approves": "client" in theme_ticket_roles(theme)}


@router.post(
    "/tracks/{track}/creative-themes",
    response={200: CreativeThemeOut, 201: CreativeThemeOut, **errors(404, 409, 422)},
    summary="Propose a creative theme for a track: it opens an A7 (planner, legal, and the "
    "client where the policy says so); its creatives go live only once it is approved",
)
def creative_theme_create(request, track: StorableText, body: CreativeThemeIn):
    def propose():  # inside idempotent's transaction
        theme = creative_theme_propose_within(
            tenant=request.tenant,
            track_key=track,
            request=ThemeRequest(
                theme_id=body.theme_id,
                name=body.name,
                headlines=body.headlines,
                imagery_note=body.imagery_note,
                claims=body.claims,
            ),
            actor=agent_actor(request, body.agent),
        )
        return 201, _theme_answer(theme)

    return Status(
        *idempotent(
            tenant=request.tenant,
            scope="creative_themes",
            key=body.theme_id,
            request={"track": track, **body.model_dump(mode="json")},
            work=propose,
        )
    )


# --- Performance and recommendations ---------------------------------------------------------
class PerformanceIn(Schema):
    rows: list[dict[str, Any]] = Field(min_length=1, max_length=5000)
    agent: StorableText = Field("", max_length=100)


class UpsertedOut(Schema):
    upserted: int


@router.post(
    "/tracks/{track}/performance",
    response={200: UpsertedOut, **errors(422)},
    summary="Upsert performance rows by (track, date, channel, source); GA4 is the primary source",
)
def track_performance(request, track: StorableText, body: PerformanceIn):
    upserted = performance_ingest(
        tenant=request.tenant,
        track_key=track,
        rows=body.rows,
        actor=agent_actor(request, body.agent),
    )
    return {"upserted": upserted}


class RecommendationIn(Schema):
    track: StorableText = Field(min_length=1, max_length=60)
    path: Literal["revise", "replan"]
    reason: StorableText = Field(min_length=1, max_length=REASON_MAX)
    evidence: dict[str, Any] = Field(
        default_factory=dict,
        description="the numbers behind it; a `proposed_payload` (a plan payload) makes approving "
        "the recommendation draft it as vN+1",
    )
    agent: StorableText = Field("", max_length=100)


class RecommendationOut(Schema):
    ticket: str
    recommendation: int
    status: str


@router.post(
    "/recommendations",
    response={200: RecommendationOut, 201: RecommendationOut, **errors(422)},
    summary="Recommend a revise or replan of a track (opens a ticket; never approves anything)",
)
def recommendation_create(request, body: RecommendationIn):
    track = (
        Track.objects.filter(tenant=request.tenant, key=body.track)
        .select_related("current_version")
        .first()
    )
    if track is None:
        raise RecommendationError(
            f"This tenant has no track {body.track!r}.",
            code="unknown_track",
            fields={"track": ["no such track for this key's tenant"]},
        )
    agent = body.agent or request.agent_key.name
    recommendation, opened = recommendation_open(
        tenant=request.tenant,
        track=track,
        signal=Signal.AGENT,
        subject_key=request_hash({"path": body.path, "reason": body.reason})[:32],
        path=body.path,
        reason=body.reason,
        evidence=body.evidence,
        actor=agent_actor(request, agent),
        source=agent,
    )
    answer = {
        "ticket": recommendation.ticket,
        "recommendation": recommendation.pk,
        "status": recommendation.status,
    }
    return Status(201 if opened else 200, answer)


# --- Reconciliation (A6) ---------------------------------------------------------------------
class ObservationsIn(Schema):
    observations: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_OBSERVATIONS)
    agent: StorableText = Field("", max_length=100)


class ObservationsOut(Schema):
    accepted: int


@router.post(
    "/tracks/{track}/observations",
    response={200: ObservationsOut, **errors(404, 409, 422)},
    summary="Report what the platforms actually run; `reconcile` compares it with the manifest",
)
def track_observations(request, track: StorableText, body: ObservationsIn):
    accepted = observations_report(
        tenant=request.tenant,
        track_key=track,
        observations=body.observations,
        actor=agent_actor(request, body.agent),
    )
    return {"accepted": accepted}


class ReconciliationOut(Schema):
    platform: str
    entity_id: str
    status: str
    ticket: str
    differences: dict[str, dict[str, Any]]
    restore: dict[str, Any] | None
    opened_at: datetime
    decided_at: datetime | None


class ReconciliationsOut(Schema):
    track: str
    reconciliations: list[ReconciliationOut]


@router.get(
    "/tracks/{track}/reconciliations",
    response={200: ReconciliationsOut, **errors(404)},
    summary="A track's pending reconciliations: waiting for an admin, or to restore",
)
def track_reconciliation_list(request, track: StorableText):
    found = Track.objects.filter(tenant=request.tenant, key=track).first()
    if found is None:
        raise ObservationError(
            f"This tenant has no track {track!r}.", code="unknown_track", status=404
        )
    return {
        "track": found.key,
        "reconciliations": [
            {
                "platform": r.manifest_entry.platform,
                "entity_id": r.manifest_entry.entity_id,
                "status": r.status,
                "ticket": r.ticket,
                "differences": r.differences,
                "restore": restore_targets(r) if r.status == "restoring" else None,
                "opened_at": r.opened_at,
                "decided_at": r.decided_at,
            }
            for r in track_reconciliations(track=found, pending_only=True)
        ],
    }


# --- Onboarding (A4) -------------------------------------------------------------------------
class PlatformAccountIn(Schema):
    platform: StorableText = Field(min_length=1, max_length=60)
    kind: Literal["ad_account", "business_manager", "tracking_domain", "pixel", "ga4_property"]
    external_id: StorableText = Field(min_length=1, max_length=120)
    client_owned: bool = False
    agent: StorableText = Field("", max_length=100)


class PlatformAccountOut(Schema):
    id: int
    platform: str
    kind: str
    external_id: str
    client_owned: bool
    state: str
    ticket: str | None


@router.post(
    "/platform-accounts",
    response={200: PlatformAccountOut, 201: PlatformAccountOut, **errors(409, 422)},
    summary="Request access to a platform account (opens an A4); the same request again answers it",
    openapi_extra=links(
        200,
        201,
        ConfirmVerified=(
            "optimization_api_platform_account_verified",
            {"account_id": "$response.body#/id"},
        ),
    ),
)
def platform_account_create(request, body: PlatformAccountIn):
    account, created = platform_account_request(
        tenant=request.tenant,
        platform=body.platform,
        kind=body.kind,
        external_id=body.external_id,
        client_owned=body.client_owned,
        actor=agent_actor(request, body.agent),
        agent=body.agent or request.agent_key.name,
    )
    return Status(201 if created else 200, account_answer(account))


class VerifiedIn(Schema):
    agent: StorableText = Field("", max_length=100)


@router.post(
    "/platform-accounts/{account_id}/verified",
    response={200: PlatformAccountOut, **errors(404, 409)},
    summary="Report a granted account's access verified: it becomes ready",
)
def platform_account_verified(request, account_id: int, body: VerifiedIn):
    account = platform_account_verify(
        tenant=request.tenant, account_id=account_id, actor=agent_actor(request, body.agent)
    )
    return account_answer(account)
