"""The seasonality calendar: planners configure upcoming flight changes per track; 14 days before
one (the tenant's lead time) the trigger scan pre-drafts a revise carrying it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import transaction

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import DomainError
from config.text import clean_text
from config.transactions import within_transaction
from optimization.models import SeasonalChange
from plans.models import Track


class SeasonalChangeError(DomainError):
    code = "invalid_seasonal_change"


@transaction.atomic(durable=True)
def seasonal_change_set(
    *,
    track: Track,
    channel: str,
    starts_on: date,
    ends_on: date,
    budget: Decimal,
    note: str,
    actor: Actor,
) -> SeasonalChange:
    return seasonal_change_set_within(
        track=track,
        channel=channel,
        starts_on=starts_on,
        ends_on=ends_on,
        budget=budget,
        note=note,
        actor=actor,
    )


@within_transaction
def seasonal_change_set_within(
    *,
    track: Track,
    channel: str,
    starts_on: date,
    ends_on: date,
    budget: Decimal,
    note: str,
    actor: Actor,
) -> SeasonalChange:
    """seasonal_change_set as a step of a bigger transaction (Django admin's change form, the
    demo's story)."""
    note = clean_text(note, name="note", max_length=200)
    channel = clean_text(channel, name="channel", max_length=60).lower()
    version = track.current_version
    channels = {c["channel"] for c in version.payload["channels"]} if version else set()
    if channel not in channels:
        raise SeasonalChangeError(
            f"{track.key} has no channel {channel!r} in its approved plan; a new channel is a "
            "replan, not a seasonal flight change.",
            fields={"channel": ["not a channel of the approved plan"]},
        )
    if starts_on < track.tenant.today():
        raise SeasonalChangeError(
            "The flight change starts in the past; the calendar is for changes to come.",
            fields={"starts_on": ["in the past"]},
        )
    if ends_on < starts_on:
        raise SeasonalChangeError(
            "The flight ends before it starts.", fields={"ends_on": ["before the start"]}
        )
    if not budget.is_finite() or budget < 0:
        raise SeasonalChangeError("The budget is an amount from 0.", fields={"budget": ["from 0"]})
    change = SeasonalChange.objects.create(
        tenant=track.tenant,
        track=track,
        channel=channel,
        starts_on=starts_on,
        ends_on=ends_on,
        budget=budget,
        note=note,
        created_by=str(actor)[:150],
    )
    audit_event_append(
        tenant=track.tenant_id,
        actor=actor,
        action=AuditAction.SEASONAL_CHANGE_SET,
        resource=change,
        data={
            "track": track.key,
            "channel": channel,
            "starts_on": starts_on,
            "ends_on": ends_on,
            "budget": budget,
            "note": note,
        },
    )
    return change


@transaction.atomic(durable=True)
def seasonal_change_remove(*, change: SeasonalChange, actor: Actor) -> None:
    seasonal_change_remove_within(change=change, actor=actor)


@within_transaction
def seasonal_change_remove_within(*, change: SeasonalChange, actor: Actor) -> None:
    """seasonal_change_remove inside Django admin's delete page transaction."""
    data = {"track": change.track.key, "channel": change.channel, "starts_on": change.starts_on}
    audit_event_append(
        tenant=change.tenant_id,
        actor=actor,
        action=AuditAction.SEASONAL_CHANGE_REMOVED,
        resource=change,
        data=data,
    )
    change.delete()
