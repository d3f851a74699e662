from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
