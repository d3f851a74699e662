"""Reads of plans for the pages (plans-ui) and the API. Every function takes the tenant the caller
already resolved (tenants.access), so nothing here can reach another tenant's rows."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from approvals.models import Ticket
from plans.diff import plan_diff
from plans.models import MasterPlan, PlanStatus, PlanVersion, Track
from plans.schema import parse_payload
from plans.services import SUBJECT_TYPE, approval_needs, remaining_delta_for, track_classify
from plans.summary import plan_revise_summary
from tenants.models import Tenant, TenantPolicy

OPEN_STATUSES = (PlanStatus.DRAFT, PlanStatus.PENDING_APPROVAL)


@dataclass(frozen=True)
class TrackOverview:
    track: Track
    current: PlanVersion | None
    pending: list[PlanVersion]
    budget: Decimal  # the current version's total
    cap: Decimal | None


@dataclass(frozen=True)
class PlanOverview:
    tenant: Tenant
    tracks: list[TrackOverview]
    master: MasterPlan | None
    envelope_used: Decimal
    envelope_used_pct: Decimal | None


def _total(version: PlanVersion | None) -> Decimal:
    return parse_payload(version.payload).total_budget if version else Decimal("0")


def master_plan_current(*, tenant: Tenant, on=None) -> MasterPlan | None:
    """The envelope whose period covers `on` (today in the tenant's zone), else the latest."""
    on = on or timezone.localdate(timezone=ZoneInfo(tenant.time_zone))
    masters = MasterPlan.objects.filter(tenant=tenant)
    return (
        masters.filter(period_start__lte=on, period_end__gte=on).first()
        or masters.order_by("-period_start").first()
    )


def plan_overview(*, tenant: Tenant) -> PlanOverview:
    """Tracks with their current version, pending drafts and the envelope use."""
    tracks = list(Track.objects.filter(tenant=tenant).select_related("current_version"))
    pending_by_track: dict[int, list[PlanVersion]] = {}
    for version in PlanVersion.objects.filter(tenant=tenant, status__in=OPEN_STATUSES).order_by(
        "-number"
    ):
        pending_by_track.setdefault(version.track_id, []).append(version)
    master = master_plan_current(tenant=tenant)
    rows = [
        TrackOverview(
            track=track,
            current=track.current_version,
            pending=pending_by_track.get(track.pk, []),
            budget=_total(track.current_version),
            cap=master.cap_for(track.key) if master else None,
        )
        for track in tracks
    ]
    used = sum((row.budget for row in rows), Decimal("0"))
    used_pct = (
        (used / master.total_budget * 100).quantize(Decimal("0.1"))
        if master and master.total_budget
        else None
    )
    return PlanOverview(
        tenant=tenant, tracks=rows, master=master, envelope_used=used, envelope_used_pct=used_pct
    )


def track_or_none(*, tenant: Tenant, key: str) -> Track | None:
    """A track that may not exist yet: the first draft of a new track creates it."""
    return Track.objects.filter(tenant=tenant, key=key).select_related("current_version").first()


def track_get(*, tenant: Tenant, key: str) -> Track:
    track = track_or_none(tenant=tenant, key=key)
    if track is None:
        raise Http404(f"No track {key}")
    return track


def track_timeline(*, tenant: Tenant, key: str) -> QuerySet[PlanVersion]:
    """Every version of a track, newest first: kind, status, who approved it when."""
    track = track_get(tenant=tenant, key=key)
    return (
        PlanVersion.objects.filter(tenant=tenant, track=track)
        .select_related("parent", "track")
        .order_by("-number")
    )


def version_get(*, tenant: Tenant, number: int) -> PlanVersion:
    version = (
        PlanVersion.objects.filter(tenant=tenant, number=number)
        .select_related("track", "parent", "tenant")
        .first()
    )
    if version is None:
        raise Http404(f"No plan version v{number}")
    return version


def version_tickets(*, version: PlanVersion) -> QuerySet[Ticket]:
    """Every ticket about the version (open and resolved), oldest first."""
    return Ticket.objects.filter(
        tenant_id=version.tenant_id, subject_type=SUBJECT_TYPE, subject_id=str(version.number)
    ).order_by("created_at")


def version_detail(*, tenant: Tenant, number: int) -> dict:
    """What the version page shows: the version, its parent, the diff to the parent, the client
    summary, the diff to the live manifest (recorded at approval, computed live otherwise), the
    classifier's verdict, who must approve and the tickets."""
    version = version_get(tenant=tenant, number=number)
    parent = version.parent
    summary = plan_revise_summary(parent.payload if parent else None, version.payload)
    if version.remaining_delta is not None:
        live = version.remaining_delta
    elif version.status in OPEN_STATUSES:
        live = remaining_delta_for(version)
    else:
        live = None
    needs = (
        approval_needs(
            version=version,
            policy=TenantPolicy.objects.get(tenant=tenant),
            diff=summary["raw"],
        )
        if version.status in OPEN_STATUSES
        else None
    )
    return {
        "version": version,
        "parent": parent,
        "children": list(version.children.order_by("number")),
        "diff": summary["raw"],
        "summary": summary,
        "manifest_diff": live,
        "approval_needs": needs,
        "tickets": list(version_tickets(version=version)),
    }


def versions_compare(*, tenant: Tenant, left: int, right: int) -> dict:
    """Any two versions of the tenant (usually of one track): diff and client summary."""
    older = version_get(tenant=tenant, number=left)
    newer = version_get(tenant=tenant, number=right)
    diff = plan_diff(older.payload, newer.payload)
    return {
        "left": older,
        "right": newer,
        "diff": diff,
        "summary": plan_revise_summary(older.payload, newer.payload, diff=diff),
    }


def draft_verdict(*, tenant: Tenant, track: Track | None, track_key: str, payload: dict):
    """The classifier's verdict for a payload being edited (the editor shows it live).

    `track` is the row the view already read (None for a new track's first draft), so a
    keystroke's verdict doesn't read it twice."""
    return track_classify(
        track=track,
        track_key=track_key,
        payload=payload,
        policy=TenantPolicy.objects.get(tenant=tenant),
    )
