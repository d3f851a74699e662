from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from tenants.models import LoginLockout, Membership, Tenant, TenantPolicy


@dataclass(frozen=True)
class PolicyChange:
    when: datetime
    who: str
    reason: str
    changes: list[tuple[str, Any, Any]]  # (key, from, to); empty for the first version

    @property
    def is_creation(self) -> bool:
        return self.reason.startswith("created")


def tenant_policy_history(*, tenant: Tenant, limit: int = 20) -> list[PolicyChange]:
    """The policy's versions, newest first, each with what changed against the one before."""
    records = list(
        TenantPolicy.history.filter(tenant_id=tenant.pk)
        .select_related("history_user")
        .order_by("-history_date", "-history_id")[: limit + 1]
    )
    history = []
    for newer, older in zip(records, [*records[1:], None], strict=True):
        if len(history) == limit:
            break
        changes = []
        if older is not None:
            delta = newer.diff_against(older, excluded_fields=["updated_at"])
            changes = [(c.field, c.old, c.new) for c in delta.changes]
        reason = newer.history_change_reason or ""
        # The service writes "<verb> by <actor>"; an agent or a command has no user to link.
        who = newer.history_user.get_username() if newer.history_user else ""
        history.append(
            PolicyChange(
                when=newer.history_date,
                who=who or reason.partition(" by ")[2] or "unknown",
                reason=reason,
                changes=sorted(changes),
            )
        )
    return history


# --- What the ops metrics and the weekly report read (metrics/) -----------------------------------
def auto_approve_thresholds(*, tenant_ids: Sequence[int]) -> list[Decimal]:
    """Each tenant's auto_approve_optimization_under_pct."""
    return list(
        TenantPolicy.objects.filter(tenant_id__in=tenant_ids).values_list(
            "auto_approve_optimization_under_pct", flat=True
        )
    )


def tenants_by_ids(*, tenant_ids: Sequence[int]) -> QuerySet[Tenant]:
    return Tenant.objects.filter(pk__in=tenant_ids)


def tenants_exist() -> bool:
    """Whether the platform has any tenant yet."""
    return Tenant.objects.exists()


def tenants_in_order() -> list[Tenant]:
    """Every tenant, oldest first (a scan's order)."""
    return list(Tenant.objects.order_by("pk"))


def member_emails(*, tenant: Tenant, role: str) -> list[str]:
    """The e-mail addresses of the tenant's members holding `role` (those that have one)."""
    return list(
        Membership.objects.filter(tenant=tenant, role=role)
        .exclude(user__email="")
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )


def login_lockouts_for_tenant(*, tenant: Tenant, limit: int = 50) -> list[LoginLockout]:
    """The lockouts of the tenant's people (a lockout belongs to whoever it keeps out), newest
    first; `is_active` says which still hold."""
    usernames = Membership.objects.filter(tenant=tenant).values("user__username")
    lockouts = list(
        LoginLockout.objects.filter(username__in=usernames).select_related("lifted_by")[:limit]
    )
    now = timezone.now()
    for lockout in lockouts:
        lockout.is_active = lockout.lifted_at is None and lockout.expires_at > now
    return lockouts


def login_lockout_of_tenant(*, tenant: Tenant, lockout_id: int) -> LoginLockout | None:
    """The lockout if it keeps out one of the tenant's people, else None."""
    usernames = Membership.objects.filter(tenant=tenant).values("user__username")
    return LoginLockout.objects.filter(pk=lockout_id, username__in=usernames).first()
