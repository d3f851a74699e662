"""A change set waiting for approval: applied when its tickets are all approved — only if the live
state still equals every item's `before` (compare-and-swap) — rejected when one is refused, or
approved for a smaller move than asked (docs/rules.md "Execution and optimization")."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.models import Ticket, TicketDecision, TicketStatus
from approvals.selectors import subject_blocking_tickets, ticket_required_roles
from approvals.services import (
    subject_tickets_lock,
    ticket_cancel_within,
    ticket_comment_add_within,
    ticket_decide_within,
)
from approvals.types import TicketType, Verdict
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import Conflict
from config.formatting import money
from config.text import REASON_MAX, clean_text
from config.transactions import within_transaction
from optimization import guardrails
from optimization.models import (
    DAILY_BUDGET,
    STATUS,
    ChangeSet,
    ChangeSetEventKind,
    ChangeSetItem,
    ChangeSetKind,
    ChangeSetStatus,
)
from optimization.selectors import approved_edits, track_on_hold
from optimization.services._common import (
    SUBJECT_TYPE,
    ChangeSetError,
    Item,
    change_set_audit_outcome,
    change_set_finish,
    change_set_lock,
    change_set_log_append,
    clean_value,
    guardrails_check,
    items_apply,
    moved_items,
)
from optimization.services.alignment import alignment_missing_after_hold, alignment_settle_within
from plans.schema import money_text
from tenants.models import TenantPolicy

SAFE_APPLY_ACTOR = Actor.system("optimization.safe_apply")


@within_transaction
def change_set_apply_within(*, change_set: ChangeSet, actor: Actor) -> ChangeSet:
    """Apply a change set whose tickets are all approved — only if the live state still equals
    every item's `before` (compare-and-swap). Otherwise nothing is applied, the change set is
    `stale` and says which entity moved, on its ticket and in its log. Runs inside the ticket
    decision's transaction, with the change set and its entities locked."""
    change_set, locked = change_set_lock(change_set)
    if not change_set.is_pending:
        return change_set
    now = timezone.now()
    if track_on_hold(track=change_set.track):
        # The hold took every entity of the track before it was recorded (holds.py), and we hold
        # this channel's entities: a hold either committed before us (we see it) or waits for us.
        _wait_for_the_hold(change_set, actor, now)
        return change_set
    currency = change_set.track.currency
    items = [
        Item(i.position, i.entity_id, i.field, i.before, i.after, locked.get(i.manifest_entry_id))
        for i in change_set.items.all()
    ]
    moved = moved_items(items, locked, currency)
    if moved:
        message = (
            "Not applied: the live state moved since it was proposed — "
            + "; ".join(moved)
            + ". The agent proposes again on what is live."
        )
        change_set_finish(change_set, ChangeSetStatus.STALE, message, decided_at=now)
        change_set_log_append(change_set, ChangeSetEventKind.STALE, actor, message, moved=moved)
        change_set_audit_outcome(change_set, actor, AuditAction.CHANGE_SET_STALE, moved=moved)
        ticket = Ticket.objects.filter(
            tenant=change_set.tenant, public_id=change_set.ticket
        ).first()
        if ticket is not None:
            # The system says what moved, not the person whose approval happened to be last.
            ticket_comment_add_within(ticket=ticket, actor=SAFE_APPLY_ACTOR, body=message)
        return change_set
    edits = approved_edits(change_set)
    items_apply(change_set, locked, actor, edits=edits, applied_at=now)
    reason = "Applied after approval" + (" for a smaller move than asked." if edits else ".")
    change_set_finish(change_set, ChangeSetStatus.APPLIED, reason, decided_at=now, applied_at=now)
    change_set_log_append(change_set, ChangeSetEventKind.APPLIED, actor, reason, edited=bool(edits))
    change_set_audit_outcome(
        change_set,
        actor,
        AuditAction.CHANGE_SET_APPLIED,
        approved={str(k): v for k, v in edits.items()},
    )
    return change_set


