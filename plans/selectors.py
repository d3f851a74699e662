"""Reads of plans for the pages (plans-ui), the API, the ops metrics and the weekly report. Every
function takes the tenant (or tenant ids) the caller already resolved (tenants.access), so
nothing here can reach another tenant's rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.http import Http404

from approvals.models import Ticket, TicketDecision
from approvals.types import Verdict
from config.sql import ComparedRanges
from plans.approvers import ApprovalNeeds, approval_needs
from plans.classify import Classification, classify_change
from plans.diff import manifest_diff, plan_diff
from plans.envelope import EnvelopeCheck, envelope_evaluate
from plans.live import live_entries
from plans.models import (
    OPEN_STATUSES,
    SUBJECT_TYPE,
    MasterPlan,
    PlanStatus,
    PlanVersion,
    Track,
)
from plans.schema import parse_payload
from plans.summary import plan_revise_summary
from tenants.models import Tenant, TenantPolicy

VERSION_NUMBER_MAX = 2**31 - 1  # what the number column holds; anything above names no version


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
    on = on or tenant.today()
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
    """Every version of a track, newest first: kind, status, who approved it when, and its
    `position` in the track (1 for the track's first version: numbers are per tenant, so v7 may
    be the track's 3rd)."""
    track = track_get(tenant=tenant, key=key)
    return (
        PlanVersion.objects.filter(tenant=tenant, track=track)
        .select_related("parent", "track")
        .annotate(position=Window(RowNumber(), order_by=F("number").asc()))
        .order_by("-number")
    )


def version_position(version: PlanVersion) -> int:
    """Which version of its track `version` is: 3 for the track's 3rd, whatever its number."""
    return PlanVersion.objects.filter(track_id=version.track_id, number__lte=version.number).count()


def version_exists(tenant: Tenant, number) -> bool:
    """Does the tenant have plan version `number`? (approvals checks ticket references with it)"""
    return (
        isinstance(number, int)
        and 1 <= number <= VERSION_NUMBER_MAX
        and PlanVersion.objects.filter(tenant=tenant, number=number).exists()
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


def track_classify(
    *,
    track: Track | None,
    track_key: str,
    payload: Any,
    policy: TenantPolicy | None = None,
    drift_pct_by_channel: dict[str, Decimal] | None = None,
) -> Classification:
    """The classification of `payload` proposed on a track (what the editor shows live).

    `drift_pct_by_channel` is the evidence of a drift recommendation (the revise-trigger scan)."""
    current = track.current_version.payload if track and track.current_version_id else None
    kwargs: dict[str, Any] = {"drift_pct_by_channel": drift_pct_by_channel}
    if policy is not None:
        kwargs["optimization_pct"] = policy.auto_approve_optimization_under_pct
        kwargs["drift_pct"] = policy.drift_pct
    return classify_change(track=track_key, current=current, proposed=payload, **kwargs)


def master_plan_for(tenant: Tenant, payload: dict) -> MasterPlan | None:
    """The envelope whose period covers the plan's start."""
    start = parse_payload(payload).start
    return MasterPlan.objects.filter(
        tenant=tenant, period_start__lte=start, period_end__gte=start
    ).first()


def envelope_check(
    *, tenant: Tenant, track: Track, payload: dict, master_change: dict | None = None
) -> EnvelopeCheck:
    """Would `payload` as the track's plan fit the master envelope (or the proposed new one)?

    Counted: the current approved plan of every other track in the tenant plus this payload.
    """
    master = master_plan_for(tenant, payload)
    others = Decimal("0")
    if master is not None:
        others = sum(
            (
                parse_payload(t.current_version.payload).total_budget
                for t in Track.objects.filter(tenant=tenant, current_version__isnull=False)
                .exclude(pk=track.pk)
                .select_related("current_version")
            ),
            Decimal("0"),
        )
    return envelope_evaluate(
        master=master,
        track_key=track.key,
        track_total=parse_payload(payload).total_budget,
        other_tracks_total=others,
        master_change=master_change,
    )


def version_approval_needs(
    *, version: PlanVersion, policy: TenantPolicy, diff: dict | None = None
) -> ApprovalNeeds:
    """Which tickets a submitted version opens and who must approve them: read by submit and
    shown by the version page, which pass the parent → version diff they already computed."""
    if diff is None:
        diff = plan_diff(version.parent.payload if version.parent_id else None, version.payload)
    return approval_needs(
        version=version,
        policy=policy,
        diff=diff,
        envelope=envelope_check(
            tenant=version.tenant,
            track=version.track,
            payload=version.payload,
            master_change=version.master_change,
        ),
    )


def remaining_delta_for(version: PlanVersion, *, on=None) -> dict:
    """What the live manifest of the version's track does not yet match (docs/rules.md: Execution
    aligns it after approval)."""
    on = on or version.tenant.today()
    return manifest_diff(
        previous=version.parent.payload if version.parent_id else None,
        proposed=version.payload,
        entries=live_entries(version.track),
        on=on,
    )


def version_detail(*, tenant: Tenant, number: int) -> dict:
    """What the version page shows: the version, its parent, the diff to the parent, the client
    summary, the diff to the live manifest (recorded at approval, computed live otherwise), the
    classification, who must approve and the tickets."""
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
        version_approval_needs(
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
        "position": version_position(version),
        "diff": summary["raw"],
        "summary": summary,
        "manifest_diff": live,
        "approval_needs": needs,
        "tickets": list(version_tickets(version=version)),
        "competitors": version_competitors(version),
        "approvals": version_approvals(version) if version.approved_at else [],
        "carried_to": version_carried_forward_to(version) if version.is_outdated else None,
    }


def version_approvals(version: PlanVersion) -> list[dict]:
    """Every approval the version received (who, role, when, on which ticket), oldest first —
    `approved_by` names only the person whose approval completed it. An imported version was
    approved outside Human Touch: its one approval is who it was imported as approved by."""
    return versions_approvals(tenant_id=version.tenant_id, versions=[version])[version.number]


def versions_approvals(*, tenant_id: int, versions: Sequence[PlanVersion]) -> dict[int, list[dict]]:
    """version_approvals of several versions of a tenant in one query, by version number (the
    Plans list and a track's versions name every approver, never only the last one)."""
    numbers = [v.number for v in versions if v.approved_at]
    decisions = (
        TicketDecision.objects.filter(
            ticket__tenant_id=tenant_id,
            ticket__subject_type=SUBJECT_TYPE,
            ticket__subject_id__in=[str(n) for n in numbers],
            verdict=Verdict.APPROVE,
        )
        .select_related("user", "ticket")
        .order_by("created_at", "pk")
    )
    by_number: dict[int, list[dict]] = {v.number: [] for v in versions}
    for d in decisions:
        by_number[int(d.ticket.subject_id)].append(
            {
                "who": d.user.get_username(),
                "role": d.role,
                "at": d.created_at,
                "ticket": d.ticket.public_id,
                "ticket_type": d.ticket.type,
            }
        )
    for version in versions:
        if not by_number[version.number] and version.approved_at:
            by_number[version.number].append(
                {
                    "who": version.approved_by,
                    "role": "",
                    "at": version.approved_at,
                    "ticket": "",
                    "ticket_type": "",
                }
            )
    return by_number


def version_competitors(version: PlanVersion) -> list[PlanVersion]:
    """The other drafts and pending versions of the version's track (the editor and the submit
    step name them: those built on the same parent are outdated by whichever is approved first;
    the others must be rebased anyway)."""
    if version.status not in OPEN_STATUSES:
        return []
    return track_open_versions(track_id=version.track_id, exclude_pk=version.pk)


def track_open_versions(*, track_id: int | None, exclude_pk: int | None = None) -> list:
    """The drafts and pending versions of a track, oldest first (a new draft's editor names
    them)."""
    if track_id is None:
        return []
    return list(
        PlanVersion.objects.filter(track_id=track_id, status__in=OPEN_STATUSES)
        .exclude(pk=exclude_pk)
        .select_related("parent", "drafted_by_user", "track")
        .order_by("number")
    )


def outdated_versions_to_carry(*, tenant_ids: Sequence[int], user_id: int) -> list[PlanVersion]:
    """The outdated versions `user_id` drafted or last edited that nobody has carried forward
    yet (the dashboard tells their drafter), newest first."""
    carried = PlanVersion.objects.filter(
        carried_from=OuterRef("pk"),
        status__in=(*OPEN_STATUSES, PlanStatus.APPROVED),
    )
    return list(
        PlanVersion.objects.filter(
            Q(drafted_by_user_id=user_id) | Q(edited_by_user_id=user_id),
            tenant_id__in=tenant_ids,
            status=PlanStatus.OUTDATED,
        )
        .exclude(Exists(carried))
        .select_related("track", "tenant", "outdated_by")
        .order_by("-outdated_at", "-number")[:20]
    )


def version_carried_forward_to(version: PlanVersion) -> PlanVersion | None:
    """The draft that carries an outdated version forward, if there is one."""
    return version.carried_forward_drafts.order_by("-number").first()


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


def draft_classification(*, tenant: Tenant, track: Track | None, track_key: str, payload: dict):
    """The classification of a payload being edited (the editor shows it live).

    `track` is the row the view already read (None for a new track's first draft), so a
    keystroke's classification doesn't read it twice."""
    return track_classify(
        track=track,
        track_key=track_key,
        payload=payload,
        policy=TenantPolicy.objects.get(tenant=tenant),
    )


# --- What the ops metrics and the weekly report read (metrics/selectors.py, metrics/report.py) ---
def versions_reverted(
    *, tenant_ids: Sequence[int], ranges: ComparedRanges, days: int
) -> list[dict]:
    """Per period: versions approved in the range that replaced an earlier one, and those whose
    successor, approved within `days` days, brought back the payload they replaced."""
    reverted = PlanVersion.objects.filter(
        parent=OuterRef("pk"),
        approved_at__isnull=False,
        approved_at__lte=OuterRef("approved_at") + timedelta(days=days),
        payload_hash=OuterRef("parent__payload_hash"),
    )
    versions = ranges.filter(
        PlanVersion.objects.filter(tenant_id__in=tenant_ids, parent__isnull=False), "approved_at"
    )
    return list(
        versions.annotate(reverted=Exists(reverted))
        .values("period")
        .annotate(n=Count("id"), reverted=Count("id", filter=Q(reverted=True)))
        .order_by("period")
    )


def tracks_with_current_version(*, tenant: Tenant) -> list[Track]:
    """The tenant's tracks that have an approved version, by key."""
    return list(
        Track.objects.filter(tenant=tenant, current_version__isnull=False)
        .select_related("current_version", "tenant", "tenant__policy")
        .order_by("key")
    )


def track_version_numbers(*, track: Track) -> QuerySet:
    """The numbers of the track's versions (a subquery for another app's read)."""
    return PlanVersion.objects.filter(track=track).values("number")


@dataclass(frozen=True)
class VersionOfWeek:
    number: int
    kind_label: str
    status: str
    status_label: str
    approved: bool  # approved, or approved and superseded since
    when: datetime | None  # approved, or else submitted
    parent_payload: dict | None
    payload: dict


def versions_of_week(
    *, track: Track, start: datetime, end: datetime, approved_only: bool
) -> list[VersionOfWeek]:
    """The track's versions approved in [start, end), and unless `approved_only` those submitted
    then and still waiting, by number."""
    approved = Q(approved_at__gte=start, approved_at__lt=end)
    submitted = Q(status=PlanStatus.PENDING_APPROVAL, submitted_at__gte=start, submitted_at__lt=end)
    versions = (
        PlanVersion.objects.filter(track=track)
        .filter(approved if approved_only else approved | submitted)
        .select_related("parent")
        .order_by("number")
    )
    return [
        VersionOfWeek(
            number=version.number,
            kind_label=version.get_kind_display(),
            status=version.status,
            status_label=version.get_status_display(),
            approved=version.status in (PlanStatus.APPROVED, PlanStatus.SUPERSEDED),
            when=version.approved_at or version.submitted_at,
            parent_payload=version.parent.payload if version.parent_id else None,
            payload=version.payload,
        )
        for version in versions
    ]


def track_keys_of_versions(*, tenant_id: int, numbers: list[int]) -> dict[int, str]:
    """{version number: its track's key} (notifications: who follows or muted the track)."""
    return dict(
        PlanVersion.objects.filter(tenant_id=tenant_id, number__in=numbers).values_list(
            "number", "track__key"
        )
    )
