"""The master envelope: setting a period's total and track caps (set-up and demo; revisions go
through a plan version's master-level change, applied when the version is approved)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from plans.envelope import clean_master_change
from plans.errors import PlanError
from plans.models import MasterPlan
from tenants.models import Tenant


@transaction.atomic(durable=True)
def master_plan_set(
    *,
    tenant: Tenant,
    period_start,
    period_end,
    currency: str,
    total_budget: Decimal,
    track_caps: dict[str, Any],
    actor: Actor,
) -> MasterPlan:
    """Create or replace the envelope of a period."""
    cleaned = clean_master_change({"total_budget": total_budget, "track_caps": track_caps})
    if period_end < period_start:
        raise PlanError("The master period ends before it starts.", code="invalid_master_change")
    values = {
        "period_end": period_end,
        "currency": currency.upper(),
        "total_budget": Decimal(cleaned["total_budget"]),
        "track_caps": cleaned["track_caps"],
    }
    master, created = MasterPlan.objects.select_for_update().get_or_create(
        tenant=tenant, period_start=period_start, defaults=values
    )
    if not created:
        if all(getattr(master, key) == value for key, value in values.items()):
            return master
        for key, value in values.items():
            setattr(master, key, value)
        master.save()
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action=AuditAction.MASTER_PLAN_SET,
        resource=master,
        data={"period_start": period_start, **values},
    )
    return master