def _wait_for_the_hold(change_set: ChangeSet, actor: Actor, now) -> None:
    message = (
        f"Approved while {change_set.track.key} is on hold: nothing applies until spend resumes; "
        "then the live state and the guardrails are checked again."
    )
    change_set_finish(change_set, ChangeSetStatus.APPROVED_WAITING, message, decided_at=now)
    change_set_log_append(change_set, ChangeSetEventKind.WAITING, actor, message)
    change_set_audit_outcome(change_set, actor, AuditAction.CHANGE_SET_WAITING)
    ticket = Ticket.objects.filter(tenant=change_set.tenant, public_id=change_set.ticket).first()
    if ticket is not None:
        ticket_comment_add_within(ticket=ticket, actor=SAFE_APPLY_ACTOR, body=message)


@within_transaction
def change_set_apply_after_hold_within(*, change_set: ChangeSet, actor: Actor) -> ChangeSet:
    """A change set that waited for a hold to end, checked again when it ends: applied only if
    the live state still equals every item's `before` (else `stale`) and today's guardrails, on
    what will apply, ask for no approval it lacks (else `refused`, saying which)."""
    # Long on purpose: the re-check on resume in order (lock, compare-and-swap, today's guardrails,
    # apply or refuse with the reason), all under the same locks.
    change_set, locked = change_set_lock(change_set)
    if not change_set.is_waiting_for_hold:
        return change_set
    now = timezone.now()
    currency = change_set.track.currency
    policy = TenantPolicy.objects.get(tenant_id=change_set.tenant_id)
    rows = list(change_set.items.all())
    items = [
        Item(i.position, i.entity_id, i.field, i.before, i.after, locked.get(i.manifest_entry_id))
        for i in rows
    ]
    moved = moved_items(items, locked, currency)
    if moved:
        message = (
            "Not applied when the hold ended: the live state moved — "
            + "; ".join(moved)
            + ". The agent proposes again on what is live."
        )
        change_set_finish(change_set, ChangeSetStatus.STALE, message, decided_at=now)
        change_set_log_append(change_set, ChangeSetEventKind.STALE, actor, message, moved=moved)
        change_set_audit_outcome(change_set, actor, AuditAction.CHANGE_SET_STALE, moved=moved)
        return change_set
    edits = approved_edits(change_set)
    if change_set.kind == ChangeSetKind.ALIGNMENT:
        verdict = None
        missing = alignment_missing_after_hold(change_set, items, locked)
    else:
        verdict = guardrails_check(
            track=change_set.track,
            items=[
                guardrails.ProposedItem.of(
                    i,
                    after=edits.get(i.position, i.after),
                    first_launch=(
                        i.field == STATUS
                        and edits.get(i.position, i.after) == "active"
                        and i.manifest_entry_id in locked
                        and locked[i.manifest_entry_id].first_active_at is None
                    ),
                )
                for i in rows
            ],
            entries=locked.values(),
            policy=policy,
            currency=currency,
            first_launch_requires_human=policy.first_launch_requires_human,
        )
        missing = _approvals_missing(change_set, verdict)
    if missing:
        message = f"Not applied when the hold ended: {missing}"
        change_set_finish(change_set, ChangeSetStatus.REFUSED, message, decided_at=now)
        change_set_log_append(change_set, ChangeSetEventKind.REFUSED, actor, message)
        change_set_audit_outcome(change_set, actor, AuditAction.CHANGE_SET_REFUSED)
        return change_set
    items_apply(change_set, locked, actor, edits=edits, applied_at=now)
    reason = "Applied when the hold ended" + (", for the smaller move approved." if edits else ".")
    change_set_finish(change_set, ChangeSetStatus.APPLIED, reason, applied_at=now)
    change_set_log_append(change_set, ChangeSetEventKind.APPLIED, actor, reason, edited=bool(edits))
    change_set_audit_outcome(
        change_set,
        actor,
        AuditAction.CHANGE_SET_APPLIED,
        approved={str(k): v for k, v in edits.items()},
        after_hold=True,
    )
    if change_set.kind == ChangeSetKind.ALIGNMENT:
        alignment_settle_within(
            track=change_set.track,
            entries=list(locked.values()),
            actor=actor,
            change_set=change_set,
        )
    return change_set


