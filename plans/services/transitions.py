"""Transitions of a submitted version: approve (superseding the track's current version), reject,
request changes and withdraw — and the locks they take, in the product's lock order
(config/locks.py): the version's open tickets, the version, its track, its parent, the master
plan, then the audit chain head."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.selectors import subject_blocking_tickets
from approvals.services import subject_tickets_lock, ticket_cancel_within
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.text import REASON_MAX
from config.transactions import within_transaction
from plans.errors import PlanStateError
from plans.events import version_outdated_emit
from plans.live import version_approved
from plans.models import (
    OPEN_STATUSES,
    SUBJECT_TYPE,
    MasterPlan,
    PlanStatus,
    PlanVersion,
    Track,
)
from plans.schema import money_text
from plans.selectors import master_plan_for, remaining_delta_for
from plans.services._common import actor_text, lock_version, transition_needed
from tenants.models import Tenant


def _lock_rows(queryset) -> None:
    list(queryset.select_for_update().order_by("pk").values_list("pk", flat=True))


def _lock_track_parent_master(*, tenant: Tenant, track_id: int | None, parent_id, payload: Any):
    if track_id is not None:
        _lock_rows(Track.objects.filter(pk=track_id))
    if parent_id is not None:
        _lock_rows(PlanVersion.objects.filter(pk=parent_id))
    master = master_plan_for(tenant, payload)
    if master is not None:
        _lock_rows(MasterPlan.objects.filter(pk=master.pk))


@within_transaction
def subject_closure_lock(version: PlanVersion) -> PlanVersion:
    """Lock a version and everything its approval changes, in the lock order: the version, its
    track, its parent (which approval supersedes) and the master plan (a master-level change).
    Returns the locked, freshly read version."""
    version = lock_version(version)
    _lock_track_parent_master(
        tenant=version.tenant,
        track_id=version.track_id,
        parent_id=version.parent_id,
        payload=version.payload,
    )
    return version


@within_transaction
def track_closure_lock(*, tenant: Tenant, track_key: str, payload: Any) -> None:
    """What approving a new version of `track_key` will change, for a version that does not exist
    yet (an imported plan): the track, its current version and the master plan."""
    track = Track.objects.filter(tenant=tenant, key=track_key).first()
    _lock_track_parent_master(
        tenant=tenant,
        track_id=track.pk if track else None,
        parent_id=track.current_version_id if track else None,
        payload=payload,
    )


def _version_tickets_lock(version: PlanVersion) -> None:
    subject_tickets_lock(
        tenant=version.tenant_id, subject_type=SUBJECT_TYPE, subject_id=str(version.number)
    )


def _apply_master_change(version: PlanVersion, actor: Actor) -> None:
    master = master_plan_for(version.tenant, version.payload)
    if master is None or not version.master_change:
        return
    master = MasterPlan.objects.select_for_update().get(pk=master.pk)
    before = {"total_budget": money_text(master.total_budget), "track_caps": master.track_caps}
    master.total_budget = Decimal(version.master_change["total_budget"])
    master.track_caps = {**master.track_caps, **version.master_change.get("track_caps", {})}
    master.save(update_fields=["total_budget", "track_caps", "updated_at"])
    audit_event_append(
        tenant=version.tenant,
        actor=actor,
        action=AuditAction.MASTER_PLAN_CHANGED,
        resource=master,
        plan_version=version.number,
        data={"before": before, "after": version.master_change},
    )


@within_transaction
def plan_version_approve_within(*, version: PlanVersion, actor: Actor) -> PlanVersion:
    """Approve a pending version whose tickets are all approved — in the transaction of the last
    ticket's decision, or of an import: supersede the track's current version, make this one
    current and record the remaining delta, all or nothing."""
    version = subject_closure_lock(version)
    only = "a version pending approval can be approved"
    if not transition_needed(version, PlanStatus.APPROVED, only=only):
        return version
    open_tickets = list(
        subject_blocking_tickets(
            tenant=version.tenant, subject_type=SUBJECT_TYPE, subject_id=str(version.number)
        ).values_list("public_id", flat=True)
    )
    if open_tickets:
        raise PlanStateError(
            f"v{version.number} still waits for {', '.join(open_tickets)}.", code="tickets_open"
        )
    track = Track.objects.get(pk=version.track_id)  # locked by subject_closure_lock
    if version.parent_id != track.current_version_id:
        raise PlanStateError(
            f"v{version.number} no longer follows the current version of {track.key}.",
            code="stale_parent",
        )
    now = timezone.now()
    parent = version.parent
    if parent is not None:
        # Supersede first: at most one approved version per track (partial unique index).
        parent = _supersede(parent, by=version, track=track, actor=actor, now=now)
    version.remaining_delta = remaining_delta_for(version)
    version.status = PlanStatus.APPROVED
    version.approved_at = now
    version.approved_by = actor_text(actor)
    version.save(
        update_fields=["status", "approved_at", "approved_by", "remaining_delta", "updated_at"]
    )
    _apply_master_change(version, actor)
    track.current_version = version
    track.save(update_fields=["current_version"])
    audit_event_append(
        tenant=version.tenant,
        actor=actor,
        action=AuditAction.PLAN_VERSION_APPROVED,
        resource=version,
        plan_version=version.number,
        payload=version.payload,
        data={
            "track": track.key,
            "supersedes": parent.number if parent else None,
            "remaining_delta": version.remaining_delta["remaining"],
        },
    )
    _outdate_competitors(version, track=track, actor=actor)
    version_approved(version, actor)
    return version


def _outdate_competitors(approved: PlanVersion, *, track: Track, actor: Actor) -> None:
    """Every other draft or pending version of the track built on the version `approved`
    supersedes no longer follows the plan: outdate it in the approval's transaction, withdraw
    its open tickets (their note names the approval) and tell its drafter. At most one version
    per parent is ever approvable.

    Lock order: a competitor's tickets and the competitor come after this version's track here,
    against config/locks.py (tickets → subject → track). A decision on a competitor's ticket at
    the same moment may deadlock with this approval; PostgreSQL ends one of them and the person
    gets the 409 "try again" (config/locks.py) — after which the competitor reads outdated."""
    competitors = PlanVersion.objects.filter(
        track=track, parent_id=approved.parent_id, status__in=OPEN_STATUSES
    ).exclude(pk=approved.pk)
    for competitor_id in competitors.order_by("pk").values_list("pk", flat=True):
        competitor = PlanVersion.objects.get(pk=competitor_id)
        _version_tickets_lock(competitor)
        competitor = lock_version(competitor)
        if competitor.status not in OPEN_STATUSES:
            continue
        competitor.status = PlanStatus.OUTDATED
        competitor.outdated_at = approved.approved_at
        competitor.outdated_by = approved
        competitor.save(update_fields=["status", "outdated_at", "outdated_by", "updated_at"])
        withdrawn = _cancel_open_tickets(
            competitor,
            actor,
            f"v{competitor.number} is outdated: v{approved.number}, built on the same version, "
            f"was approved.",
        )
        audit_event_append(
            tenant=approved.tenant,
            actor=actor,
            action=AuditAction.PLAN_VERSION_OUTDATED,
            resource=competitor,
            plan_version=competitor.number,
            data={
                "track": track.key,
                "by_version": approved.number,
                "withdrawn_tickets": withdrawn,
            },
        )
        version_outdated_emit(competitor, approved=approved, actor=actor)


def _supersede(
    parent: PlanVersion, *, by: PlanVersion, track: Track, actor: Actor, now
) -> PlanVersion:
    parent = PlanVersion.objects.get(pk=parent.pk)  # locked by subject_closure_lock
    parent.status = PlanStatus.SUPERSEDED
    parent.superseded_at = now
    parent.superseded_by = actor_text(actor)
    parent.save(update_fields=["status", "superseded_at", "superseded_by", "updated_at"])
    audit_event_append(
        tenant=by.tenant,
        actor=actor,
        action=AuditAction.PLAN_VERSION_SUPERSEDED,
        resource=parent,
        plan_version=parent.number,
        data={"by_version": by.number, "track": track.key},
    )
    return parent


def _end_pending(
    version: PlanVersion, *, actor: Actor, target: str, action: str, note: str
) -> PlanVersion:
    """pending_approval → rejected or draft; the version's other open tickets are cancelled.

    The tickets are locked before the version (config/locks.py): a decision on one of them
    locks the ticket first too, so the two queue instead of deadlocking."""
    _version_tickets_lock(version)
    version = lock_version(version)
    only = "a version pending approval can be " + (
        "rejected" if target == PlanStatus.REJECTED else "returned to draft"
    )
    if not transition_needed(version, target, only=only):
        return version
    version.status = target
    fields = ["status", "updated_at"]
    if target == PlanStatus.REJECTED:
        version.rejected_at, version.rejected_by = timezone.now(), actor_text(actor)
        fields += ["rejected_at", "rejected_by"]
    version.save(update_fields=fields)
    # The status changed first, so the cancellations below find the version no longer pending
    # and their handler calls are no-ops.
    cancelled = _cancel_open_tickets(version, actor, f"v{version.number}: {note}")
    audit_event_append(
        tenant=version.tenant,
        actor=actor,
        action=action,
        resource=version,
        plan_version=version.number,
        data={"note": note, "cancelled_tickets": cancelled},
    )
    return version


def _cancel_open_tickets(version: PlanVersion, actor: Actor, reason: str) -> list[str]:
    cancelled = []
    for ticket in subject_blocking_tickets(
        tenant=version.tenant, subject_type=SUBJECT_TYPE, subject_id=str(version.number)
    ).order_by("pk"):
        ticket_cancel_within(ticket=ticket, actor=actor, reason=reason[:REASON_MAX])
        cancelled.append(ticket.public_id)
    return cancelled


@within_transaction
def plan_version_reject_within(
    *, version: PlanVersion, actor: Actor, note: str = ""
) -> PlanVersion:
    """A ticket about the version was rejected (in that decision's transaction)."""
    return _end_pending(
        version,
        actor=actor,
        target=PlanStatus.REJECTED,
        action=AuditAction.PLAN_VERSION_REJECTED,
        note=note or "rejected",
    )


@within_transaction
def plan_version_request_changes_within(
    *, version: PlanVersion, actor: Actor, note: str = ""
) -> PlanVersion:
    """A ticket about the version asked for changes, or was withdrawn from outside (in that
    decision's transaction): back to draft."""
    return _end_pending(
        version,
        actor=actor,
        target=PlanStatus.DRAFT,
        action=AuditAction.PLAN_VERSION_CHANGES_REQUESTED,
        note=note or "changes requested",
    )


@transaction.atomic(durable=True)
def plan_version_withdraw(*, version: PlanVersion, actor: Actor, note: str = "") -> PlanVersion:
    """The author takes a submitted version back to draft; its open tickets are cancelled."""
    return _end_pending(
        version,
        actor=actor,
        target=PlanStatus.DRAFT,
        action=AuditAction.PLAN_VERSION_WITHDRAWN,
        note=note or "withdrawn by its author",
    )
