"""Revise recommendations (`plan.revise.recommended`): a signal of the trigger scan, or a
Reporting/Optimization agent, says a track's plan should be revised or replanned.

A recommendation opens one ticket for the planners (A5, with the revise-draft or replan-draft
SLA of seed 000) carrying its evidence, and — where the seed says so — a draft vN+1. It never
approves anything: the planner turns it into a draft (approving its ticket) or dismisses it.
One open recommendation per (track, signal, subject): the database refuses a second, so scans
run twice or at once open it once.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.models import SlaKind
from approvals.services import TicketRequest, ticket_open_within, tickets_open_many_within
from approvals.services.open import new_public_id
from approvals.types import TicketType
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import DomainError
from config.text import REASON_MAX, clean_text, json_problem
from config.transactions import within_transaction
from optimization.models import (
    ChangePath,
    Recommendation,
    RecommendationStatus,
    Signal,
)
from optimization.selectors import open_recommendation
from plans.errors import PlanError
from plans.models import PlanKind, PlanStatus, PlanTrigger, PlanVersion, Track
from plans.services import (
    plan_version_carry_forward_within,
    plan_version_counter_lock,
    plan_version_create_draft_within,
)
from tenants.models import Role

RECOMMENDATION_SUBJECT = "recommendation"
SIGNAL_TRIGGER = {
    Signal.DRIFT: PlanTrigger.DRIFT,
    Signal.GUARDRAIL_APPROVALS: PlanTrigger.RECOMMENDATION,
    Signal.KPI_MISS: PlanTrigger.RECOMMENDATION,
    Signal.STRUCTURAL_BLOCK: PlanTrigger.STRUCTURAL_BLOCK,
    Signal.SEASONALITY: PlanTrigger.SEASONALITY,
    Signal.AGENT: PlanTrigger.RECOMMENDATION,
}
PATH_KIND = {ChangePath.REVISE: PlanKind.REVISE, ChangePath.REPLAN: PlanKind.REPLAN}
EVIDENCE_MAX_BYTES = 64 * 1024


class RecommendationError(DomainError):
    code = "invalid_recommendation"


def _draft(recommendation: Recommendation, actor: Actor, payload: dict) -> int:
    drift = recommendation.evidence.get("drift_pct_by_channel") or None
    version = plan_version_create_draft_within(
        tenant=recommendation.tenant,
        track_key=recommendation.track.key,
        kind=PATH_KIND[recommendation.path],
        payload=payload,
        actor=actor,
        reason=recommendation.reason[:REASON_MAX],
        trigger=SIGNAL_TRIGGER[recommendation.signal],
        drift_pct_by_channel={k: Decimal(v) for k, v in drift.items()} if drift else None,
    )
    return version.number


def _summary(recommendation: Recommendation) -> list[str]:
    lines = [recommendation.reason]
    if recommendation.draft_number:
        lines.append(f"Pre-drafted as v{recommendation.draft_number} for the planner to review.")
    return lines


@transaction.atomic(durable=True)
def recommendation_open(
    *,
    tenant,
    track: Track,
    signal: str,
    subject_key: str,
    path: str,
    reason: str,
    evidence: dict,
    actor: Actor,
    source: str,
    predraft: bool = False,
) -> tuple[Recommendation, bool]:
    """Open the recommendation and its ticket, or return the open one for the same condition
    (and False). `evidence["proposed_payload"]`, when given, is the draft it proposes; with
    `predraft` the draft is made now (structural blocks, seasonality)."""
    reason = _clean(reason=reason, path=path, evidence=evidence)
    recommendation, created = _insert(
        tenant=tenant,
        track=track,
        signal=signal,
        subject_key=subject_key,
        path=path,
        reason=reason,
        evidence=evidence,
        source=source[:100],
    )
    if not created:
        return recommendation, False
    if predraft and evidence.get("proposed_payload"):
        try:
            with transaction.atomic():  # a refused draft leaves the recommendation standing
                recommendation.draft_number = _draft(
                    recommendation, actor, evidence["proposed_payload"]
                )
        except PlanError as exc:
            recommendation.evidence = {**evidence, "draft_refused": exc.message}
    ticket = _open_ticket(recommendation, actor, evidence)
    recommendation.ticket = ticket.public_id
    recommendation.save(update_fields=["ticket", "draft_number", "evidence"])
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action=AuditAction.RECOMMENDATION_OPENED,
        resource=recommendation,
        plan_version=recommendation.draft_number,
        data={
            "track": track.key,
            "signal": signal,
            "subject": subject_key,
            "path": path,
            "reason": reason,
            "ticket": ticket.public_id,
        },
    )
    return recommendation, True


@transaction.atomic(durable=True)
def recommendations_open_many(
    *, tenant, openings: list[dict], actor: Actor, source: str
) -> list[bool]:
    """Open several recommendations of one tenant (the scan's openings) in a handful of
    statements: the open ones for the same conditions read at once, the new ones inserted at
    once with their tickets' ids (drawn first), their tickets opened at once
    (tickets_open_many_within) and the audit events of both appended in one go. Each opening takes
    recommendation_open's keywords but `predraft` (a draft is opened one by one). Returns, per
    opening, whether it was opened (False: one for the same condition is open already).

    A concurrent scan that opens one of the same conditions in the meantime makes the INSERT
    fail (the open-recommendation constraint) and everything rolls back: the caller then opens
    them one by one with recommendation_open, which settles such races."""
    # Long on purpose: the bulk twin of recommendation_open, its steps in the same order (check,
    # insert, tickets, audit), each step one statement for every opening.
    source = source[:100]
    cleaned = [
        {**o, "reason": _clean(reason=o["reason"], path=o["path"], evidence=o["evidence"])}
        for o in openings
    ]
    conditions = {(o["track"].pk, o["signal"], o["subject_key"]) for o in cleaned}
    already = set(
        Recommendation.objects.filter(
            track_id__in={track_id for track_id, _s, _k in conditions},
            status=RecommendationStatus.OPEN,
        ).values_list("track_id", "signal", "subject_key")
    )
    fresh, opened = [], []
    for opening in cleaned:
        key = (opening["track"].pk, opening["signal"], opening["subject_key"])
        new = key not in already
        already.add(key)  # the same condition twice in one batch opens once
        opened.append(new)
        if new:
            fresh.append(
                Recommendation(
                    tenant=tenant,
                    track=opening["track"],
                    signal=opening["signal"],
                    subject_key=opening["subject_key"],
                    path=opening["path"],
                    reason=opening["reason"],
                    evidence=opening["evidence"],
                    source=source,
                )
            )
    if not fresh:
        return opened
    # Each ticket's id drawn first and written with its recommendation: no UPDATE afterwards.
    drawn = [new_public_id(TicketType.A5) for _ in fresh]
    for recommendation, public_id in zip(fresh, drawn, strict=True):
        recommendation.ticket = public_id
    Recommendation.objects.bulk_create(fresh)

    def opened_events(tickets) -> list[dict]:
        """The recommendations' audit events, appended with their tickets' (one chain claim)."""
        for recommendation, ticket in zip(fresh, tickets, strict=True):
            recommendation.ticket = ticket.public_id
        return [
            {
                "action": AuditAction.RECOMMENDATION_OPENED,
                "resource": recommendation,
                "plan_version": None,
                "data": {
                    "track": recommendation.track.key,
                    "signal": recommendation.signal,
                    "subject": recommendation.subject_key,
                    "path": recommendation.path,
                    "reason": recommendation.reason,
                    "ticket": recommendation.ticket,
                },
            }
            for recommendation in fresh
        ]

    tickets_open_many_within(
        [
            _ticket_request(recommendation, actor, recommendation.evidence)
            for recommendation in fresh
        ],
        public_ids=drawn,
        then_audit=opened_events,
    )
    # A ticket already open for one of them (same dedupe key) keeps its own id.
    kept = [r for r, public_id in zip(fresh, drawn, strict=True) if r.ticket != public_id]
    if kept:
        Recommendation.objects.bulk_update(kept, ["ticket"])
    return opened


def _clean(*, reason: str, path: str, evidence: dict) -> str:
    """The reason as it is kept; refused: no reason, a path that is no revise or replan,
    evidence no JSON column keeps."""
    reason = clean_text(reason, name="reason", max_length=REASON_MAX)
    if not reason:
        raise RecommendationError("Say why the plan should change.", fields={"reason": ["empty"]})
    if path not in (ChangePath.REVISE, ChangePath.REPLAN):
        raise RecommendationError(
            "A recommendation's path is revise or replan.", fields={"path": ["revise or replan"]}
        )
    problem = json_problem(evidence, max_bytes=EVIDENCE_MAX_BYTES)
    if problem:
        raise RecommendationError(f"evidence {problem}.", fields={"evidence": [problem]})
    return reason


def _insert(
    *, track: Track, signal: str, subject_key: str, **values
) -> tuple[Recommendation, bool]:
    """The new recommendation, or (False) the open one for the same condition — found first, or
    inserted a moment ago by another scan (the open-recommendation constraint)."""
    existing = open_recommendation(track=track, signal=signal, subject_key=subject_key)
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return (
                Recommendation.objects.create(
                    track=track, signal=signal, subject_key=subject_key, **values
                ),
                True,
            )
    except IntegrityError:
        existing = open_recommendation(track=track, signal=signal, subject_key=subject_key)
        if existing is None:
            raise
        return existing, False


def _open_ticket(recommendation: Recommendation, actor: Actor, evidence: dict):
    """Its ticket for the planners (A5)."""
    return ticket_open_within(_ticket_request(recommendation, actor, evidence))


def _ticket_request(recommendation: Recommendation, actor: Actor, evidence: dict):
    """Its ticket for the planners (A5), with the revise-draft or replan-draft SLA and the
    evidence as it came (less the proposed plan)."""
    track, path, signal = recommendation.track, recommendation.path, recommendation.signal
    return TicketRequest(
        tenant=recommendation.tenant,
        type=TicketType.A5,
        actor=actor,
        title=f"Plan {path} recommended for {track.key}: {Signal(signal).label.lower()}",
        summary=" ".join(_summary(recommendation)),
        subject_type=RECOMMENDATION_SUBJECT,
        subject_id=str(recommendation.pk),
        plan_version=recommendation.draft_number
        or (track.current_version.number if track.current_version_id else None),
        requesting_agent=recommendation.source,
        required_roles=[Role.PLANNER.value],
        client_visible=False,
        diff={
            "summary": _summary(recommendation),
            "raw": {
                "signal": signal,
                "path": path,
                "evidence": {k: v for k, v in evidence.items() if k != "proposed_payload"},
            },
        },
        sla_kind=SlaKind.REPLAN_DRAFT if path == ChangePath.REPLAN else SlaKind.REVISE_DRAFT,
        dedupe_key=f"recommendation:{track.pk}:{signal}:{recommendation.subject_key}"[:200],
    )


@within_transaction
def recommendation_lock_for_decision(recommendation: Recommendation) -> None:
    """Before a decision on the recommendation's ticket writes anything: the recommendation,
    then — approving an open one drafts a version, or carries an outdated pre-draft forward
    (another version's approval may outdate it up to the moment we decide) — the tenant's
    version counter, which every writer claims before the audit chain head (config/locks.py)."""
    Recommendation.objects.select_for_update().filter(pk=recommendation.pk).first()
    if recommendation.is_open:
        plan_version_counter_lock(tenant_id=recommendation.tenant_id)


def _outdated_predraft(recommendation: Recommendation) -> PlanVersion | None:
    """The pre-drafted version, when an approval of another version outdated it since."""
    if recommendation.draft_number is None:
        return None
    return PlanVersion.objects.filter(
        tenant_id=recommendation.tenant_id,
        number=recommendation.draft_number,
        status=PlanStatus.OUTDATED,
    ).first()


@within_transaction
def recommendation_draft_within(*, recommendation: Recommendation, actor: Actor) -> Recommendation:
    """Turn the recommendation into a draft vN+1 (its approved ticket's consequence, in that
    decision's transaction)."""
    recommendation = (
        Recommendation.objects.select_for_update(of=("self",))
        .select_related("track", "tenant")
        .get(pk=recommendation.pk)
    )
    if not recommendation.is_open:
        return recommendation
    payload = recommendation.evidence.get("proposed_payload")
    if recommendation.draft_number is None and not payload:
        # It proposes no plan (an agent's advice in words): accepted, and the planner drafts
        # the revise in the editor.
        recommendation.status = RecommendationStatus.ACCEPTED
        recommendation.resolved_at = timezone.now()
        recommendation.save(update_fields=["status", "resolved_at"])
        audit_event_append(
            tenant=recommendation.tenant_id,
            actor=actor,
            action=AuditAction.RECOMMENDATION_ACCEPTED,
            resource=recommendation,
            data={"track": recommendation.track.key},
        )
        return recommendation
    data = {"track": recommendation.track.key}
    outdated = _outdated_predraft(recommendation)
    if recommendation.draft_number is None:
        recommendation.draft_number = _draft(recommendation, actor, payload)
    elif outdated is not None:
        # Another version was approved since the scan pre-drafted this one: the planner gets
        # the pre-draft carried forward onto the current version, never a stale draft.
        carried = plan_version_carry_forward_within(version=outdated, actor=actor)
        recommendation.draft_number = carried.number
        data["carried_from"] = outdated.number
    recommendation.status = RecommendationStatus.DRAFTED
    recommendation.resolved_at = timezone.now()
    recommendation.save(update_fields=["status", "resolved_at", "draft_number"])
    audit_event_append(
        tenant=recommendation.tenant_id,
        actor=actor,
        action=AuditAction.RECOMMENDATION_DRAFTED,
        resource=recommendation,
        plan_version=recommendation.draft_number,
        data={**data, "draft": recommendation.draft_number},
    )
    return recommendation


@within_transaction
def recommendation_dismiss_within(
    *, recommendation: Recommendation, actor: Actor, note: str
) -> Recommendation:
    recommendation = Recommendation.objects.select_for_update().get(pk=recommendation.pk)
    if not recommendation.is_open:
        return recommendation
    recommendation.status = RecommendationStatus.DISMISSED
    recommendation.resolved_at = timezone.now()
    recommendation.save(update_fields=["status", "resolved_at"])
    audit_event_append(
        tenant=recommendation.tenant_id,
        actor=actor,
        action=AuditAction.RECOMMENDATION_DISMISSED,
        resource=recommendation,
        data={"note": note},
    )
    return recommendation
