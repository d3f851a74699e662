"""Reads of the execution manifest, the optimization log, drift and recommendations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from approvals.models import Ticket
from optimization.models import (
    DAILY_BUDGET,
    AppliedChange,
    ChangeSet,
    ChangeSetEventKind,
    ExecutionManifestEntry,
    Recommendation,
    RecommendationStatus,
    TrackHold,
)
from plans.diff import planned_daily_budget
from plans.schema import parse_payload

ZERO = Decimal("0")


def manifest_entries_for_track(*, track) -> QuerySet[ExecutionManifestEntry]:
    return ExecutionManifestEntry.objects.filter(tenant_id=track.tenant_id, track=track)


def manifest_entries_for_tenant(*, tenant) -> QuerySet[ExecutionManifestEntry]:
    return ExecutionManifestEntry.objects.filter(tenant=tenant).select_related("track")


def manifest_entries_for_version(*, tenant, number: int) -> QuerySet[ExecutionManifestEntry]:
    """The live entities that implement plan version `number` (seed 000 "Version history")."""
    return ExecutionManifestEntry.objects.filter(tenant=tenant, plan_version=number)


def manifest_entries_as_dicts(track) -> list[dict]:
    """The track's live entries in the shape plans/diff.py `manifest_diff` reads (registered with
    plans.live, so plans can compare a version with the live state without importing us)."""
    return [entry.as_dict() for entry in manifest_entries_for_track(track=track)]


# --- Live state, plan and drift per channel -------------------------------------------------------
def entry_is_live(state: dict) -> bool:
    return str((state or {}).get("status", "active")).lower() == "active"


def entry_daily_budget(state: dict) -> Decimal:
    try:
        return Decimal(str((state or {}).get("daily_budget", "0")))
    except ArithmeticError:
        return ZERO


def live_daily_budgets(entries: Iterable[ExecutionManifestEntry]) -> dict[str, Decimal]:
    """Per channel, the sum of the daily budgets of its live (active) entities."""
    totals: dict[str, Decimal] = {}
    for entry in entries:
        if entry_is_live(entry.state):
            totals[entry.channel] = totals.get(entry.channel, ZERO) + entry_daily_budget(
                entry.state
            )
    return totals


def tenant_today(tenant) -> date:
    return timezone.localdate(timezone=ZoneInfo(tenant.time_zone))


def planned_daily_budgets(*, track, on: date) -> dict[str, Decimal | None]:
    """Per channel of the track's approved version, its planned daily budget on `on` (the
    flight covering that day divided by its days); None where no flight runs that day."""
    version = track.current_version
    if version is None:
        return {}
    payload = parse_payload(version.payload)
    return {
        channel.channel: planned_daily_budget(payload, channel.channel, on) or None
        for channel in payload.channels
    }


def drift_window_start(*, track, policy, now: datetime) -> datetime | None:
    """Where cumulative drift starts counting: the approval of the track's current version or the
    start of the rolling window, whichever is later; None without an approved version."""
    version = track.current_version
    if version is None or version.approved_at is None:
        return None
    return max(version.approved_at, now - timedelta(days=policy.drift_window_days))


def applied_budget_drift(*, track, since: datetime | None) -> dict[str, Decimal]:
    """Per channel, the net daily-budget change applied since `since` (docs/rules.md "Revise
    triggers"): one aggregate over the applied changes."""
    if since is None:
        return {}
    rows = (
        AppliedChange.objects.filter(track=track, field=DAILY_BUDGET, applied_at__gte=since)
        .values("channel")
        .annotate(net=Sum("delta"))
    )
    return {row["channel"]: row["net"] or ZERO for row in rows}


def first_launch_done(entry: ExecutionManifestEntry) -> bool:
    return entry.first_active_at is not None


# --- The optimization log -------------------------------------------------------------------------
def change_set_or_none(*, tenant, change_set_id: str) -> ChangeSet | None:
    return (
        ChangeSet.objects.filter(tenant=tenant, change_set_id=change_set_id)
        .select_related("track", "tenant", "reverts")
        .first()
    )


def change_set_log(*, track) -> QuerySet[ChangeSet]:
    """The track's change sets, newest first, with their items (the optimization log page)."""
    return (
        ChangeSet.objects.filter(track=track)
        .select_related("reverts")
        .prefetch_related("items")
        .order_by("-created_at", "-id")
    )


def approved_edits(change_set: ChangeSet) -> dict[int, object]:
    """The smaller moves an approver chose, by item position (the latest edit wins)."""
    event = change_set.events.filter(kind=ChangeSetEventKind.EDITED).order_by("-at", "-id").first()
    if event is None:
        return {}
    return {int(position): value for position, value in event.data.get("approved", {}).items()}


def active_hold(*, track) -> TrackHold | None:
    return TrackHold.objects.filter(track=track, ended_at__isnull=True).first()


def open_recommendation(*, track, signal: str, subject_key: str) -> Recommendation | None:
    return Recommendation.objects.filter(
        track=track, signal=signal, subject_key=subject_key, status=RecommendationStatus.OPEN
    ).first()


def change_set_exists(tenant, change_set_id) -> bool:
    """Does the tenant have this change set? (approvals checks ticket references with it)"""
    return ChangeSet.objects.filter(tenant=tenant, change_set_id=str(change_set_id)).exists()


def recommendation_exists(tenant, recommendation_id: str) -> bool:
    """Does the tenant have this recommendation? (a ticket's subject id, as stored)"""
    return (
        str(recommendation_id).isdigit()
        and int(recommendation_id) < 2**63
        and Recommendation.objects.filter(tenant=tenant, pk=int(recommendation_id)).exists()
    )


def change_set_view(change_set: ChangeSet) -> dict:
    """A change set as the API answers it and its page shows it: the request, what an approver
    approved and what was applied per item, its history and its tickets."""
    edits = approved_edits(change_set)
    applied = {row.item_id: row.after for row in change_set.applied.all()}
    tickets = Ticket.objects.filter(
        tenant_id=change_set.tenant_id,
        subject_type="change_set",
        subject_id=change_set.change_set_id,
    ).order_by("created_at")
    return {
        "change_set_id": change_set.change_set_id,
        "status": change_set.status,
        "path": change_set.path,
        "ticket": change_set.ticket or None,
        "reason": change_set.status_reason,
        "track": change_set.track.key,
        "run_id": change_set.run_id,
        "agent": change_set.agent,
        "kind": change_set.kind,
        "created_at": change_set.created_at,
        "applied_at": change_set.applied_at,
        "reverts": change_set.reverts.change_set_id if change_set.reverts_id else None,
        "reverted_by": list(change_set.reverted_by.values_list("change_set_id", flat=True)),
        "items": [
            {
                "entity_id": item.entity_id or None,
                "field": item.field,
                "before": item.before,
                "after": item.after,
                "approved_after": edits.get(item.position),
                "applied_after": applied.get(item.pk),
            }
            for item in change_set.items.all()
        ],
        "history": [
            {"kind": e.kind, "at": e.at, "actor": e.actor, "message": e.message}
            for e in change_set.events.all()
        ],
        "tickets": [{"ticket": t.public_id, "type": t.type, "status": t.status} for t in tickets],
    }


RUN_CHANGE_SETS_LIMIT = 50


def change_sets_of_run(tenant, run_id: str) -> list[dict]:
    """The change sets carrying an agent run's id, newest first, as plain dicts (registered with
    approvals.presentation for the run's System Ops page: agents imports nothing of ours)."""
    rows = (
        ChangeSet.objects.filter(tenant=tenant, run_id=run_id)
        .select_related("track")
        .annotate(item_count=Count("items"))
        .order_by("-created_at", "-id")[:RUN_CHANGE_SETS_LIMIT]
    )
    return [
        {
            "change_set_id": cs.change_set_id,
            "track": cs.track.key,
            "status": cs.status,
            "status_label": cs.get_status_display(),
            "applied": cs.is_applied,
            "pending": cs.is_pending,
            "kind_label": cs.get_kind_display(),
            "path": cs.path,
            "agent": cs.agent,
            "items": cs.item_count,
            "ticket": cs.ticket,
            "created_at": cs.created_at,
        }
        for cs in rows
    ]
