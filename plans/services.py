"""The only writers of tracks, plan versions and the master envelope.

Lifecycle (DESIGN.md "Plans, tracks and versions"): a draft vN+1 is created from the track's
current version (by a planner, an agent through the API or a revise recommendation), edited while
it is a draft, submitted (A1 for a first plan, A5 for a revise/replan, plus A7 compliance when
messaging, creative themes or the objective change or the tenant's profile is strict), and
approved once every ticket about it is approved: in one transaction vN is superseded, vN+1 becomes
the track's current version and the remaining delta against the live manifest is recorded.
Reject, request changes and withdraw end or return the draft. Every write is audited with the
version's number.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from approvals.selectors import subject_blocking_tickets
from approvals.services import ticket_cancel, ticket_open
from audit.actors import Actor
from audit.chain import sha256_of
from audit.services import audit_event_append
from plans.classify import Verdict, classify_change
from plans.diff import manifest_diff, plan_diff
from plans.models import (
    MasterPlan,
    PlanKind,
    PlanStatus,
    PlanTrigger,
    PlanVersion,
    PlanVersionCounter,
    Track,
    can_transition,
    validate_track_key,
)
from plans.schema import PayloadInvalid, canonical_payload, money_text, parse_payload
from plans.summary import plan_revise_summary, ticket_diff_preview
from tenants.models import Role, Tenant, TenantPolicy

SUBJECT_TYPE = "plan_version"
STRICT_PROFILE_SUFFIX = "_strict"
MAX_AMOUNT = Decimal("1000000000000")  # the payload schema's bound for any budget


class PlanError(Exception):
    """A plan rule the caller broke; `code` names it for the API, the message says why."""

    code = "plan_error"
    status = 422

    def __init__(self, message: str, *, code: str | None = None, errors: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or [message]
        if code:
            self.code = code


class PlanStateError(PlanError):
    """The version is not in a status that allows this (e.g. editing an approved version)."""

    code = "invalid_status"
    status = 409


# --- Helpers -------------------------------------------------------------------------------------


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


def _validated(payload: Any) -> dict:
    try:
        return canonical_payload(payload)
    except PayloadInvalid as exc:
        raise PlanError(
            "The plan payload is invalid: " + "; ".join(exc.errors),
            code="invalid_payload",
            errors=exc.errors,
        ) from None


def _policy(tenant: Tenant) -> TenantPolicy:
    return TenantPolicy.objects.get(tenant=tenant)


def _lock_version(version: PlanVersion) -> PlanVersion:
    return (
        PlanVersion.objects.select_for_update(of=("self",))
        .select_related("track", "tenant", "parent")
        .get(pk=version.pk)
    )


def _actor_text(actor: Actor) -> str:
    return str(actor)[:150]


def track_classify(
    *,
    track: Track | None,
    track_key: str,
    payload: Any,
    policy: TenantPolicy | None = None,
    drift_pct_by_channel: dict[str, Decimal] | None = None,
) -> Verdict:
    """The classifier's verdict for `payload` proposed on a track (what the editor shows live).

    `drift_pct_by_channel` is the evidence of a drift recommendation (the revise-trigger scan)."""
    current = track.current_version.payload if track and track.current_version_id else None
    kwargs: dict[str, Any] = {"drift_pct_by_channel": drift_pct_by_channel}
    if policy is not None:
        kwargs["optimization_pct"] = policy.auto_approve_optimization_under_pct
        kwargs["drift_pct"] = policy.drift_pct
    return classify_change(track=track_key, current=current, proposed=payload, **kwargs)


def _check_kind(verdict: Verdict, kind: str) -> None:
    if not verdict.accepts(kind):
        raise PlanError(verdict.contradiction(kind), code="kind_contradicts_classifier")


# --- Master envelope -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EnvelopeCheck:
    master: MasterPlan | None
    track_total: Decimal
    tenant_total: Decimal
    problems: tuple[str, ...]

    @property
    def breaks(self) -> bool:
        return bool(self.problems)


def master_plan_for(tenant: Tenant, payload: dict) -> MasterPlan | None:
    start = parse_payload(payload).start
    return MasterPlan.objects.filter(
        tenant=tenant, period_start__lte=start, period_end__gte=start
    ).first()


def envelope_check(
    *, tenant: Tenant, track: Track, payload: dict, master_change: dict | None = None
) -> EnvelopeCheck:
    """Would `payload` as the track's plan fit the master envelope (or the proposed new one)?

    Counted: the current approved plan of every other track in the tenant plus this payload.
    """
    master = master_plan_for(tenant, payload)
    track_total = parse_payload(payload).total_budget
    if master is None:
        return EnvelopeCheck(None, track_total, track_total, ())
    others = (
        Track.objects.filter(tenant=tenant, current_version__isnull=False)
        .exclude(pk=track.pk)
        .select_related("current_version")
    )
    tenant_total = track_total + sum(
        (parse_payload(t.current_version.payload).total_budget for t in others), Decimal("0")
    )
    total = Decimal(str(master_change["total_budget"])) if master_change else master.total_budget
    caps = (
        master_change.get("track_caps", master.track_caps) if master_change else master.track_caps
    )
    cap = caps.get(track.key)
    problems = []
    if tenant_total > total:
        problems.append(
            f"all tracks together would plan {money_text(tenant_total)} {master.currency}, "
            f"above the master envelope of {money_text(total)}"
        )
    if cap is not None and track_total > Decimal(str(cap)):
        problems.append(
            f"{track.key} would plan {money_text(track_total)} {master.currency}, above its cap "
            f"of {money_text(Decimal(str(cap)))}"
        )
    return EnvelopeCheck(master, track_total, tenant_total, tuple(problems))


def _clean_master_change(master_change: dict | None) -> dict | None:
    if master_change is None:
        return None
    if not isinstance(master_change, dict) or "total_budget" not in master_change:
        raise PlanError(
            "A master-level change is {total_budget, track_caps}.", code="invalid_master_change"
        )
    try:
        total = Decimal(str(master_change["total_budget"]))
        caps = master_change.get("track_caps") or {}
        if not isinstance(caps, dict):
            raise TypeError("track_caps must map a track to its cap")
        for key in caps:
            validate_track_key(key)
        amounts = {key: Decimal(str(cap)) for key, cap in caps.items()}
    except (ArithmeticError, ValueError, TypeError, ValidationError) as exc:
        raise PlanError(
            f"The master-level change has an invalid amount or track ({exc}).",
            code="invalid_master_change",
        ) from None
    if any(
        not amount.is_finite() or not 0 <= amount <= MAX_AMOUNT
        for amount in [total, *amounts.values()]
    ):
        raise PlanError(
            f"Master envelope amounts must be between 0 and {MAX_AMOUNT:,}.",
            code="invalid_master_change",
        )
    return {
        "total_budget": money_text(total),
        "track_caps": {key: money_text(amount) for key, amount in amounts.items()},
    }


@transaction.atomic
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
    """Create or replace the envelope of a period (set-up and demo; revisions go through a plan
    version's master-level change)."""
    cleaned = _clean_master_change({"total_budget": total_budget, "track_caps": track_caps})
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
        action="master_plan.set",
        resource=master,
        data={"period_start": period_start, **values},
    )
    return master


