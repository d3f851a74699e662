from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tenants.models import Tenant, TenantPolicy


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
