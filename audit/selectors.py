from __future__ import annotations

from django.db.models import QuerySet

from audit.models import AuditEvent


def audit_events_for_tenant(*, tenant) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(tenant=tenant).order_by("-seq")


def audit_trail(*, tenant, resource_type: str, resource_id: str) -> QuerySet[AuditEvent]:
    """Every event about one resource, newest first (the per-resource trail pages embed)."""
    return audit_events_for_tenant(tenant=tenant).filter(
        resource_type=resource_type, resource_id=str(resource_id)
    )


def audit_events_after(*, tenant, after_seq: int, limit: int) -> tuple[list[AuditEvent], bool]:
    """Up to `limit` events after `after_seq` in chain order, and whether more follow."""
    events = list(
        AuditEvent.objects.filter(tenant=tenant, seq__gt=after_seq).order_by("seq")[: limit + 1]
    )
    return events[:limit], len(events) > limit


def audit_decisions_by_user(*, tenant, user, actions: list[str]) -> QuerySet[AuditEvent]:
    """The events `user` caused in the tenant's log with one of `actions`, newest first (a
    client's own decisions, which the portal lets them prove)."""
    return audit_events_for_tenant(tenant=tenant).filter(
        actor_type="user", actor_id=str(user.pk), action__in=actions
    )