# --- Tracks and drafts ---------------------------------------------------------------------------


def track_ensure(*, tenant: Tenant, key: str, actor: Actor) -> Track:
    """The tenant's track `key`, created (and audited) on first use."""
    with transaction.atomic(savepoint=False):
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
            tenant=tenant, actor=actor, action="track.created", resource=track, data={"key": key}
        )
        return track


@transaction.atomic
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
    if kind not in PlanKind.values:
        raise PlanError(
            f"kind is one of {', '.join(PlanKind.values)}, not {kind!r}.", code="invalid_kind"
        )
    if trigger not in PlanTrigger.values:
        raise PlanError(f"Unknown trigger {trigger!r}.", code="invalid_trigger")
    canonical = _validated(payload)
    master_change = _clean_master_change(master_change)
    # The number first: every writer then takes the counter row before the audit chain head
    # (track_ensure may append an audit event), one lock order, so concurrent drafts never
    # deadlock. A refusal below rolls the counter back with everything else.
    number = _claim_number(tenant.pk)
    track = track_ensure(tenant=tenant, key=track_key, actor=actor)
    # No lock on the track: the audit chain head is always locked before a track (a ticket
    # decision approving a version holds the head, then locks the track), so taking the track
    # first here could deadlock. A parent that stops being current meanwhile is caught at submit
    # and at approval (stale_parent).
    track = Track.objects.select_related("current_version").get(pk=track.pk)
    verdict = track_classify(
        track=track,
        track_key=track.key,
        payload=canonical,
        policy=_policy(tenant),
        drift_pct_by_channel=drift_pct_by_channel,
    )
    _check_kind(verdict, kind)
    version = PlanVersion.objects.create(
        tenant=tenant,
        track=track,
        number=number,
        kind=kind,
        status=PlanStatus.DRAFT,
        parent=track.current_version,
        payload=canonical,
        payload_hash=sha256_of(canonical),
        path=verdict.path.value,
        path_reason=verdict.reason,
        trigger=trigger,
        reason=(reason or "").strip(),
        master_change=master_change,
        created_by=_actor_text(actor),
    )
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action="plan_version.drafted",
        resource=version,
        plan_version=version.number,
        payload=canonical,
        data={
            "track": track.key,
            "kind": kind,
            "path": verdict.path.value,
            "path_reason": verdict.reason,
            "parent": track.current_version.number if track.current_version else None,
            "trigger": trigger,
            "reason": version.reason,
            "master_change": master_change,
        },
    )
    return version


