"""Away and stand-ins (issue 19.3): a person sets the days they are away in a tenant and a
stand-in who holds the same role there. While they are away their assignments and their
notifications in that tenant go to the stand-in, and what the stand-in does on their behalf is
audited as "pia for paul". SLA clocks never restart for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import DomainError
from tenants.models import Membership

AWAY_DAYS_MAX = 366


class AwayInvalid(DomainError):
    code = "validation_error"


def is_away(membership: Membership, on: date) -> bool:
    return bool(
        membership.away_from
        and membership.away_until
        and membership.away_from <= on <= membership.away_until
    )


@dataclass(frozen=True)
class StandIn:
    """Who gets what was meant for `person` in one tenant today: `person` themselves, or their
    stand-in (then `for_person` is the one away)."""

    user_id: int
    for_user_id: int | None = None


def stand_ins_today(*, tenant, user_ids: list[int], now: datetime | None = None) -> dict:
    """{user id: StandIn} for these members of `tenant`: the stand-in of each one away today
    (one hop: a stand-in who is away too still gets it, there is nobody further to ask)."""
    today = tenant.today(now)
    routed = {uid: StandIn(uid) for uid in user_ids}
    away = Membership.objects.filter(
        tenant=tenant,
        user_id__in=user_ids,
        away_from__lte=today,
        away_until__gte=today,
        stand_in__isnull=False,
    ).values_list("user_id", "stand_in_id", "role")
    for user_id, stand_in_id, role in away:
        # The stand-in must still hold the role (a membership may have changed since).
        if Membership.objects.filter(tenant=tenant, user_id=stand_in_id, role=role).exists():
            routed[user_id] = StandIn(stand_in_id, for_user_id=user_id)
    return routed


@transaction.atomic(durable=True)
def membership_away_set(
    *,
    membership: Membership,
    actor: Actor,
    away_from: date | None,
    away_until: date | None,
    stand_in=None,
) -> Membership:
    """Set (or clear, with no dates) the days `membership`'s person is away and who stands in."""
    membership = (
        Membership.objects.select_for_update(of=("self",))
        .select_related("tenant")
        .get(pk=membership.pk)
    )
    if (away_from is None) != (away_until is None):
        raise AwayInvalid("Give both the first and the last day away, or neither.")
    if away_from and away_until:
        if away_until < away_from:
            raise AwayInvalid("The last day away comes after the first.")
        if (away_until - away_from).days >= AWAY_DAYS_MAX:
            raise AwayInvalid(f"Away is at most {AWAY_DAYS_MAX} days at a time.")
        if stand_in is None:
            raise AwayInvalid("Name a stand-in for the days you are away.")
    if stand_in is not None:
        if stand_in.pk == membership.user_id:
            raise AwayInvalid("You can't stand in for yourself.")
        if not Membership.objects.filter(
            tenant=membership.tenant, user=stand_in, role=membership.role
        ).exists():
            raise AwayInvalid(
                f"{stand_in.get_username()} is not a {membership.role} of "
                f"{membership.tenant.name}: a stand-in holds the same role in the tenant."
            )
    if away_from is None:
        stand_in = None
    membership.away_from, membership.away_until, membership.stand_in = (
        away_from,
        away_until,
        stand_in,
    )
    membership.save(update_fields=["away_from", "away_until", "stand_in"])
    audit_event_append(
        tenant=membership.tenant,
        actor=actor,
        action=AuditAction.MEMBERSHIP_AWAY_SET,
        resource=membership,
        data={
            "user": membership.user.get_username(),
            "away_from": away_from.isoformat() if away_from else None,
            "away_until": away_until.isoformat() if away_until else None,
            "stand_in": stand_in.get_username() if stand_in else None,
        },
    )
    return membership
