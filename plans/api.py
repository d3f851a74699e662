"""docs/agent-api.md "Plans": the current version of a track, drafts from agents, submit."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from ninja import Field, Router, Schema, Status

from api.base import agent_actor, documented_as, errors, links
from approvals.selectors import subject_blocking_tickets
from config.errors import Conflict, NotFound
from config.text import REASON_MAX, StorableText
from plans.diff import plan_diff
from plans.models import SUBJECT_TYPE, PlanKind, PlanStatus, PlanTrigger, PlanVersion
from plans.schema import PlanPayload
from plans.selectors import VERSION_NUMBER_MAX, track_or_none, version_competitors
from plans.services import plan_version_create_draft, plan_version_submit

router = Router(tags=["plans"])

DraftKind = Literal[tuple(PlanKind.values)]  # type: ignore[valid-type]


class CurrentOut(Schema):
    number: int
    track: str
    kind: str
    status: str
    payload: dict
    payload_hash: str
    approved_at: str


class MasterChange(Schema):
    total_budget: str | float | int
    track_caps: dict[str, str | float | int] = {}


class DraftIn(Schema):
    kind: DraftKind
    # Validated by the one payload schema in the service (error code invalid_payload); the
    # OpenAPI schema shows that schema.
    payload: Annotated[dict[str, Any], documented_as(PlanPayload)]
    reason: StorableText = Field("", max_length=REASON_MAX)
    agent: StorableText = Field("", max_length=100)
    master_change: Annotated[dict[str, Any], documented_as(MasterChange)] | None = None


class CompetingOut(Schema):
    """Another draft or pending version of the same track: one built on the same parent
    (`same_parent`) is outdated by whichever of the two is approved first."""

    number: int
    status: str
    parent: int | None
    same_parent: bool


class DraftOut(Schema):
    number: int
    track: str
    kind: str
    status: str
    path: str
    path_reason: str
    parent: int | None
    payload_hash: str
    diff: dict
    competing: list[CompetingOut]


class SubmitOut(Schema):
    number: int
    status: str
    ticket: str
    tickets: list[str]
    competing: list[CompetingOut]


def _competing(version: PlanVersion) -> list[dict]:
    return [
        {
            "number": other.number,
            "status": other.status,
            "parent": other.parent.number if other.parent_id else None,
            "same_parent": other.parent_id == version.parent_id,
        }
        for other in version_competitors(version)
    ]


@router.get(
    "/tracks/{track}/current",
    response={200: CurrentOut, **errors(404)},
    summary="The approved version of a track (reports anchor to it)",
)
def track_current(request, track: StorableText):
    found = track_or_none(tenant=request.tenant, key=track)
    if found is None or found.current_version is None:
        raise NotFound(f"Track {track!r} has no approved version for this key's tenant.")
    version = found.current_version
    return {
        "number": version.number,
        "track": found.key,
        "kind": version.kind,
        "status": version.status,
        "payload": version.payload,
        "payload_hash": version.payload_hash,
        "approved_at": version.approved_at.isoformat(),
    }


@router.post(
    "/tracks/{track}/drafts",
    response={201: DraftOut, **errors(409, 422)},
    summary="Create a draft vN+1; its kind must agree with the classifier's path",
    openapi_extra=links(
        201,
        SubmitDraft=(
            "plans_api_plan_version_submit_endpoint",
            {"number": "$response.body#/number"},
        ),
    ),
)
def track_draft_create(request, track: StorableText, body: DraftIn):
    version = plan_version_create_draft(
        tenant=request.tenant,
        track_key=track,
        kind=body.kind,
        payload=body.payload,
        actor=agent_actor(request, body.agent),
        reason=body.reason,
        trigger=PlanTrigger.API,
        master_change=body.master_change,
    )
    parent = version.parent
    return Status(
        201,
        {
            "number": version.number,
            "track": track,
            "kind": version.kind,
            "status": version.status,
            "path": version.path,
            "path_reason": version.path_reason,
            "parent": parent.number if parent else None,
            "payload_hash": version.payload_hash,
            "diff": plan_diff(parent.payload if parent else None, version.payload),
            "competing": _competing(version),
        },
    )


@router.post(
    "/plan-versions/{number}/submit",
    response={200: SubmitOut, **errors(404, 409, 422)},
    summary="Send a draft for approval (opens A1 or A5, and A7 when compliance applies)",
)
def plan_version_submit_endpoint(request, number: int):
    version = (
        PlanVersion.objects.filter(tenant=request.tenant, number=number).first()
        if 1 <= number <= VERSION_NUMBER_MAX
        else None
    )
    if version is None:
        raise NotFound(f"No plan version v{number} for this key's tenant.")
    version = plan_version_submit(version=version, actor=agent_actor(request))
    tickets = list(
        subject_blocking_tickets(
            tenant=request.tenant, subject_type=SUBJECT_TYPE, subject_id=str(version.number)
        )
        .order_by("type", "created_at")
        .values_list("type", "public_id")
    )
    if version.status != PlanStatus.PENDING_APPROVAL or not tickets:
        raise Conflict(
            f"v{version.number} is {version.status}, not pending approval.", code="invalid_status"
        )
    # The plan ticket (A1/A5) first; the A7 compliance ticket, if any, follows in `tickets`.
    return {
        "number": version.number,
        "status": version.status,
        "ticket": tickets[0][1],
        "tickets": [public_id for _type, public_id in tickets],
        "competing": _competing(version),
    }