@transaction.atomic
def plan_version_edit(
    *,
    version: PlanVersion,
    payload: Any,
    actor: Actor,
    kind: str | None = None,
    reason: str | None = None,
    master_change: dict | None = None,
) -> PlanVersion:
    """Replace a draft's payload (and optionally its kind, reason, master-level change)."""
    version = _lock_version(version)
    if not version.is_editable:
        raise PlanStateError(
            f"v{version.number} is {version.get_status_display().lower()}; only drafts are "
            "editable."
        )
    canonical = _validated(payload)
    kind = kind or version.kind
    if kind not in PlanKind.values:
        raise PlanError(f"kind is one of {', '.join(PlanKind.values)}.", code="invalid_kind")
    track = Track.objects.select_related("current_version").get(pk=version.track_id)
    verdict = track_classify(
        track=track, track_key=track.key, payload=canonical, policy=_policy(version.tenant)
    )
    _check_kind(verdict, kind)
    cleaned_master = (
        _clean_master_change(master_change) if master_change is not None else version.master_change
    )
    new_hash = sha256_of(canonical)
    new_reason = version.reason if reason is None else reason.strip()
    if (
        new_hash == version.payload_hash
        and kind == version.kind
        and new_reason == version.reason
        and cleaned_master == version.master_change
    ):
        return version
    version.payload, version.payload_hash, version.kind = canonical, new_hash, kind
    version.path, version.path_reason = verdict.path.value, verdict.reason
    version.reason, version.master_change = new_reason, cleaned_master
    version.parent = track.current_version
    version.save(
        update_fields=[
            "payload",
            "payload_hash",
            "kind",
            "path",
            "path_reason",
            "reason",
            "master_change",
            "parent",
            "updated_at",
        ]
    )
    audit_event_append(
        tenant=version.tenant,
        actor=actor,
        action="plan_version.edited",
        resource=version,
        plan_version=version.number,
        payload=canonical,
        data={"kind": kind, "path": verdict.path.value, "reason": new_reason},
    )
    return version


# --- Submit: which tickets, which roles ----------------------------------------------------------


