"""Helpers every plan service shares (private to the package)."""

from __future__ import annotations

from typing import Any

from audit.actors import Actor
from plans.errors import PlanError
from plans.models import PlanVersion
from plans.schema import PayloadInvalid, canonical_payload
from tenants.models import Tenant, TenantPolicy


def validated(payload: Any) -> dict:
    """The canonical payload, or a PlanError naming each field at fault."""
    try:
        return canonical_payload(payload)
    except PayloadInvalid as exc:
        raise PlanError(
            "The plan payload is invalid: " + "; ".join(exc.errors),
            code="invalid_payload",
            errors=exc.errors,
            fields={
                f"payload.{name}" if name else "payload": msgs for name, msgs in exc.fields.items()
            },
        ) from None


def policy_of(tenant: Tenant) -> TenantPolicy:
    return TenantPolicy.objects.get(tenant=tenant)


def lock_version(version: PlanVersion) -> PlanVersion:
    return (
        PlanVersion.objects.select_for_update(of=("self",))
        .select_related("track", "tenant", "parent")
        .get(pk=version.pk)
    )


def actor_text(actor: Actor) -> str:
    return str(actor)[:150]
