"""Drafts: the version number, the track, creating, editing and discarding a draft, proposing a
new master envelope with it, importing an approved plan."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.chain import sha256_of
from audit.services import audit_event_append
from config.text import REASON_MAX, clean_text
from config.transactions import within_transaction
from plans.classify import Classification
from plans.envelope import clean_master_change, proposed_caps
from plans.errors import PlanError, PlanStateError
from plans.models import (
    PlanKind,
    PlanStatus,
    PlanTrigger,
    PlanVersion,
    PlanVersionCounter,
    Track,
    validate_track_key,
)
from plans.schema import money_text
from plans.selectors import master_plan_for, track_classify
from plans.services._common import (
    actor_text,
    lock_version,
    policy_of,
    transition_needed,
    validated,
)
from plans.services.transitions import plan_version_approve_within, track_closure_lock
from tenants.models import Tenant


@within_transaction
def _claim_number(tenant_id: int) -> int:
    """The tenant's next version number, claimed in the caller's transaction.

    UPDATE … RETURNING locks the counter row until the transaction ends, so concurrent writers
    queue and each gets the next integer; a rolled-back insert rolls the counter back with it, so
    no number is ever skipped. On SQLite the IMMEDIATE transaction already serialises writers.
    """
    table = PlanVersionCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET last_number = last_number + 1 WHERE tenant_id = %s "
            "RETURNING last_number",
            [tenant_id],
        )
        row = cursor.fetchone()
    if row is None:
        PlanVersionCounter.objects.bulk_create(
            [PlanVersionCounter(tenant_id=tenant_id, last_number=0)], ignore_conflicts=True
        )
        return _claim_number(tenant_id)
    return row[0]


@within_transaction
def plan_version_counter_lock(*, tenant_id: int) -> None:
    """Lock the tenant's version counter without claiming a number: a transaction that may draft
    a version after it has written its first audit event (a decision on a recommendation) takes
    the counter first, as every drafting transaction does (config/locks.py)."""
    PlanVersionCounter.objects.bulk_create(
        [PlanVersionCounter(tenant_id=tenant_id, last_number=0)], ignore_conflicts=True
    )
    list(PlanVersionCounter.objects.select_for_update().filter(tenant_id=tenant_id).values("pk"))


def _check_kind(classification: Classification, kind: str) -> None:
    if not classification.accepts(kind):
        raise PlanError(classification.contradiction(kind), code="kind_contradicts_classifier")


def _clean_kind(kind: str) -> str:
    if kind not in PlanKind.values:
        raise PlanError(
            f"kind is one of {', '.join(PlanKind.values)}, not {kind!r}.",
            code="invalid_kind",
            fields={"kind": [f"one of {', '.join(PlanKind.values)}"]},
        )
    return kind


def _clean_reason(reason: str | None) -> str:
    return clean_text(reason, name="reason", max_length=REASON_MAX)


@within_transaction
def track_ensure(*, tenant: Tenant, key: str, actor: Actor) -> Track:
    """The tenant's track `key`, created (and audited) on first use."""
    try:
        validate_track_key(key)
    except ValidationError as exc:
        raise PlanError(
            f"{key!r} is not a track: always_on, branding, engagement or event_<slug>.",
            code="invalid_track",
        ) from exc
    track = Track.objects.filter(tenant=tenant, key=key).first()
    if track is not None:
        return track
    Track.objects.bulk_create([Track(tenant=tenant, key=key)], ignore_conflicts=True)
    track = Track.objects.get(tenant=tenant, key=key)
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action=AuditAction.TRACK_CREATED,
        resource=track,
        data={"key": key},
    )
    return track


@transaction.atomic(durable=True)
def plan_version_create_draft(
    *,
    tenant: Tenant,
    track_key: str,
    kind: str,
    payload: Any,
    actor: Actor,
    reason: str = "",
    trigger: str = PlanTrigger.PLANNER,
    master_change: dict | None = None,
    drift_pct_by_channel: dict[str, Decimal] | None = None,
) -> PlanVersion:
    """A new draft vN+1 on `track_key`, from the track's current approved version.

    The kind must agree with the classifier (a new channel filed as a revise is refused, with the
    classifier's reason). The number is claimed in this transaction: no gap, no duplicate.
    """
    return plan_version_create_draft_within(
        tenant=tenant,
        track_key=track_key,
        kind=kind,
        payload=payload,
        actor=actor,
        reason=reason,
        trigger=trigger,
        master_change=master_change,
        drift_pct_by_channel=drift_pct_by_channel,
    )