@dataclass(frozen=True)
class ApprovalNeeds:
    ticket_type: str  # A1 or A5
    required_roles: tuple[str, ...]
    client_reasons: tuple[str, ...]
    compliance_reasons: tuple[str, ...]
    envelope: EnvelopeCheck


def approval_needs(
    *, version: PlanVersion, policy: TenantPolicy, diff: dict | None = None
) -> ApprovalNeeds:
    """Which tickets a submitted version opens and who must approve them (seed 000 "Human
    touchpoints", seed 003 A1/A5/A7): read by submit and shown by the version page, which pass
    the parent → version diff they already computed."""
    parent_payload = version.parent.payload if version.parent_id else None
    diff = diff if diff is not None else plan_diff(parent_payload, version.payload)
    client_reasons = []
    if version.kind == PlanKind.REPLAN:
        client_reasons.append("a full replan needs the client's sign-off")
    before_total = Decimal(diff["totals"]["before"])
    after_total = Decimal(diff["totals"]["after"])
    if parent_payload is not None and after_total > before_total:
        rise_pct = (after_total - before_total) / before_total * 100 if before_total else None
        threshold = policy.client_budget_increase_threshold_pct
        if policy.client_must_approve_budget_increase and (
            rise_pct is None or rise_pct > threshold
        ):
            client_reasons.append(
                f"the budget rises {diff['totals']['change_pct'] or 'from zero'}%, above the "
                f"client threshold of {threshold}%"
            )
    envelope = envelope_check(
        tenant=version.tenant,
        track=version.track,
        payload=version.payload,
        master_change=version.master_change,
    )
    if version.master_change:
        client_reasons.append("the master budget envelope changes")

    compliance = []
    if policy.vertical_compliance_profile.endswith(STRICT_PROFILE_SUFFIX):
        compliance.append(
            f"the tenant's compliance profile is {policy.vertical_compliance_profile}"
        )
    if parent_payload is None:
        if version.payload.get("messaging") or version.payload.get("creative_themes"):
            compliance.append("new messaging and creative themes")
    else:
        if diff["messaging"]:
            compliance.append("the messaging changes")
        if diff["creative_themes"]["added"] or diff["creative_themes"]["removed"]:
            compliance.append("the creative themes change")
        if diff["objective"]:
            compliance.append("the objective changes")
    roles = [Role.PLANNER.value] + ([Role.CLIENT.value] if client_reasons else [])
    return ApprovalNeeds(
        ticket_type="A5" if version.parent_id else "A1",
        required_roles=tuple(roles),
        client_reasons=tuple(client_reasons),
        compliance_reasons=tuple(compliance),
        envelope=envelope,
    )


def ticket_preview(version: PlanVersion, *, diff: dict | None = None) -> dict:
    """The diff preview for the version's tickets: client summary, budget table, raw diff."""
    parent_payload = version.parent.payload if version.parent_id else None
    return ticket_diff_preview(plan_revise_summary(parent_payload, version.payload, diff=diff))


