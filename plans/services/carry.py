"""Carry an outdated version forward: a new draft on the track's current version with the
outdated version's changes re-applied where they don't collide (plans/carry.py merges)."""

from __future__ import annotations

from django.db import transaction

from audit.actors import Actor
from config.transactions import within_transaction
from plans.carry import carry_forward
from plans.errors import PlanStateError
from plans.models import PlanStatus, PlanVersion, Track
from plans.selectors import track_classify
from plans.services._common import lock_version, policy_of
from plans.services.drafts import plan_version_counter_lock, plan_version_create_draft_within

# A carried-forward draft that still counts: carrying forward again returns it.
_LIVE_CARRIED = (PlanStatus.DRAFT, PlanStatus.PENDING_APPROVAL, PlanStatus.APPROVED)


def _carried_draft(version: PlanVersion) -> PlanVersion | None:
    return (
        PlanVersion.objects.filter(carried_from=version, status__in=_LIVE_CARRIED)
        .order_by("-number")
        .first()
    )


@transaction.atomic(durable=True)
def plan_version_carry_forward(*, version: PlanVersion, actor: Actor) -> PlanVersion:
    """The draft that carries the outdated `version` forward onto its track's current version —
    created now, or the one created before (carrying forward twice is a no-op)."""
    existing = _carried_draft(version)
    if existing is not None:
        return existing
    return plan_version_carry_forward_within(version=version, actor=actor)


@within_transaction
def plan_version_carry_forward_within(*, version: PlanVersion, actor: Actor) -> PlanVersion:
    """plan_version_carry_forward as a step of the caller's transaction (approving a
    recommendation whose pre-drafted version an approval outdated carries it forward first)."""
    # The counter first (config/locks.py), then the version.
    plan_version_counter_lock(tenant_id=version.tenant_id)
    version = lock_version(version)
    if version.status != PlanStatus.OUTDATED:
        raise PlanStateError(
            f"v{version.number} is {version.get_status_display().lower()}; only an outdated "
            "version is carried forward (edit a draft to rebase it)."
        )
    existing = _carried_draft(version)
    if existing is not None:
        return existing
    track = Track.objects.select_related("current_version").get(pk=version.track_id)
    current = track.current_version
    merged = carry_forward(
        base=version.parent.payload if version.parent_id else None,
        carried=version.payload,
        current=current.payload if current else {},
    )
    classification = track_classify(
        track=track, track_key=track.key, payload=merged.payload, policy=policy_of(version.tenant)
    )
    kind = version.kind
    if classification.accepted_kinds and not classification.accepts(kind):
        kind = classification.accepted_kinds[0]
    return plan_version_create_draft_within(
        tenant=version.tenant,
        track_key=track.key,
        kind=kind,
        payload=merged.payload,
        actor=actor,
        reason=f"Carried forward from v{version.number}: {version.reason}".strip(": "),
        trigger=version.trigger,
        master_change=version.master_change,
        carried_from=version,
        carry_collisions=merged.collisions,
    )
