"""Pause all spend (seed 000 "Pause all spend → optimization hold"): one action pauses every live
entity of a track through a change set — audited, and recorded as the track's hold — and one
action resumes exactly those entities. While the hold lasts nothing applies to the track:
agents' change sets are refused (423); a change set whose last approval lands during the hold,
and a rollback, wait (`approved_waiting`) and are checked again — compare-and-swap against the
live state, guardrails against today's plan — when the hold ends (issue 16 item 3).

Both ends lock every manifest entity of the track first: whoever applies a change set holds its
channels' entities while it looks for a hold, so an approval and a hold (or a resume) queue, and
the approval sees the hold — or the resume sees the change set that waits."""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import Conflict, DomainError
from config.text import REASON_MAX, clean_text
from optimization.models import (
    STATUS,
    ChangeSet,
    ChangeSetKind,
    ExecutionManifestEntry,
    TrackHold,
)
from optimization.selectors import active_hold, change_sets_waiting_for_hold, entry_is_live
from optimization.services.approval import change_set_apply_after_hold_within
from optimization.services.change_sets import ChangeSetRequest, change_set_submit_within
from plans.models import Track


class HoldError(DomainError):
    """A hold the rules refuse; nothing was written."""

    code = "invalid_hold"


def _request(track: Track, kind: str, items: list[dict], actor: Actor, reason: str):
    return ChangeSetRequest(
        change_set_id=f"{kind}-{secrets.token_hex(6)}",
        track=track.key,
        items=items,
        agent=actor.label,
        reason=reason,
        kind=kind,
    )


@transaction.atomic(durable=True)
def track_hold_start(*, track: Track, actor: Actor, reason: str = "") -> TrackHold:
    """Pause every live entity of the track in one change set (status → paused applies by
    itself: it moves no budget up) and record the hold."""
    reason = clean_text(reason, name="reason", max_length=REASON_MAX)
    if not reason:
        raise HoldError("Say why all spend stops: the reason is kept with the hold.")
    _lock_track_entities(track)
    if active_hold(track=track) is not None:
        raise Conflict(f"{track.key} is on hold already.", code="already_on_hold")
    live = [
        entry
        for entry in track.manifest.order_by("platform", "entity_id")
        if entry_is_live(entry.state)
    ]
    if not live:
        raise Conflict(f"{track.key} has no live entity to pause.", code="nothing_live")
    pause = change_set_submit_within(
        tenant=track.tenant,
        request=_request(
            track,
            ChangeSetKind.HOLD,
            [
                {"entity_id": e.entity_id, "field": STATUS, "before": "active", "after": "paused"}
                for e in live
            ],
            actor,
            reason,
        ),
        actor=actor,
    )
    try:
        with transaction.atomic():
            hold = TrackHold.objects.create(
                tenant=track.tenant,
                track=track,
                pause=pause,
                reason=reason,
                started_by=str(actor)[:150],
            )
    except IntegrityError:
        raise Conflict(
            f"{track.key} was put on hold a moment ago.", code="already_on_hold"
        ) from None
    audit_event_append(
        tenant=track.tenant_id,
        actor=actor,
        action=AuditAction.TRACK_HOLD_STARTED,
        resource=track,
        data={
            "change_set": pause.change_set_id,
            "paused": [e.entity_id for e in live],
            "reason": reason,
        },
    )
    return hold


@transaction.atomic(durable=True)
def track_hold_end(*, track: Track, actor: Actor) -> TrackHold:
    """Resume the entities the hold paused (those still paused), in one change set; then each
    change set that waited for the hold, oldest approval first, is applied or refused."""
    _lock_track_entities(track)
    hold = TrackHold.objects.select_for_update().filter(track=track, ended_at__isnull=True).first()
    if hold is None:
        raise Conflict(f"{track.key} is not on hold.", code="not_on_hold")
    waiting = change_sets_waiting_for_hold(track=track)
    paused = [item.entity_id for item in hold.pause.items.all()]
    entries = {e.entity_id: e for e in track.manifest.filter(entity_id__in=paused)}
    items = [
        {"entity_id": entity_id, "field": STATUS, "before": "paused", "after": "active"}
        for entity_id in paused
        if entity_id in entries and str(entries[entity_id].state.get(STATUS, "")) == "paused"
    ]
    resume: ChangeSet | None = None
    if items:
        resume = change_set_submit_within(
            tenant=track.tenant,
            request=_request(
                track, ChangeSetKind.RESUME, items, actor, "Resume spend after the hold"
            ),
            actor=actor,
        )
    hold.resume = resume
    hold.ended_at = timezone.now()
    hold.ended_by = str(actor)[:150]
    hold.save(update_fields=["resume", "ended_at", "ended_by"])
    outcomes = [
        change_set_apply_after_hold_within(change_set=change_set, actor=actor)
        for change_set in waiting
    ]
    audit_event_append(
        tenant=track.tenant_id,
        actor=actor,
        action=AuditAction.TRACK_HOLD_ENDED,
        resource=track,
        data={
            "change_set": resume.change_set_id if resume else None,
            "resumed": [item["entity_id"] for item in items],
            "waited": {cs.change_set_id: cs.status for cs in outcomes},
        },
    )
    return hold


def _lock_track_entities(track: Track) -> None:
    """Every manifest entity of the track, in the order change sets lock them."""
    list(
        ExecutionManifestEntry.objects.select_for_update()
        .filter(track=track)
        .order_by("platform", "entity_id")
        .values_list("pk", flat=True)
    )