@transaction.atomic
def plan_version_submit(*, version: PlanVersion, actor: Actor) -> PlanVersion:
    """Send a draft for approval: opens A1 (first plan) or A5 (revise/replan) and, when needed,
    A7 compliance. Submitting a version already pending is a no-op."""
    version = _lock_version(version)
    if version.status == PlanStatus.PENDING_APPROVAL:
        return version
    if not can_transition(version.status, PlanStatus.PENDING_APPROVAL):
        raise PlanStateError(
            f"v{version.number} is {version.get_status_display().lower()}; only a draft can be "
            "submitted."
        )
    track = Track.objects.get(pk=version.track_id)  # read only: see plan_version_create_draft
    if version.parent_id != track.current_version_id:
        raise PlanStateError(
            f"v{version.number} was drafted from "
            f"{'v' + str(version.parent.number) if version.parent_id else 'no plan'}, but the "
            f"current version of {track.key} has changed since: edit the draft to rebase it.",
            code="stale_parent",
        )
    diff = plan_diff(version.parent.payload if version.parent_id else None, version.payload)
    needs = approval_needs(version=version, policy=_policy(version.tenant), diff=diff)
    if needs.envelope.breaks and not version.master_change:
        raise PlanError(
            "This version breaks the master envelope ("
            + "; ".join(needs.envelope.problems)
            + "): add a master-level change (new total or track cap); the client must approve it.",
            code="breaks_master_envelope",
        )
    if needs.envelope.breaks:
        raise PlanError(
            "Even the proposed master-level change is too small: "
            + "; ".join(needs.envelope.problems)
            + ".",
            code="breaks_master_envelope",
        )
    preview = ticket_preview(version, diff=diff)
    label = f"v{version.number} for {track.key}"
    summary_text = " ".join(preview["summary"])
    tickets = [
        ticket_open(
            tenant=version.tenant,
            type=needs.ticket_type,
            actor=actor,
            title=f"Approve {version.get_kind_display().lower()} {label}",
            summary=summary_text
            + (
                f" Client sign-off: {'; '.join(needs.client_reasons)}."
                if needs.client_reasons
                else ""
            ),
            subject_type=SUBJECT_TYPE,
            subject_id=str(version.number),
            diff=preview,
            plan_version=version.number,
            required_roles=list(needs.required_roles),
            client_visible=True if needs.client_reasons else None,
            sla_kind="approval",
        )
    ]
    if needs.compliance_reasons:
        tickets.append(
            ticket_open(
                tenant=version.tenant,
                type="A7",
                actor=actor,
                title=f"Compliance review of {label}",
                summary="Compliance review: " + "; ".join(needs.compliance_reasons) + ".",
                subject_type=SUBJECT_TYPE,
                subject_id=str(version.number),
                diff=preview,
                plan_version=version.number,
                required_roles=[Role.PLANNER.value, Role.LEGAL.value],
                sla_kind="approval",
            )
        )
    version.status = PlanStatus.PENDING_APPROVAL
    version.submitted_at = timezone.now()
    version.submitted_by = _actor_text(actor)
    version.save(update_fields=["status", "submitted_at", "submitted_by", "updated_at"])
    audit_event_append(
        tenant=version.tenant,
        actor=actor,
        action="plan_version.submitted",
        resource=version,
        plan_version=version.number,
        payload=version.payload,
        data={
            "tickets": [t.public_id for t in tickets],
            "required_roles": list(needs.required_roles),
            "client_reasons": list(needs.client_reasons),
            "compliance_reasons": list(needs.compliance_reasons),
        },
    )
    return version


# --- Approve, reject, request changes, withdraw --------------------------------------------------


def _live_entries(track: Track) -> list[dict]:
    from optimization.selectors import manifest_entries_for_track

    return [entry.as_dict() for entry in manifest_entries_for_track(track=track)]


def remaining_delta_for(version: PlanVersion, *, on=None) -> dict:
    """What the live manifest of the version's track does not yet match (DESIGN.md: Execution
    aligns it after approval)."""
    on = on or timezone.localdate(timezone=_tenant_zone(version.tenant))
    return manifest_diff(
        previous=version.parent.payload if version.parent_id else None,
        proposed=version.payload,
        entries=_live_entries(version.track),
        on=on,
    )


def _tenant_zone(tenant: Tenant) -> ZoneInfo:
    return ZoneInfo(tenant.time_zone)


def _apply_master_change(version: PlanVersion, actor: Actor) -> None:
    master = master_plan_for(version.tenant, version.payload)
    if master is None or not version.master_change:
        return
    master = MasterPlan.objects.select_for_update().get(pk=master.pk)
    before = {"total_budget": money_text(master.total_budget), "track_caps": master.track_caps}
    master.total_budget = Decimal(version.master_change["total_budget"])
    master.track_caps = {**master.track_caps, **version.master_change.get("track_caps", {})}
    master.save(update_fields=["total_budget", "track_caps", "updated_at"])
    audit_event_append(
        tenant=version.tenant,
        actor=actor,
        action="master_plan.changed",
        resource=master,
        plan_version=version.number,
        data={"before": before, "after": version.master_change},
    )


