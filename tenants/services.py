from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.transactions import within_transaction
from tenants.compliance import vertical_default_profile
from tenants.models import (
    KnownLoginAddress,
    LockoutKind,
    LoginLockout,
    Membership,
    Tenant,
    TenantPolicy,
)
from tenants.policy import FLAT_DEFAULTS


@transaction.atomic(durable=True)
def tenant_create(
    *,
    slug: str,
    name: str,
    vertical: str,
    country: str,
    time_zone: str,
    actor: Actor,
    policy: dict[str, Any] | None = None,
) -> Tenant:
    return tenant_create_within(
        slug=slug,
        name=name,
        vertical=vertical,
        country=country,
        time_zone=time_zone,
        actor=actor,
        policy=policy,
    )


@within_transaction
def tenant_create_within(
    *,
    slug: str,
    name: str,
    vertical: str,
    country: str,
    time_zone: str,
    actor: Actor,
    policy: dict[str, Any] | None = None,
) -> Tenant:
    """tenant_create inside Django admin's change form transaction."""
    tenant = Tenant(
        slug=slug, name=name, vertical=vertical, country=country.upper(), time_zone=time_zone
    )
    tenant.full_clean()
    tenant.save()
    _raise_unknown_policy_keys(policy or {})
    # A health or finance tenant starts with its vertical's strict profile (tenants/compliance.py).
    values = {
        **FLAT_DEFAULTS,
        "vertical_compliance_profile": vertical_default_profile(vertical),
        **(policy or {}),
    }
    tenant_policy = TenantPolicy(tenant=tenant, **values)
    tenant_policy.full_clean()  # the fields' own checks and policy_errors, as on an update
    _attribute_history(tenant_policy, actor, "created")
    tenant_policy.save()
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action=AuditAction.TENANT_CREATED,
        resource=tenant,
        data={
            "slug": slug,
            "name": name,
            "vertical": vertical,
            "country": tenant.country,
            "time_zone": time_zone,
            "policy": values,
        },
    )
    return tenant


@transaction.atomic(durable=True)
def membership_set(*, tenant: Tenant, user, role: str, actor: Actor) -> Membership:
    """Give `user` `role` in `tenant` (one role per tenant: an existing role is replaced)."""
    return membership_set_within(tenant=tenant, user=user, role=role, actor=actor)


@within_transaction
def membership_set_within(*, tenant: Tenant, user, role: str, actor: Actor) -> Membership:
    """membership_set inside Django admin's change form transaction."""
    membership = Membership.objects.select_for_update().filter(tenant=tenant, user=user).first()
    before = membership.role if membership else None
    if membership is None:
        membership = Membership(tenant=tenant, user=user, role=role)
        membership.full_clean(validate_unique=False)
        membership.save()
    elif membership.role != role:
        membership.role = role
        membership.full_clean(validate_unique=False)
        membership.save(update_fields=["role"])
    else:
        return membership
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action=AuditAction.MEMBERSHIP_SET,
        resource=membership,
        data={"user": user.get_username(), "role": role, "previous_role": before},
    )
    return membership


@transaction.atomic(durable=True)
def membership_remove(*, membership: Membership, actor: Actor) -> None:
    """Take a person out of a tenant. The audit event keeps who held which role."""
    return membership_remove_within(membership=membership, actor=actor)


@within_transaction
def membership_remove_within(*, membership: Membership, actor: Actor) -> None:
    """membership_remove inside Django admin's delete page transaction."""
    locked = Membership.objects.select_for_update().filter(pk=membership.pk).first()
    if locked is None:
        return  # already removed
    audit_event_append(
        tenant=locked.tenant_id,
        actor=actor,
        action=AuditAction.MEMBERSHIP_REMOVED,
        resource=locked,
        data={"user": locked.user.get_username(), "role": locked.role},
    )
    locked.delete()


TENANT_EDITABLE_FIELDS = ("name", "vertical", "country", "time_zone")


@transaction.atomic(durable=True)
def tenant_update(*, tenant: Tenant, actor: Actor, changes: dict[str, Any]) -> Tenant:
    """Change a tenant's name, vertical, country or time zone (the slug names it for good)."""
    return tenant_update_within(tenant=tenant, actor=actor, changes=changes)


@within_transaction
def tenant_update_within(*, tenant: Tenant, actor: Actor, changes: dict[str, Any]) -> Tenant:
    """tenant_update inside Django admin's change form transaction."""
    unknown = sorted(set(changes) - set(TENANT_EDITABLE_FIELDS))
    if unknown:
        raise ValidationError({key: f"{key} can't be changed here" for key in unknown})
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    before = {key: getattr(locked, key) for key in TENANT_EDITABLE_FIELDS}
    for key, value in changes.items():
        setattr(locked, key, value.upper() if key == "country" else value)
    locked.full_clean()
    changed = {
        key: {"from": before[key], "to": getattr(locked, key)}
        for key in TENANT_EDITABLE_FIELDS
        if before[key] != getattr(locked, key)
    }
    if not changed:
        return locked
    locked.save(update_fields=list(changed))
    audit_event_append(
        tenant=locked,
        actor=actor,
        action=AuditAction.TENANT_UPDATED,
        resource=locked,
        data={"changes": changed},
    )
    return locked