@within_transaction
def plan_version_create_draft_within(
    *,
    tenant: Tenant,
    track_key: str,
    kind: str,
    payload: Any,
    actor: Actor,
    reason: str = "",
    trigger: str = PlanTrigger.PLANNER,
    master_change: dict | None = None,
    drift_pct_by_channel: dict[str, Decimal] | None = None,
    carried_from: PlanVersion | None = None,
    carry_collisions: list[dict] | None = None,
) -> PlanVersion:
    """plan_version_create_draft as a step of a bigger transaction (a recommendation's draft, an
    imported plan, an outdated version carried forward: `carried_from`, with the changes of it
    that collided with the current version)."""
    # Long on purpose: validation, the version number claimed first (the lock order), the
    # classifier's kind check and the draft's record; most of the length is the record's fields.
    _clean_kind(kind)
    if trigger not in PlanTrigger.values:
        raise PlanError(f"Unknown trigger {trigger!r}.", code="invalid_trigger")
    reason = _clean_reason(reason)
    canonical = validated(payload)
    master_change = clean_master_change(master_change)
    # The number first: every writer takes the counter row before anything else and before the
    # audit chain head (config/locks.py), so concurrent drafts never deadlock. A refusal below
    # rolls the counter back with everything else.
    number = _claim_number(tenant.pk)
    track = track_ensure(tenant=tenant, key=track_key, actor=actor)
    # No lock on the track: the audit chain head may already be ours (track_ensure), and the
    # head comes after the track in the lock order. A parent that stops being current meanwhile
    # is caught at submit and at approval (stale_parent).
    track = Track.objects.select_related("current_version").get(pk=track.pk)
    classification = track_classify(
        track=track,
        track_key=track.key,
        payload=canonical,
        policy=policy_of(tenant),
        drift_pct_by_channel=drift_pct_by_channel,
    )
    if carried_from is None or classification.accepted_kinds:
        # A carried-forward draft whose changes all collided is the current plan again: the
        # planner edits it into what they meant (an edit checks the kind).
        _check_kind(classification, kind)
    version = PlanVersion.objects.create(
        tenant=tenant,
        track=track,
        number=number,
        kind=kind,
        status=PlanStatus.DRAFT,
        parent=track.current_version,
        payload=canonical,
        payload_hash=sha256_of(canonical),
        path=classification.path.value,
        path_reason=classification.reason,
        trigger=trigger,
        reason=reason,
        master_change=master_change,
        created_by=actor_text(actor),
        drafted_by_user=actor.user if actor.is_person else None,
        carried_from=carried_from,
        carry_collisions=carry_collisions or [],
    )
    _audit_drafted(version, actor)
    return version


def _audit_drafted(version: PlanVersion, actor: Actor) -> None:
    audit_event_append(
        tenant=version.tenant,
        actor=actor,
        action=AuditAction.PLAN_VERSION_DRAFTED,
        resource=version,
        plan_version=version.number,
        payload=version.payload,
        data={
            "track": version.track.key,
            "kind": version.kind,
            "path": version.path,
            "path_reason": version.path_reason,
            "parent": version.parent.number if version.parent else None,
            "trigger": version.trigger,
            "reason": version.reason,
            "master_change": version.master_change,
            **(
                {
                    "carried_from": version.carried_from.number,
                    "collisions": [c["what"] for c in version.carry_collisions],
                }
                if version.carried_from_id
                else {}
            ),
        },
    )


# What an edit rewrites on a draft.
EDITED_FIELDS = (
    "edited_by_user",
    "payload",
    "payload_hash",
    "kind",
    "path",
    "path_reason",
    "reason",
    "master_change",
    "parent",
)


@transaction.atomic(durable=True)
def plan_version_edit(
    *,
    version: PlanVersion,
    payload: Any,
    actor: Actor,
    kind: str | None = None,
    reason: str | None = None,
    master_change: dict | None = None,
) -> PlanVersion:
    """Replace a draft's payload (and optionally its kind, reason, master-level change). Editing
    rebases the draft on the track's current version."""
    version = lock_version(version)
    if not version.is_editable:
        raise PlanStateError(
            f"v{version.number} is {version.get_status_display().lower()}; only drafts are "
            "editable."
        )
    canonical = validated(payload)
    kind = _clean_kind(kind or version.kind)
    track = Track.objects.select_related("current_version").get(pk=version.track_id)
    classification = track_classify(
        track=track, track_key=track.key, payload=canonical, policy=policy_of(version.tenant)
    )
    _check_kind(classification, kind)
    cleaned_master = (
        clean_master_change(master_change) if master_change is not None else version.master_change
    )
    new_hash = sha256_of(canonical)
    new_reason = version.reason if reason is None else _clean_reason(reason)
    unchanged = (new_hash, kind, new_reason, cleaned_master, track.current_version_id) == (
        version.payload_hash,
        version.kind,
        version.reason,
        version.master_change,
        version.parent_id,
    )
    if unchanged:
        return version
    version.payload, version.payload_hash, version.kind = canonical, new_hash, kind
    version.path, version.path_reason = classification.path.value, classification.reason
    version.reason, version.master_change = new_reason, cleaned_master
    version.parent = track.current_version
    version.edited_by_user = actor.user if actor.is_person else None
    version.save(update_fields=[*EDITED_FIELDS, "updated_at"])
    audit_event_append(
        tenant=version.tenant,
        actor=actor,
        action=AuditAction.PLAN_VERSION_EDITED,
        resource=version,
        plan_version=version.number,
        payload=canonical,
        data={"kind": kind, "path": classification.path.value, "reason": new_reason},
    )
    return version