@transaction.atomic
def plan_version_approve(*, version: PlanVersion, actor: Actor) -> PlanVersion:
    """Approve a pending version whose tickets are all approved: supersede the track's current
    version, make this one current and record the remaining delta — all or nothing."""
    track = Track.objects.select_for_update().get(pk=version.track_id)
    version = _lock_version(version)
    if version.status == PlanStatus.APPROVED:
        return version
    if not can_transition(version.status, PlanStatus.APPROVED):
        raise PlanStateError(
            f"v{version.number} is {version.get_status_display().lower()}; only a version "
            "pending approval can be approved."
        )
    open_tickets = list(
        subject_blocking_tickets(
            tenant=version.tenant, subject_type=SUBJECT_TYPE, subject_id=str(version.number)
        ).values_list("public_id", flat=True)
    )
    if open_tickets:
        raise PlanStateError(
            f"v{version.number} still waits for {', '.join(open_tickets)}.", code="tickets_open"
        )
    if version.parent_id != track.current_version_id:
        raise PlanStateError(
            f"v{version.number} no longer follows the current version of {track.key}.",
            code="stale_parent",
        )
    now = timezone.now()
    parent = version.parent
    if parent is not None:
        # Supersede first: at most one approved version per track (partial unique index).
        parent = PlanVersion.objects.select_for_update().get(pk=parent.pk)
        parent.status = PlanStatus.SUPERSEDED
        parent.superseded_at = now
        parent.superseded_by = _actor_text(actor)
        parent.save(update_fields=["status", "superseded_at", "superseded_by", "updated_at"])
        audit_event_append(
            tenant=version.tenant,
            actor=actor,
            action="plan_version.superseded",
            resource=parent,
            plan_version=parent.number,
            data={"by_version": version.number, "track": track.key},
        )
    version.remaining_delta = remaining_delta_for(version)
    version.status = PlanStatus.APPROVED
    version.approved_at = now
    version.approved_by = _actor_text(actor)
    version.save(
        update_fields=["status", "approved_at", "approved_by", "remaining_delta", "updated_at"]
    )
    _apply_master_change(version, actor)
    track.current_version = version
    track.save(update_fields=["current_version"])
    audit_event_append(
        tenant=version.tenant,
        actor=actor,
        action="plan_version.approved",
        resource=version,
        plan_version=version.number,
        payload=version.payload,
        data={
            "track": track.key,
            "supersedes": parent.number if parent else None,
            "remaining_delta": version.remaining_delta["remaining"],
        },
    )
    return version


def _cancel_open_tickets(version: PlanVersion, actor: Actor, reason: str) -> list[str]:
    cancelled = []
    for ticket in subject_blocking_tickets(
        tenant=version.tenant, subject_type=SUBJECT_TYPE, subject_id=str(version.number)
    ):
        ticket_cancel(ticket=ticket, actor=actor, reason=reason)
        cancelled.append(ticket.public_id)
    return cancelled


def _end_pending(
    version: PlanVersion, *, actor: Actor, target: str, action: str, note: str
) -> PlanVersion:
    """pending_approval → rejected or draft; the version's other open tickets are cancelled."""
    version = _lock_version(version)
    if version.status == target:
        return version
    if version.status != PlanStatus.PENDING_APPROVAL or not can_transition(version.status, target):
        raise PlanStateError(
            f"v{version.number} is {version.get_status_display().lower()}; only a version "
            "pending approval can be "
            + ("rejected." if target == PlanStatus.REJECTED else "returned to draft.")
        )
    version.status = target
    fields = ["status", "updated_at"]
    if target == PlanStatus.REJECTED:
        version.rejected_at, version.rejected_by = timezone.now(), _actor_text(actor)
        fields += ["rejected_at", "rejected_by"]
    version.save(update_fields=fields)
    # The status changed first, so the cancellations below find the version no longer pending
    # and their handler calls are no-ops.
    cancelled = _cancel_open_tickets(version, actor, f"v{version.number}: {note}")
    audit_event_append(
        tenant=version.tenant,
        actor=actor,
        action=action,
        resource=version,
        plan_version=version.number,
        data={"note": note, "cancelled_tickets": cancelled},
    )
    return version