def _approvals_missing(change_set: ChangeSet, verdict: guardrails.GuardrailVerdict) -> str:
    """What today's guardrail verdict asks that the change set's approved tickets don't give, in
    a sentence ("" when nothing is missing)."""
    if verdict.status == ChangeSetStatus.BLOCKED:
        return verdict.reason
    approved = Ticket.objects.filter(
        tenant_id=change_set.tenant_id,
        subject_type=SUBJECT_TYPE,
        subject_id=change_set.change_set_id,
        status=TicketStatus.APPROVED,
    )
    missing: list[str] = []
    if verdict.needs_a3:
        needed = ticket_required_roles(
            tenant=change_set.tenant,
            type=TicketType.A3,
            budget_increase_pct=verdict.budget_increase_pct,
        )
        had = set(
            TicketDecision.objects.filter(
                ticket__in=approved.filter(type=TicketType.A3), verdict=Verdict.APPROVE
            ).values_list("role", flat=True)
        )
        missing += [f"the {role}'s approval" for role in needed if role not in had]
    if verdict.needs_a2 and not approved.filter(type=TicketType.A2).exists():
        missing.append("a first-launch approval (A2)")
    if not missing:
        return ""
    return (
        f"today's guardrails ({verdict.reason.rstrip('.')}) ask for "
        + " and ".join(missing)
        + ", which it did not have. The agent proposes again."
    )


@within_transaction
def change_set_reject_within(*, change_set: ChangeSet, actor: Actor, note: str) -> ChangeSet:
    """A person refused it (in that decision's transaction): nothing is applied; its other open
    tickets are cancelled."""
    change_set, _locked = change_set_lock(change_set)
    if not change_set.is_pending:
        return change_set
    change_set_finish(change_set, ChangeSetStatus.REJECTED, note, decided_at=timezone.now())
    change_set_log_append(change_set, ChangeSetEventKind.REJECTED, actor, note)
    change_set_audit_outcome(change_set, actor, AuditAction.CHANGE_SET_REJECTED)
    _cancel_tickets(change_set, actor, f"{change_set.change_set_id} was rejected: {note}")
    return change_set


def _cancel_tickets(change_set: ChangeSet, actor: Actor, reason: str) -> None:
    for ticket in subject_blocking_tickets(
        tenant=change_set.tenant, subject_type=SUBJECT_TYPE, subject_id=change_set.change_set_id
    ).order_by("pk"):
        ticket_cancel_within(ticket=ticket, actor=actor, reason=reason[:REASON_MAX])


# --- Approve with an edit --------------------------------------------------------------------
@transaction.atomic(durable=True)
def change_set_approve_with_edit(
    *,
    change_set: ChangeSet,
    actor: Actor,
    approved: dict[int, Any],
    comment: str = "",
) -> ChangeSet:
    """An operator approves the change set's A3 for a smaller move than asked (+10% instead of
    +18%): the log records what was asked and what was approved, the guardrails are checked on
    what will be applied, and the change set applies (compare-and-swap) once every ticket about
    it is approved."""
    return change_set_approve_with_edit_within(
        change_set=change_set, actor=actor, approved=approved, comment=comment
    )


@within_transaction
def change_set_approve_with_edit_within(
    *,
    change_set: ChangeSet,
    actor: Actor,
    approved: dict[int, Any],
    comment: str = "",
) -> ChangeSet:
    """change_set_approve_with_edit as a step of a bigger transaction (the demo's story)."""
    comment = clean_text(comment, name="comment", max_length=REASON_MAX)
    subject_tickets_lock(
        tenant=change_set.tenant_id, subject_type=SUBJECT_TYPE, subject_id=change_set.change_set_id
    )
    change_set, locked = change_set_lock(change_set)
    a3 = _waiting_a3(change_set)
    items = {item.position: item for item in change_set.items.all()}
    currency = change_set.track.currency
    smaller = _smaller_moves(items, approved, currency)
    policy = TenantPolicy.objects.get(tenant_id=change_set.tenant_id)

    def check_of(moves: dict[int, str]) -> guardrails.GuardrailVerdict:
        return guardrails_check(
            track=change_set.track,
            items=[
                guardrails.ProposedItem.of(i, after=moves.get(i.position, i.after))
                for i in items.values()
                if i.field == DAILY_BUDGET
            ],
            entries=locked.values(),
            policy=policy,
            currency=currency,
            first_launch_requires_human=False,
        )

    # What was asked is measured again beside what is approved, against the same plan and drift
    # (the plan may have changed since it was asked): the page compares like with like.
    check, asked = check_of(smaller), check_of({})
    message = (
        "Approved for a smaller move: "
        + "; ".join(
            f"{items[p].entity_id} {money(items[p].before, currency)} → {money(v, currency)} "
            f"(asked {money(items[p].after, currency)})"
            for p, v in sorted(smaller.items())
        )
        + f". Guardrails on what is approved: {_verdict_words(check)}"
    )
    _record_edit(change_set, actor, message, smaller=smaller, check=check, asked=asked)
    ticket_decide_within(
        ticket=a3, actor=actor, verdict=Verdict.APPROVE, comment=(comment or message)[:REASON_MAX]
    )
    change_set.refresh_from_db()
    return change_set