def _attribute_history(policy: TenantPolicy, actor: Actor, verb: str) -> None:
    """Who the history row names: outside a request (commands, agents) the middleware can't."""
    policy._change_reason = f"{verb} by {actor}"
    if actor.user is not None:
        policy._history_user = actor.user


def _raise_unknown_policy_keys(values: dict[str, Any]) -> None:
    unknown = sorted(set(values) - set(FLAT_DEFAULTS))
    if unknown:
        raise ValidationError({key: f"{key} is not a policy key" for key in unknown})


@transaction.atomic(durable=True)
def tenant_policy_update(*, tenant: Tenant, actor: Actor, changes: dict[str, Any]) -> TenantPolicy:
    """Change policy keys. A looser loop or cost policy is refused, naming the key and ceiling."""
    return tenant_policy_update_within(tenant=tenant, actor=actor, changes=changes)


@within_transaction
def tenant_policy_update_within(
    *, tenant: Tenant, actor: Actor, changes: dict[str, Any]
) -> TenantPolicy:
    """tenant_policy_update inside Django admin's change form transaction."""
    _raise_unknown_policy_keys(changes)
    policy = TenantPolicy.objects.select_for_update().get(tenant=tenant)
    before = policy.values()
    for key, value in changes.items():
        setattr(policy, key, value)
    policy.full_clean()
    after = policy.values()
    changed = {k: {"from": before[k], "to": after[k]} for k in after if before[k] != after[k]}
    if not changed:
        return policy
    _attribute_history(policy, actor, "changed")
    policy.save()
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action=AuditAction.POLICY_UPDATED,
        resource=policy,
        data={"changes": changed},
    )
    return policy


@transaction.atomic(durable=True)
def user_ensure(
    *,
    username: str,
    password: str,
    email: str = "",
    is_superuser: bool = False,
    is_staff: bool = False,
):
    """Create the user if missing (demo and set-up); an existing user is left as it is. A staff
    user who is not a superuser reaches Django admin only for the tenants it administers."""
    User = get_user_model()
    user, created = User.objects.get_or_create(
        username=username,
        defaults={
            "email": email,
            "is_staff": is_staff or is_superuser,
            "is_superuser": is_superuser,
        },
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


# --- Login lockouts (tenants/throttle.py) --------------------------------------------------------
THROTTLE_ACTOR = Actor.system("login-throttle")


def _lockout_audit_data(lockout: LoginLockout) -> dict:
    return {
        "username": lockout.username,
        "address": lockout.ip_address,
        "kind": lockout.kind,
        "failures": lockout.failures,
        "until": lockout.expires_at.isoformat(),
    }


@transaction.atomic(durable=True)
def login_lockout_record(
    *, username: str, ip_address: str, kind: str, failures: int
) -> LoginLockout | None:
    """Record a lockout the throttle decided (once per lockout, however often the person is
    refused during it) and audit it in every tenant of the person it keeps out.

    An address lockout is recorded once without a username, and again for each known person it
    refuses. Usernames nobody holds are not recorded one by one (a spraying attack tries
    thousands). Returns the new lockout, or None when this one was already recorded.
    """
    now = timezone.now()
    user = get_user_model().objects.select_for_update().filter(username=username).first()
    if user is None:
        username = ""
        if kind == LockoutKind.USERNAME:
            return None  # the address rule will catch a run of unknown usernames
    open_ = LoginLockout.objects.filter(
        kind=kind,
        username=username,
        ip_address=ip_address,
        lifted_at__isnull=True,
        expires_at__gt=now,
    )
    if open_.exists():
        return None
    lockout = LoginLockout.objects.create(
        kind=kind,
        username=username,
        ip_address=ip_address,
        failures=failures,
        locked_at=now,
        expires_at=now + settings.AXES_COOLOFF_TIME,
    )
    if user is not None:
        for tenant_id in Membership.objects.filter(user=user).values_list("tenant_id", flat=True):
            audit_event_append(
                tenant=tenant_id,
                actor=THROTTLE_ACTOR,
                action=AuditAction.LOGIN_LOCKED_OUT,
                resource=lockout,
                data=_lockout_audit_data(lockout),
            )
    return lockout


@transaction.atomic(durable=True)
def login_lockout_lift(*, tenant: Tenant, lockout: LoginLockout, actor: Actor) -> bool:
    """Let the person in again now. A username lockout forgets the failures of that username
    from that address; an address lockout lets this person in from it (their pair becomes
    known) while the address stays locked for everyone else. False if it had already ended."""
    locked = LoginLockout.objects.select_for_update().get(pk=lockout.pk)
    now = timezone.now()
    if locked.lifted_at is not None or locked.expires_at <= now or not locked.username:
        return False
    if locked.kind == LockoutKind.USERNAME:
        AccessAttempt.objects.filter(
            username=locked.username, ip_address=locked.ip_address
        ).delete()
    else:
        KnownLoginAddress.objects.get_or_create(
            username=locked.username,
            ip_address=locked.ip_address,
            defaults={"first_seen_at": now, "last_seen_at": now},
        )
    locked.lifted_at = now
    locked.lifted_by = actor.user
    locked.save(update_fields=["lifted_at", "lifted_by"])
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action=AuditAction.LOGIN_LOCKOUT_LIFTED,
        resource=locked,
        data=_lockout_audit_data(locked),
    )
    return True
