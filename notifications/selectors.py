"""Reads of a person's notifications and settings."""

from __future__ import annotations

from django.db.models import QuerySet

from notifications.kinds import KIND_SPECS, effective_delivery
from notifications.models import Notification, PersonSettings, Preference, Watch
from tenants.models import Membership, Role

UNREAD_CAP = 99


def unread_count(*, user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notifications_of(*, user) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(user=user)
        .select_related("tenant", "for_user")
        .order_by("-created_at", "-id")
    )


def preference_rows(*, user) -> list[dict]:
    """Each kind the person may hear of, with their delivery and whether they may change it."""
    stored = dict(Preference.objects.filter(user=user).values_list("kind", "delivery"))
    roles = set(Membership.objects.filter(user=user).values_list("role", flat=True))
    rows = []
    for kind, spec in KIND_SPECS.items():
        if kind == "client_waiting" and Role.CLIENT not in roles:
            continue
        if kind != "client_waiting" and roles == {Role.CLIENT}:
            continue
        rows.append(
            {
                "kind": kind,
                "label": spec.kind.label,
                "help": spec.help,
                "delivery": effective_delivery(kind, stored.get(kind)),
                "locked": spec.locked,
            }
        )
    return rows


def person_time_zone(*, user) -> str:
    person = PersonSettings.objects.filter(user=user).first()
    return person.time_zone if person else ""


def watch_of(*, user, tenant, target_type: str, target_id: str) -> Watch | None:
    return Watch.objects.filter(
        user=user, tenant=tenant, target_type=target_type, target_id=str(target_id)
    ).first()


def people_told_since(ticket, since) -> int:
    """How many people got a notification about `ticket` since `since`."""
    return (
        Notification.objects.filter(ticket=ticket, created_at__gte=since)
        .values("user_id")
        .distinct()
        .count()
    )