def _verdict_words(check: guardrails.GuardrailVerdict) -> str:
    """The guardrails on an approved smaller move, without saying "applied": it applies only when
    every approval is in (and no hold stops it) — the change set's status says when."""
    if check.status == ChangeSetStatus.APPLIED:
        return "Within the guardrails."
    return check.reason


def _record_edit(
    change_set: ChangeSet,
    actor: Actor,
    message: str,
    *,
    smaller: dict[int, str],
    check: guardrails.GuardrailVerdict,
    asked: guardrails.GuardrailVerdict,
) -> None:
    """The approver's smaller moves in the change set's log and the audit log (what was asked
    stays in its items)."""
    change_set_log_append(
        change_set,
        ChangeSetEventKind.EDITED,
        actor,
        message,
        approved={str(p): v for p, v in smaller.items()},
        guardrails=check.guardrails_json(),
        asked_guardrails=asked.guardrails_json(),
    )
    audit_event_append(
        tenant=change_set.tenant_id,
        actor=actor,
        action=AuditAction.CHANGE_SET_EDITED,
        resource=change_set,
        data={"approved": {str(p): v for p, v in smaller.items()}, "guardrails": check.reason},
    )


def _waiting_a3(change_set: ChangeSet) -> Ticket:
    """The open A3 of a change set waiting for approval: only that can approve a smaller move."""
    if not change_set.is_pending:
        raise Conflict(
            f"{change_set.change_set_id} is {change_set.get_status_display().lower()}; only a "
            "change set waiting for approval can be approved.",
            code="invalid_status",
        )
    a3 = (
        subject_blocking_tickets(
            tenant=change_set.tenant,
            subject_type=SUBJECT_TYPE,
            subject_id=change_set.change_set_id,
        )
        .filter(type=TicketType.A3)
        .first()
    )
    if a3 is None:
        raise Conflict("Only a change set waiting on an A3 can be approved for a smaller move.")
    return a3


def _smaller_moves(
    items: dict[int, ChangeSetItem], approved: dict[int, Any], currency: str
) -> dict[int, str]:
    """The approver's daily budgets by item position, each between the item's `before` and what
    was asked (money strings, as items keep them)."""
    smaller: dict[int, str] = {}
    for position, value in approved.items():
        item = items.get(position)
        where = f"items[{position}].after"
        if item is None or item.field != DAILY_BUDGET:
            raise ChangeSetError(
                f"{where}: only a daily budget can be approved for a smaller move.",
                fields={where: ["not a daily budget of this change set"]},
            )
        after = Decimal(clean_value(DAILY_BUDGET, value, where))
        before, asked = Decimal(str(item.before)), Decimal(str(item.after))
        low, high = min(before, asked), max(before, asked)
        if not low <= after <= high:
            raise ChangeSetError(
                f"{where}: a smaller move lies between {money(before, currency)} and "
                f"{money(asked, currency)} (asked); {money(after, currency)} does not.",
                fields={where: ["not a smaller move than asked"]},
            )
        smaller[position] = money_text(after)
    if not smaller:
        raise ChangeSetError("Give the smaller move for at least one daily budget.")
    return smaller
