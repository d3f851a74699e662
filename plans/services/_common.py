"""Helpers every plan service shares (private to the package)."""

from __future__ import annotations

from typing import Any

from audit.actors import Actor
from plans.errors import PlanError, PlanStateError
from plans.models import PlanVersion, can_transition
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


def transition_needed(version: PlanVersion, target: str, *, only: str) -> bool:
    """Whether a locked version still has to become `target`: False when it is there already
    (asking twice is a no-op); a PlanStateError saying who can ("only a draft can be
    submitted") when the transition table (plans/models.py) forbids it."""
    if version.status == target:
        return False
    if not can_transition(version.status, target):
        raise PlanStateError(
            f"v{version.number} is {version.get_status_display().lower()}; only {only}."
        )
    return True


def actor_text(actor: Actor) -> str:
    return str(actor)[:150]
