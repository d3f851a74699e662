"""Rollback: an applied change set reverted by a new change set — its inverse, through the same
guardrails, linked to the one it reverts (docs/rules.md "Execution and optimization")."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction

from approvals.services import subject_tickets_lock
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import Conflict
from config.transactions import within_transaction
from optimization import guardrails
from optimization.models import (
    ChangeSet,
    ChangeSetEventKind,
    ChangeSetKind,
    ChangeSetStatus,
)
from optimization.selectors import track_on_hold
from optimization.services._common import (
    SUBJECT_TYPE,
    change_set_log_append,
    guardrails_check,
    live_value,
    value_text,
)
from optimization.services.change_sets import (
    ChangeSetRequest,
    change_set_submit_within,
    entries_as_resumed,
)
from tenants.models import TenantPolicy


@dataclass(frozen=True)
class InverseItem:
    entity_id: str
    channel: str
    field: str
    before: object  # what the change set applied: the live value a rollback starts from
    after: object  # what was there before it
    live: object  # the live value now
    moved: bool  # the live value is no longer what the change set applied


@dataclass(frozen=True)
class RollbackPreview:
    change_set: ChangeSet
    items: tuple[InverseItem, ...]
    verdict: guardrails.GuardrailVerdict | None  # what the guardrails say of the inverse
    refusal: str  # why it can't be rolled back now ("" when it can)
    held: str = ""  # what a rollback does while the track is on hold, in plain words

    @property
    def possible(self) -> bool:
        return not self.refusal


def rollback_preview(*, change_set: ChangeSet) -> RollbackPreview:
    """The inverse of an applied change set against the live state now: per entity before →
    after and which guardrail it meets. Read only."""
    # Long on purpose: per entity: the inverse move, its guardrail check and the words for a hold,
    # built together so the preview and the rollback read the same figures.
    refusal = ""
    if change_set.status != ChangeSetStatus.APPLIED:
        refusal = (
            "Only an applied change set can be rolled back; this one is "
            f"{change_set.get_status_display().lower()}."
        )
    elif change_set.reverted_by.exclude(
        status__in=[
            ChangeSetStatus.REJECTED,
            ChangeSetStatus.STALE,
            ChangeSetStatus.LAPSED,
            ChangeSetStatus.REFUSED,
        ]
    ).exists():
        refusal = "It was rolled back already."
    applied = list(change_set.applied.select_related("manifest_entry").order_by("id"))
    items = tuple(
        InverseItem(
            entity_id=row.manifest_entry.entity_id,
            channel=row.channel,
            field=row.field,
            before=row.after,
            after=row.before,
            live=live_value(row.manifest_entry, row.field),
            moved=live_value(row.manifest_entry, row.field) != row.after,
        )
        for row in applied
    )
    if not refusal and any(item.moved for item in items):
        moved = [i for i in items if i.moved]
        currency = change_set.track.currency
        refusal = "The live state moved since it was applied: " + "; ".join(
            f"{i.entity_id} {i.field.replace('_', ' ')} is now "
            f"{value_text(i.field, i.live, currency)}, "
            f"not {value_text(i.field, i.before, currency)}"
            for i in moved
        )
    guardrail_verdict = None
    if items:
        track = change_set.track
        policy = TenantPolicy.objects.get(tenant_id=change_set.tenant_id)
        channel_entries = track.manifest.filter(channel__in={i.channel for i in items})
        guardrail_verdict = guardrails_check(
            track=track,
            items=[guardrails.ProposedItem.of(i) for i in items],
            entries=entries_as_resumed(track, channel_entries),
            policy=policy,
            currency=track.currency,
            first_launch_requires_human=False,
        )
    held = ""
    if not refusal and track_on_hold(track=change_set.track):
        applies_at_once = guardrail_verdict is not None and guardrail_verdict.status == "applied"
        held = (
            f"All spend on {change_set.track.key} is paused. Rolling back now records the "
            "rollback but changes nothing on the platforms until spend resumes"
            + ("" if applies_at_once else ", and it first needs its own A3 approved")
            + ". When spend resumes it applies only if these entities still run at the values "
            "shown under “Now”, and the guardrails still allow it."
        )
    return RollbackPreview(change_set, items, guardrail_verdict, refusal, held)


@transaction.atomic(durable=True)
def change_set_rollback(*, change_set: ChangeSet, actor: Actor, reason: str = "") -> ChangeSet:
    """Roll an applied change set back (see change_set_rollback_within)."""
    return change_set_rollback_within(change_set=change_set, actor=actor, reason=reason)


@within_transaction
def change_set_rollback_within(
    *, change_set: ChangeSet, actor: Actor, reason: str = ""
) -> ChangeSet:
    """Roll an applied change set back: a new change set, the inverse of its applied values,
    through the same guardrails (so it may wait for an A3 itself), linked to it.

    A transition of the change set itself, so in the lock order (config/locks.py): its open
    tickets, the change set, then — in change_set_submit — its channels' live entities, and the
    audit chain head last; what a ticket decision that applies a change set takes, in the same
    order."""
    subject_tickets_lock(
        tenant=change_set.tenant_id, subject_type=SUBJECT_TYPE, subject_id=change_set.change_set_id
    )
    change_set = (
        ChangeSet.objects.select_for_update(of=("self",))
        .select_related("track", "tenant")
        .get(pk=change_set.pk)
    )
    preview = rollback_preview(change_set=change_set)
    if not preview.possible:
        raise Conflict(preview.refusal, code="cannot_roll_back")
    rollback = change_set_submit_within(
        tenant=change_set.tenant,
        request=ChangeSetRequest(
            change_set_id=f"rollback-{secrets.token_hex(6)}",
            track=change_set.track.key,
            items=[
                {
                    "entity_id": item.entity_id,
                    "field": item.field,
                    "before": item.before,
                    "after": item.after,
                }
                for item in preview.items
            ],
            agent=actor.label,
            reason=reason or f"Rollback of {change_set.change_set_id}",
            kind=ChangeSetKind.ROLLBACK,
            reverts=change_set,
        ),
        actor=actor,
    )
    change_set_log_append(
        change_set,
        ChangeSetEventKind.ROLLED_BACK,
        actor,
        f"Rolled back by {rollback.change_set_id} ({rollback.get_status_display().lower()}).",
        rollback=rollback.change_set_id,
    )
    audit_event_append(
        tenant=change_set.tenant_id,
        actor=actor,
        action=AuditAction.CHANGE_SET_ROLLED_BACK,
        resource=change_set,
        data={"rollback": rollback.change_set_id, "status": rollback.status},
    )
    return rollback