@transaction.atomic
def plan_version_reject(*, version: PlanVersion, actor: Actor, note: str = "") -> PlanVersion:
    return _end_pending(
        version,
        actor=actor,
        target=PlanStatus.REJECTED,
        action="plan_version.rejected",
        note=note or "rejected",
    )


@transaction.atomic
def plan_version_request_changes(
    *, version: PlanVersion, actor: Actor, note: str = ""
) -> PlanVersion:
    return _end_pending(
        version,
        actor=actor,
        target=PlanStatus.DRAFT,
        action="plan_version.changes_requested",
        note=note or "changes requested",
    )


@transaction.atomic
def plan_version_withdraw(*, version: PlanVersion, actor: Actor, note: str = "") -> PlanVersion:
    """The author takes a submitted version back to draft; its open tickets are cancelled."""
    return _end_pending(
        version,
        actor=actor,
        target=PlanStatus.DRAFT,
        action="plan_version.withdrawn",
        note=note or "withdrawn by its author",
    )


# --- The approvals subject handler ---------------------------------------------------------------


def on_ticket_resolved(ticket, outcome: str, actor: Actor) -> None:
    """Called inside the transaction that resolves a ticket about a plan version."""
    version = (
        PlanVersion.objects.select_related("track", "tenant", "parent")
        .filter(tenant_id=ticket.tenant_id, number=int(ticket.subject_id))
        .first()
    )
    if version is None:
        return
    # Lock the version before looking at its other tickets: two tickets resolved at the same
    # moment (A5 and A7) are serialised here, and the second one sees the first one's outcome
    # (READ COMMITTED re-reads after the lock), so the version can't be left pending.
    version = _lock_version(version)
    if version.status != PlanStatus.PENDING_APPROVAL:
        return
    note = f"{ticket.public_id} {outcome.replace('_', ' ')}"
    if ticket.resolution_note:
        note += f": {ticket.resolution_note}"
    if outcome == "approved":
        still_open = subject_blocking_tickets(
            tenant=version.tenant, subject_type=SUBJECT_TYPE, subject_id=str(version.number)
        ).exclude(pk=ticket.pk)
        if not still_open.exists():
            plan_version_approve(version=version, actor=actor)
    elif outcome == "rejected":
        plan_version_reject(version=version, actor=actor, note=note)
    elif outcome in ("changes_requested", "cancelled"):
        # A ticket cancelled from outside (not by our own withdraw, which changes the status
        # first) leaves nothing to approve the version with: it goes back to draft.
        plan_version_request_changes(version=version, actor=actor, note=note)


def describe_subject(tenant, subject_id: str) -> str:
    version = (
        PlanVersion.objects.filter(tenant=tenant, number=int(subject_id))
        .select_related("track")
        .first()
    )
    return f"v{version.number} {version.track.key}" if version else f"v{subject_id}"


@transaction.atomic
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
    version = plan_version_create_draft(
        tenant=tenant,
        track_key=track_key,
        kind=kind,
        payload=payload,
        actor=actor,
        reason=reason,
        trigger=trigger,
    )
    version.status = PlanStatus.PENDING_APPROVAL
    version.submitted_at, version.submitted_by = timezone.now(), _actor_text(actor)
    version.save(update_fields=["status", "submitted_at", "submitted_by", "updated_at"])
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action="plan_version.imported",
        resource=version,
        plan_version=version.number,
        payload=version.payload,
        data={"approved_outside_by": approved_by, "track": track_key, "kind": kind},
    )
    return plan_version_approve(version=version, actor=actor)
