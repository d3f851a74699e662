"""Submit: a draft goes for approval and opens its tickets (plans/approvers.py says which)."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from approvals.models import SlaKind, Ticket
from approvals.services import TicketRequest, ticket_open_within
from approvals.types import TicketType
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from plans.diff import plan_diff
from plans.envelope import envelope_change_sentence
from plans.errors import PlanError, PlanStateError
from plans.models import (
    SUBJECT_TYPE,
    MasterPlan,
    PlanKind,
    PlanStatus,
    PlanVersion,
    Track,
)
from plans.selectors import ApprovalNeeds, version_approval_needs
from plans.services._common import actor_text, lock_version, policy_of, transition_needed
from plans.summary import plan_revise_summary, ticket_diff_preview
from tenants.models import Role


def ticket_preview(
    version: PlanVersion, *, diff: dict | None = None, master: MasterPlan | None = None
) -> dict:
    """The diff preview for the version's tickets: client summary, budget table, raw diff — and,
    when the version proposes a new master envelope (`master` is today's), what it changes."""
    parent_payload = version.parent.payload if version.parent_id else None
    summary = plan_revise_summary(parent_payload, version.payload, diff=diff)
    if version.master_change and master is not None:
        summary["summary"].append(envelope_change_sentence(master, version.master_change))
    return ticket_diff_preview(summary)


@transaction.atomic(durable=True)
def plan_version_submit(*, version: PlanVersion, actor: Actor) -> PlanVersion:
    """Send a draft for approval: opens A1 (first plan) or A5 (revise/replan) and, when needed,
    A7 compliance. Submitting a version already pending is a no-op."""
    version = lock_version(version)
    if not transition_needed(version, PlanStatus.PENDING_APPROVAL, only="a draft can be submitted"):
        return version
    track = Track.objects.get(pk=version.track_id)  # read only: approval locks it
    if version.parent_id != track.current_version_id:
        raise PlanStateError(
            f"v{version.number} was drafted from "
            f"{'v' + str(version.parent.number) if version.parent_id else 'no plan'}, but the "
            f"current version of {track.key} has changed since: edit the draft to rebase it.",
            code="stale_parent",
        )
    diff = plan_diff(version.parent.payload if version.parent_id else None, version.payload)
    needs = version_approval_needs(version=version, policy=policy_of(version.tenant), diff=diff)
    _refuse_breaking_the_envelope(version, needs)
    preview = ticket_preview(version, diff=diff, master=needs.envelope.master)
    tickets = _open_tickets(version, track, needs, preview, actor)
    version.status = PlanStatus.PENDING_APPROVAL
    version.submitted_at = timezone.now()
    version.submitted_by = actor_text(actor)
    version.save(update_fields=["status", "submitted_at", "submitted_by", "updated_at"])
    audit_event_append(
        tenant=version.tenant,
        actor=actor,
        action=AuditAction.PLAN_VERSION_SUBMITTED,
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


def _refuse_breaking_the_envelope(version: PlanVersion, needs: ApprovalNeeds) -> None:
    """A version past the master envelope goes for approval only with a proposed new envelope
    that holds it."""
    if needs.envelope.breaks and not version.master_change:
        raise PlanError(
            "This version breaks the master envelope ("
            + "; ".join(needs.envelope.problems)
            + "): propose a new master envelope (total or track cap) with this draft on its "
            "page; the client approves it with the version.",
            code="breaks_master_envelope",
        )
    if needs.envelope.breaks:
        raise PlanError(
            "Even the proposed master-level change is too small: "
            + "; ".join(needs.envelope.problems)
            + ".",
            code="breaks_master_envelope",
        )


def _open_tickets(
    version: PlanVersion, track: Track, needs: ApprovalNeeds, preview: dict, actor: Actor
) -> list[Ticket]:
    """A1 or A5 with the roles plans/approvers.py requires, and an A7 when compliance must
    review it."""
    label = f"v{version.number} for {track.key}"
    summary_text = " ".join(preview["summary"])
    tickets = [
        ticket_open_within(
            TicketRequest(
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
                # The seed's "lighter SLA for revise": a revise's A5 is due sooner.
                sla_kind=SlaKind.REVISE_APPROVAL
                if version.kind == PlanKind.REVISE
                else SlaKind.APPROVAL,
            )
        )
    ]
    if needs.compliance_reasons:
        tickets.append(
            ticket_open_within(
                TicketRequest(
                    tenant=version.tenant,
                    type=TicketType.A7,
                    actor=actor,
                    title=f"Compliance review of {label}",
                    summary="Compliance review: " + "; ".join(needs.compliance_reasons) + ".",
                    subject_type=SUBJECT_TYPE,
                    subject_id=str(version.number),
                    diff=preview,
                    plan_version=version.number,
                    required_roles=[Role.PLANNER.value, Role.LEGAL.value],
                    sla_kind=SlaKind.APPROVAL,
                )
            )
        )
    return tickets