@transaction.atomic(durable=True)
def plan_version_discard(*, version: PlanVersion, actor: Actor, note: str = "") -> PlanVersion:
    """A planner drops a draft for good. It stays in its track's history as discarded, and its
    number stays used (numbers are never reused). A version pending approval is withdrawn first,
    so no open ticket is ever left about a discarded version. Discarding twice is a no-op."""
    version = lock_version(version)
    hint = (
        ": withdraw it from approval first" if version.status == PlanStatus.PENDING_APPROVAL else ""
    )
    if not transition_needed(version, PlanStatus.DISCARDED, only=f"a draft can be discarded{hint}"):
        return version
    note = clean_text(note, name="reason", max_length=REASON_MAX)
    version.status = PlanStatus.DISCARDED
    version.discarded_at, version.discarded_by = timezone.now(), actor_text(actor)
    version.save(update_fields=["status", "discarded_at", "discarded_by", "updated_at"])
    audit_event_append(
        tenant=version.tenant,
        actor=actor,
        action=AuditAction.PLAN_VERSION_DISCARDED,
        resource=version,
        plan_version=version.number,
        data={"track": version.track.key, "note": note},
    )
    return version


def _amounts(amounts: dict[str, Any]) -> dict[str, Decimal]:
    return {key: Decimal(str(amount)) for key, amount in amounts.items()}


@transaction.atomic(durable=True)
def plan_version_propose_envelope(
    *, version: PlanVersion, master_change: dict | None, actor: Actor
) -> PlanVersion:
    """Propose a new master envelope (total and track caps) with a draft, or take the proposal
    back (`master_change` None). It goes through the version's own approval: submitting asks
    the client too, and approving the version applies it (transitions.py). Whoever proposes it
    becomes the draft's last editor, so four eyes keeps them from approving it."""
    version = lock_version(version)
    if not version.is_editable:
        raise PlanStateError(
            f"v{version.number} is {version.get_status_display().lower()}; only a draft can "
            "propose a new master envelope."
        )
    cleaned = clean_master_change(master_change)
    master = master_plan_for(version.tenant, version.payload)
    if cleaned is not None and master is None:
        raise PlanError(
            f"No master envelope covers v{version.number}, which starts on "
            f"{version.payload['start']}: there is no envelope to change.",
            code="no_master_plan",
        )
    if cleaned is not None and _amounts(
        {"": cleaned["total_budget"], **proposed_caps(master, cleaned)}
    ) == _amounts({"": master.total_budget, **master.track_caps}):
        raise PlanError(
            "That is the envelope as it stands: change the total or a track cap.",
            code="invalid_master_change",
        )
    if cleaned == version.master_change:
        return version
    version.master_change = cleaned
    version.edited_by_user = actor.user if actor.is_person else None
    version.save(update_fields=["master_change", "edited_by_user", "updated_at"])
    audit_event_append(
        tenant=version.tenant,
        actor=actor,
        action=AuditAction.PLAN_VERSION_ENVELOPE_PROPOSED,
        resource=version,
        plan_version=version.number,
        data={
            "master_plan": master.pk if master else None,
            "now": (
                {"total_budget": money_text(master.total_budget), "track_caps": master.track_caps}
                if master
                else None
            ),
            "proposed": cleaned,
        },
    )
    return version


@transaction.atomic(durable=True)
def plan_version_import_approved(
    *,
    tenant: Tenant,
    track_key: str,
    kind: str,
    payload: Any,
    actor: Actor,
    approved_by: str,
    reason: str = "",
    trigger: str = PlanTrigger.SEED,
) -> PlanVersion:
    """Record a plan that was approved outside Human Touch (onboarding an existing client, the
    demo world): drafted and approved in one step, superseding the track's current version. The
    audit log says it was imported and by whom; no ticket is involved."""
    # The track, its current version and the envelope are locked before the draft's first audit
    # event takes the chain head (config/locks.py); the new version itself is nobody else's yet.
    track_closure_lock(tenant=tenant, track_key=track_key, payload=payload)
    version = plan_version_create_draft_within(
        tenant=tenant,
        track_key=track_key,
        kind=kind,
        payload=payload,
        actor=actor,
        reason=reason,
        trigger=trigger,
    )
    version = lock_version(version)
    version.status = PlanStatus.PENDING_APPROVAL
    version.submitted_at, version.submitted_by = timezone.now(), actor_text(actor)
    version.save(update_fields=["status", "submitted_at", "submitted_by", "updated_at"])
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action=AuditAction.PLAN_VERSION_IMPORTED,
        resource=version,
        plan_version=version.number,
        payload=version.payload,
        data={"approved_outside_by": approved_by, "track": track_key, "kind": kind},
    )
    return plan_version_approve_within(version=version, actor=actor)
