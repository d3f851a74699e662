"""The writers of notifications' own rows: preferences, follows and mutes, read marks, a
person's time zone, and the SLA amber scan. Preferences, follows and mutes are audited (in every
tenant of the person, for preferences: they change what each tenant's people are told); marking
a notification read is a person's own inbox state and is not."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import available_timezones

from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.inbox import SLA_AMBER, sla_state
from approvals.models import Ticket, TicketStatus
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import DomainError
from notifications.fanout import _watchers, deliver, sla_warning_audience, ticket_targets
from notifications.kinds import KIND_SPECS, preference_problem
from notifications.models import (
    Notification,
    PersonSettings,
    Preference,
    SlaWarning,
    Watch,
    WatchMode,
    WatchTarget,
)
from tenants.models import Membership


class NotificationError(DomainError):
    code = "validation_error"


@transaction.atomic(durable=True)
def preferences_set(
    *, user, actor: Actor, choices: dict[str, str], time_zone: str | None = None
) -> dict[str, str]:
    """Store `choices` ({kind: delivery}) for `user`; refuses the lot, naming each problem, when
    one is not allowed (red flags off or digested). Returns what changed."""
    problems = {
        kind: problem
        for kind, delivery in choices.items()
        if (problem := preference_problem(kind, delivery))
    }
    if time_zone is not None and time_zone and time_zone not in available_timezones():
        problems["time_zone"] = f"{time_zone!r} is not a known time zone."
    if problems:
        raise NotificationError(" ".join(problems.values()), fields=problems)
    current = dict(Preference.objects.filter(user=user).values_list("kind", "delivery"))
    changed = {}
    for kind, delivery in choices.items():
        before = current.get(kind, KIND_SPECS[kind].default)
        if before == delivery:
            continue
        Preference.objects.update_or_create(user=user, kind=kind, defaults={"delivery": delivery})
        changed[kind] = {"from": before, "to": delivery}
    if time_zone is not None:
        person, _ = PersonSettings.objects.get_or_create(user=user)
        if person.time_zone != time_zone:
            changed["time_zone"] = {"from": person.time_zone, "to": time_zone}
            person.time_zone = time_zone
            person.save(update_fields=["time_zone"])
    if changed:
        for membership in Membership.objects.filter(user=user).order_by("tenant_id"):
            audit_event_append(
                tenant=membership.tenant_id,
                actor=actor,
                action=AuditAction.NOTIFICATION_PREFERENCES_SET,
                resource=("user", user.get_username()),
                data={"changes": changed},
            )
    return changed


@transaction.atomic(durable=True)
def watch_set(
    *, user, tenant, actor: Actor, target_type: str, target_id: str, mode: str | None
) -> Watch | None:
    """Follow, mute (mode) or forget (None) a ticket, track or run of `tenant`."""
    if target_type not in WatchTarget.values:
        raise NotificationError(f"You can follow a {', '.join(WatchTarget.values)}.")
    if mode is not None and mode not in WatchMode.values:
        raise NotificationError("Follow or mute.")
    if not Membership.objects.filter(user=user, tenant=tenant).exists():
        raise NotificationError("You don't work in this tenant.", status=404)
    target_id = str(target_id)[:100]
    existing = Watch.objects.filter(
        user=user, tenant=tenant, target_type=target_type, target_id=target_id
    ).first()
    before = existing.mode if existing else None
    if before == mode:
        return existing
    if mode is None:
        existing.delete()
        watch = None
    elif existing is None:
        watch = Watch.objects.create(
            user=user, tenant=tenant, target_type=target_type, target_id=target_id, mode=mode
        )
    else:
        existing.mode = mode
        existing.save(update_fields=["mode"])
        watch = existing
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action=AuditAction.WATCH_SET,
        resource=(target_type, target_id),
        data={"user": user.get_username(), "from": before, "to": mode},
    )
    return watch


def notifications_mark_read(*, user, ids: list[int] | None = None) -> int:
    """Mark `user`'s notifications read (these ids, or all); returns how many changed."""
    unread = Notification.objects.filter(user=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


# --- SLA amber ----------------------------------------------------------------------------------
AMBER_LOOKAHEAD = timedelta(days=4)  # the widest amber window (a quarter of a long SLA)


def sla_warnings_scan(*, now: datetime | None = None) -> int:
    """Tell the people an open ticket waits for when it turns amber (once per due time)."""
    now = now or timezone.now()
    candidates = (
        Ticket.objects.filter(
            status=TicketStatus.OPEN,
            sla_due_at__gt=now,
            sla_due_at__lt=now + AMBER_LOOKAHEAD,
        )
        .select_related("tenant")
        .order_by("sla_due_at")
    )
    told = 0
    for ticket in candidates.iterator(chunk_size=500):
        if sla_state(due_at=ticket.sla_due_at, opened_at=ticket.created_at, now=now) != SLA_AMBER:
            continue
        if ticket.is_red_flag:
            continue  # red flags were told at once, to everyone who clears them
        try:
            with transaction.atomic():
                SlaWarning.objects.create(ticket=ticket, due_at=ticket.sla_due_at)
                muters = _watchers(ticket.tenant_id, ticket_targets(ticket))[1]
                told += len(
                    deliver(
                        sla_warning_audience(ticket),
                        tenant=ticket.tenant,
                        ticket=ticket,
                        muters=muters,
                    )
                )
        except IntegrityError:
            continue  # another scan warned for this due time
    return told


def integration_notice(*, tenant, title: str, body: str = "", url: str = "") -> list:
    """Tell the tenant's admins something about its integrations (a webhook endpoint disabled),
    inside the caller's transaction."""
    from notifications.fanout import Audience, Message, _members
    from notifications.kinds import Kind
    from tenants.models import Role

    audience = Audience()
    audience.add(_members(tenant.pk, [Role.ADMIN]), Message(Kind.INTEGRATION, title, body, url))
    return deliver(audience, tenant=tenant)
