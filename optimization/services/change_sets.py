"""Change sets: what an agent applied or wants to apply to a track's live state (docs/rules.md
"Execution and optimization", docs/agent-api.md "Execution, optimization, performance").

`change_set_submit` checks the request, locks the live entities of every channel it touches
(config/locks.py: subject, then manifest entries, then the audit chain head), compares each
item's `before` with the live state, runs the guardrails (optimization/guardrails.py) and either
applies the change set at once, opens its A3 (and/or A2) ticket, or blocks it as structural. A
change set waiting for approval applies when its tickets are approved — and only if the live
state still equals each `before` (`change_set_apply`); an approver may choose a smaller move
(`change_set_approve_with_edit`). Nothing here edits a change set's request: what happens to it
is appended to its log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from approvals.models import Ticket
from approvals.selectors import subject_blocking_tickets, ticket_required_roles
from approvals.services import (
    subject_tickets_lock,
    ticket_cancel,
    ticket_comment_add,
    ticket_decide,
    ticket_open,
)
from approvals.subjects import run_block_reason, subject_exists
from approvals.types import SubjectKind, TicketType
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import Blocked, Conflict, DomainError
from config.formatting import money, money_change, percent
from config.text import REASON_MAX, clean_text, json_problem, text_problem
from optimization import guardrails
from optimization.models import (
    CHANGE_SET_TRANSITIONS,
    DAILY_BUDGET,
    STATUS,
    STRUCTURAL_FIELDS,
    TACTICAL_FIELDS,
    AppliedChange,
    ChangeSet,
    ChangeSetEvent,
    ChangeSetEventKind,
    ChangeSetItem,
    ChangeSetKind,
    ChangeSetStatus,
    ExecutionManifestEntry,
)
from optimization.selectors import (
    active_hold,
    applied_budget_drift,
    approved_edits,
    drift_window_start,
    live_daily_budgets,
    planned_daily_budgets,
    tenant_today,
)
from optimization.services.manifest import ENTITY_STATUSES
from plans.models import Track
from plans.schema import money_text
from tenants.models import Tenant, TenantPolicy

SUBJECT_TYPE = "change_set"
SAFE_APPLY_ACTOR = Actor.system("optimization.safe_apply")
MAX_ITEMS = 500
MAX_BUDGET = Decimal("1e12")


class ChangeSetError(DomainError):
    """A change set the rules refuse; nothing was written."""

    code = "invalid_change_set"


class ChangeSetStale(Conflict):
    """An item's `before` is not the live state: the agent proposes again on what is live."""

    code = "stale_before"


@dataclass
class ChangeSetRequest:
    """What an agent (or a rollback, a hold) asks, before any check."""

    change_set_id: str
    track: str
    items: list[dict]
    agent: str = ""
    reason: str = ""
    run_id: str = ""
    kind: str = ChangeSetKind.AGENT
    reverts: ChangeSet | None = None
    extra: dict = field(default_factory=dict)


# --- Values ----------------------------------------------------------------------------------
def clean_value(field_name: str, value: Any, where: str) -> Any:
    """An item's value as the manifest keeps it: money strings for daily budgets, lower-case
    statuses, plain JSON for the rest."""
    if field_name == DAILY_BUDGET:
        try:
            if isinstance(value, bool) or value is None:
                raise InvalidOperation
            amount = Decimal(str(value))
        except (InvalidOperation, ValueError):
            raise ChangeSetError(
                f"{where}: a daily budget is an amount.", fields={where: ["must be an amount"]}
            ) from None
        if not amount.is_finite() or not 0 <= amount <= MAX_BUDGET:
            raise ChangeSetError(
                f"{where}: a daily budget is an amount from 0.",
                fields={where: ["must be an amount from 0"]},
            )
        return money_text(amount)
    if field_name == STATUS:
        status = str(value).strip().lower() if isinstance(value, str) else None
        if status not in ENTITY_STATUSES:
            raise ChangeSetError(
                f"{where}: a status is one of {', '.join(ENTITY_STATUSES)}.",
                fields={where: [f"one of {', '.join(ENTITY_STATUSES)}"]},
            )
        return status
    problem = json_problem(value, max_bytes=10_000)
    if problem:
        raise ChangeSetError(f"{where}: {problem}.", fields={where: [problem]})
    return value


def live_value(entry: ExecutionManifestEntry, field_name: str) -> Any:
    """An entity's live value of a field as items state it: daily budgets as money strings, and
    no status meaning live ("active", as the manifest reads it)."""
    value = entry.state.get(field_name)
    if value is None and field_name == STATUS:
        return "active"
    if value is not None and field_name == DAILY_BUDGET:
        return money_text(Decimal(str(value)))
    return value


def value_text(field_name: str, value: Any, currency: str = "") -> str:
    """A value as people read it in a sentence ("€455", "paused")."""
    if field_name == DAILY_BUDGET and value is not None:
        return money(value, currency)
    return "nothing" if value is None else str(value)


def _field_words(field_name: str) -> str:
    return field_name.replace("_", " ")


# --- Submit ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Item:
    position: int
    entity_id: str
    field: str
    before: Any
    after: Any
    entry: ExecutionManifestEntry | None


def _clean_request(tenant: Tenant, request: ChangeSetRequest) -> tuple[Track, list[_Item]]:
    track = (
        Track.objects.filter(tenant=tenant, key=request.track)
        .select_related("current_version")
        .first()
    )
    if track is None:
        raise ChangeSetError(
            f"This tenant has no track {request.track!r}.",
            code="unknown_track",
            fields={"track": ["no such track for this key's tenant"]},
        )
    if not request.items:
        raise ChangeSetError("A change set has at least one item.", fields={"items": ["empty"]})
    if len(request.items) > MAX_ITEMS:
        raise ChangeSetError(
            f"A change set has at most {MAX_ITEMS} items.", fields={"items": ["too many"]}
        )
    wanted = {str(i.get("entity_id")) for i in request.items if i.get("entity_id") is not None}
    entries = {
        entry.entity_id: entry
        for entry in ExecutionManifestEntry.objects.filter(
            tenant=tenant, track=track, entity_id__in=wanted
        )
    }
    items, seen = [], set()
    for position, raw in enumerate(request.items):
        where = f"items[{position}]"
        field_name = raw.get("field")
        if field_name not in TACTICAL_FIELDS + STRUCTURAL_FIELDS:
            raise ChangeSetError(
                f"{where}.field: one of {', '.join(TACTICAL_FIELDS + STRUCTURAL_FIELDS)}.",
                fields={f"{where}.field": ["unknown field"]},
            )
        entity_id = raw.get("entity_id")
        entry = None
        if field_name in TACTICAL_FIELDS:
            entry = entries.get(str(entity_id)) if entity_id is not None else None
            if entry is None:
                raise ChangeSetError(
                    f"{where}.entity_id: {entity_id!r} is no live entity of {track.key}.",
                    code="unknown_entity",
                    fields={f"{where}.entity_id": [f"no live entity of {track.key}"]},
                )
            if (entry.pk, field_name) in seen:
                raise ChangeSetError(
                    f"{where}: {entity_id}.{field_name} is changed twice in one change set.",
                    fields={where: ["the same entity and field twice"]},
                )
            seen.add((entry.pk, field_name))
            before = clean_value(field_name, raw.get("before"), f"{where}.before")
            after = clean_value(field_name, raw.get("after"), f"{where}.after")
        else:
            for key in ("before", "after"):
                problem = json_problem(raw.get(key), max_bytes=10_000)
                if problem:
                    raise ChangeSetError(
                        f"{where}.{key}: {problem}.", fields={f"{where}.{key}": [problem]}
                    )
            before, after = raw.get("before"), raw.get("after")
        items.append(
            _Item(
                position=position,
                entity_id=str(entity_id) if entity_id is not None else "",
                field=field_name,
                before=before,
                after=after,
                entry=entry,
            )
        )
    return track, items


def _lock_entries(track: Track, items: list[_Item]) -> dict[int, ExecutionManifestEntry]:
    """Lock every live entity of the channels the change set touches, in one order (platform,
    entity id): two change sets on one channel queue, so the second one's drift counts the first
    one's move."""
    channels = {item.entry.channel for item in items if item.entry is not None}
    return {
        entry.pk: entry
        for entry in ExecutionManifestEntry.objects.select_for_update()
        .filter(track=track, channel__in=channels)
        .order_by("platform", "entity_id")
    }


def _moved(items: list[_Item], locked: dict[int, ExecutionManifestEntry], currency: str):
    """The items whose `before` is no longer the live state, as sentences."""
    moved = []
    for item in items:
        if item.entry is None:
            continue
        live = live_value(locked[item.entry.pk], item.field)
        if live != item.before:
            moved.append(
                f"live {_field_words(item.field)} of {item.entity_id} is now "
                f"{value_text(item.field, live, currency)}, not "
                f"{value_text(item.field, item.before, currency)}"
            )
    return moved


def _verdict(track: Track, items: list[_Item], locked, policy: TenantPolicy, currency: str):
    entries = list(locked.values())
    now = timezone.now()
    return guardrails.evaluate(
        items=[
            guardrails.ProposedItem(
                entity_id=item.entity_id,
                channel=item.entry.channel if item.entry else "",
                field=item.field,
                before=item.before,
                after=item.after,
                first_launch=(
                    item.field == STATUS
                    and item.after == "active"
                    and locked[item.entry.pk].first_active_at is None
                ),
            )
            for item in items
        ],
        live_daily_budget=live_daily_budgets(entries),
        planned_daily_budget=planned_daily_budgets(track=track, on=tenant_today(track.tenant)),
        drift_before=applied_budget_drift(
            track=track, since=drift_window_start(track=track, policy=policy, now=now)
        ),
        optimization_pct=policy.auto_approve_optimization_under_pct,
        drift_pct=policy.drift_pct,
        first_launch_requires_human=policy.first_launch_requires_human,
        currency=currency,
    )


def _currency(track: Track) -> str:
    version = track.current_version
    return version.payload.get("currency", "") if version else ""


def _log(change_set: ChangeSet, kind: str, actor: Actor, message: str = "", **data) -> None:
    ChangeSetEvent.objects.create(
        change_set=change_set, kind=kind, actor=str(actor)[:150], message=message, data=data
    )


def _items_json(change_set: ChangeSet) -> list[dict]:
    return [
        {"entity_id": i.entity_id, "field": i.field, "before": i.before, "after": i.after}
        for i in change_set.items.all()
    ]


def _preview(change_set: ChangeSet, verdict: guardrails.Verdict, currency: str) -> dict:
    """The ticket's diff preview: sentences, the changes and the guardrail check."""
    sentences = []
    for check in verdict.channels:
        moved = percent(check.move_pct) if check.move_pct is not None else "from nothing"
        sentences.append(
            f"{check.channel.title()} daily budget {money_change(check.delta, currency)} "
            f"({money(check.live_daily_budget, currency)} → "
            f"{money(check.live_daily_budget + check.delta, currency)}, {moved})."
        )
    for entity_id in verdict.first_launches:
        sentences.append(f"{entity_id} goes live for the first time.")
    return {
        "summary": sentences or [verdict.reason],
        "changes": [
            {
                "field": f"{item['entity_id']}.{item['field']}",
                "before": item["before"],
                "after": item["after"],
            }
            for item in _items_json(change_set)
        ],
        "raw": {"change_set_id": change_set.change_set_id, **verdict.guardrails_json()},
    }


def _open_tickets(
    change_set: ChangeSet, verdict: guardrails.Verdict, actor: Actor, currency: str
) -> list[str]:
    preview = _preview(change_set, verdict, currency)
    platform = next(
        (i.manifest_entry.platform for i in change_set.items.all() if i.manifest_entry_id), ""
    )
    common = {
        "tenant": change_set.tenant,
        "actor": actor,
        "subject_type": SUBJECT_TYPE,
        "subject_id": change_set.change_set_id,
        "change_set_id": change_set.change_set_id,
        "run_id": change_set.run_id,
        "platform": platform,
        "requesting_agent": change_set.agent,
        "diff": preview,
        "summary": " ".join(preview["summary"]) + f" {verdict.reason}",
    }
    tickets = []
    if verdict.needs_a3:
        roles = ticket_required_roles(
            tenant=change_set.tenant,
            type=TicketType.A3,
            budget_increase_pct=verdict.budget_increase_pct,
        )
        tickets.append(
            ticket_open(
                type=TicketType.A3,
                title=f"Spend guardrail: {change_set.change_set_id} on {change_set.track.key}",
                required_roles=roles,
                **common,
            )
        )
    if verdict.needs_a2:
        tickets.append(
            ticket_open(
                type=TicketType.A2,
                title=f"First launch: {', '.join(verdict.first_launches)}"[:200],
                **common,
            )
        )
    return [ticket.public_id for ticket in tickets]


@transaction.atomic
def change_set_submit(*, tenant: Tenant, request: ChangeSetRequest, actor: Actor) -> ChangeSet:
    """Record a change set and apply it, send it for approval or block it (see module doc)."""
    reason = clean_text(request.reason, name="reason", max_length=REASON_MAX)
    if text_problem(request.change_set_id) or not request.change_set_id.strip():
        raise ChangeSetError("change_set_id is required.", fields={"change_set_id": ["required"]})
    if request.run_id and not subject_exists(
        SubjectKind.AGENT_RUN, tenant=tenant, subject_id=request.run_id
    ):
        raise ChangeSetError(
            f"This tenant has no run {request.run_id!r}.",
            code="unknown_run",
            fields={"run_id": ["no such run for this key's tenant"]},
        )
    blocked_by = run_block_reason(tenant=tenant, run_id=request.run_id)
    if blocked_by:
        raise Blocked(blocked_by, code="run_blocked")
    track, items = _clean_request(tenant, request)
    if request.kind == ChangeSetKind.AGENT and active_hold(track=track) is not None:
        raise Blocked(
            f"{track.key} is on an optimization hold (all spend paused): no change applies "
            "until an operator resumes it.",
            code="track_on_hold",
        )
    if ChangeSet.objects.filter(tenant=tenant, change_set_id=request.change_set_id).exists():
        raise Conflict(
            f"A change set {request.change_set_id!r} exists already: send a new id.",
            code="conflict",
        )
    policy = TenantPolicy.objects.get(tenant=tenant)
    currency = _currency(track)
    locked = _lock_entries(track, items)
    structural = any(item.field in STRUCTURAL_FIELDS for item in items)
    if not structural:
        moved = _moved(items, locked, currency)
        if moved:
            raise ChangeSetStale(
                "The live state moved: " + "; ".join(moved) + ". Propose again on what is live.",
                fields={"items": moved},
            )
    verdict = (
        guardrails.evaluate(
            items=[
                guardrails.ProposedItem(i.entity_id, "", i.field, i.before, i.after) for i in items
            ],
            live_daily_budget={},
            planned_daily_budget={},
            drift_before={},
            optimization_pct=policy.auto_approve_optimization_under_pct,
            drift_pct=policy.drift_pct,
            first_launch_requires_human=policy.first_launch_requires_human,
        )
        if structural
        else _verdict(track, items, locked, policy, currency)
    )
    now = timezone.now()
    change_set = ChangeSet.objects.create(
        tenant=tenant,
        change_set_id=request.change_set_id,
        track=track,
        run_id=request.run_id,
        agent=request.agent or actor.label,
        reason=reason,
        kind=request.kind,
        status=verdict.status,
        path=verdict.path,
        status_reason=verdict.reason,
        guardrails=verdict.guardrails_json(),
        reverts=request.reverts,
        created_by=str(actor)[:150],
        decided_at=now if verdict.status != ChangeSetStatus.PENDING_APPROVAL else None,
        applied_at=now if verdict.status == ChangeSetStatus.APPLIED else None,
    )
    ChangeSetItem.objects.bulk_create(
        [
            ChangeSetItem(
                change_set=change_set,
                position=item.position,
                manifest_entry=item.entry,
                entity_id=item.entity_id,
                channel=item.entry.channel if item.entry else "",
                field=item.field,
                before=item.before,
                after=item.after,
            )
            for item in items
        ]
    )
    _log(change_set, ChangeSetEventKind.PROPOSED, actor, reason, **request.extra)
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action=AuditAction.CHANGE_SET_PROPOSED,
        resource=change_set,
        payload=_items_json(change_set),
        data={
            "track": track.key,
            "kind": request.kind,
            "run_id": request.run_id,
            "status": verdict.status,
            "path": verdict.path,
            "reason": verdict.reason,
            "reverts": request.reverts.change_set_id if request.reverts else None,
        },
    )
    if verdict.status == ChangeSetStatus.BLOCKED:
        _log(change_set, ChangeSetEventKind.BLOCKED, actor, verdict.reason)
        return change_set
    if verdict.status == ChangeSetStatus.APPLIED:
        _apply_items(change_set, locked, actor, edits={}, applied_at=now)
        _log(change_set, ChangeSetEventKind.APPLIED, actor, verdict.reason)
        _audit_outcome(change_set, actor, AuditAction.CHANGE_SET_APPLIED)
        return change_set
    tickets = _open_tickets(change_set, verdict, actor, currency)
    change_set.ticket = tickets[0]
    change_set.save(update_fields=["ticket"])
    _log(change_set, ChangeSetEventKind.PENDING_APPROVAL, actor, verdict.reason, tickets=tickets)
    return change_set


def _audit_outcome(change_set: ChangeSet, actor: Actor, action: AuditAction, **data) -> None:
    audit_event_append(
        tenant=change_set.tenant_id,
        actor=actor,
        action=action,
        resource=change_set,
        data={
            "track": change_set.track.key,
            "status": change_set.status,
            "reason": change_set.status_reason,
            **data,
        },
    )


# --- Apply -----------------------------------------------------------------------------------
def _apply_items(
    change_set: ChangeSet,
    locked: dict[int, ExecutionManifestEntry],
    actor: Actor,
    *,
    edits: dict[int, Any],
    applied_at,
) -> None:
    """Write the change set's items (or the approver's smaller moves) to the live state and to
    the applied changes the drift scan reads. The caller compared every `before` already."""
    rows = []
    for item in change_set.items.all():
        entry = locked[item.manifest_entry_id]
        after = edits.get(item.position, item.after)
        state = dict(entry.state)
        state[item.field] = after
        fields = ["state", "updated_at"]
        entry.state = state
        if item.field == STATUS and after == "active" and entry.first_active_at is None:
            entry.first_active_at = applied_at
            fields.append("first_active_at")
        entry.save(update_fields=fields)
        delta = (
            Decimal(str(after)) - Decimal(str(item.before)) if item.field == DAILY_BUDGET else None
        )
        rows.append(
            AppliedChange(
                tenant_id=change_set.tenant_id,
                track_id=change_set.track_id,
                change_set=change_set,
                item=item,
                manifest_entry=entry,
                channel=entry.channel,
                field=item.field,
                before=item.before,
                after=after,
                delta=delta,
                applied_at=applied_at,
            )
        )
    AppliedChange.objects.bulk_create(rows)


def _lock_change_set(change_set: ChangeSet) -> tuple[ChangeSet, dict[int, ExecutionManifestEntry]]:
    """The change set, then its channels' live entities (config/locks.py)."""
    change_set = (
        ChangeSet.objects.select_for_update(of=("self",))
        .select_related("track", "tenant")
        .get(pk=change_set.pk)
    )
    channels = set(change_set.items.exclude(channel="").values_list("channel", flat=True))
    locked = {
        entry.pk: entry
        for entry in ExecutionManifestEntry.objects.select_for_update()
        .filter(track_id=change_set.track_id, channel__in=channels)
        .order_by("platform", "entity_id")
    }
    return change_set, locked


def _finish(change_set: ChangeSet, status: str, reason: str, **times) -> None:
    if status not in CHANGE_SET_TRANSITIONS[change_set.status]:
        raise Conflict(
            f"{change_set.change_set_id} is {change_set.get_status_display().lower()}; it can't "
            f"become {status}.",
            code="invalid_status",
        )
    change_set.status, change_set.status_reason = status, reason
    for name, value in times.items():
        setattr(change_set, name, value)
    change_set.save(update_fields=["status", "status_reason", *times])


def change_set_apply(*, change_set: ChangeSet, actor: Actor) -> ChangeSet:
    """Apply a change set whose tickets are all approved — only if the live state still equals
    every item's `before` (compare-and-swap). Otherwise nothing is applied, the change set is
    `stale` and says which entity moved, on its ticket and in its log. Runs inside the ticket
    decision's transaction, with the change set and its entities locked."""
    change_set, locked = _lock_change_set(change_set)
    if not change_set.is_pending:
        return change_set
    now = timezone.now()
    currency = _currency(change_set.track)
    items = [
        _Item(i.position, i.entity_id, i.field, i.before, i.after, locked.get(i.manifest_entry_id))
        for i in change_set.items.all()
    ]
    moved = _moved(items, locked, currency)
    if moved:
        message = (
            "Not applied: the live state moved since it was proposed — "
            + "; ".join(moved)
            + ". The agent proposes again on what is live."
        )
        _finish(change_set, ChangeSetStatus.STALE, message, decided_at=now)
        _log(change_set, ChangeSetEventKind.STALE, actor, message, moved=moved)
        _audit_outcome(change_set, actor, AuditAction.CHANGE_SET_STALE, moved=moved)
        ticket = Ticket.objects.filter(
            tenant=change_set.tenant, public_id=change_set.ticket
        ).first()
        if ticket is not None:
            # The system says what moved, not the person whose approval happened to be last.
            ticket_comment_add(ticket=ticket, actor=SAFE_APPLY_ACTOR, body=message)
        return change_set
    edits = approved_edits(change_set)
    _apply_items(change_set, locked, actor, edits=edits, applied_at=now)
    reason = "Applied after approval" + (" for a smaller move than asked." if edits else ".")
    _finish(change_set, ChangeSetStatus.APPLIED, reason, decided_at=now, applied_at=now)
    _log(change_set, ChangeSetEventKind.APPLIED, actor, reason, edited=bool(edits))
    _audit_outcome(
        change_set,
        actor,
        AuditAction.CHANGE_SET_APPLIED,
        approved={str(k): v for k, v in edits.items()},
    )
    return change_set


def change_set_reject(*, change_set: ChangeSet, actor: Actor, note: str) -> ChangeSet:
    """A person refused it: nothing is applied; its other open tickets are cancelled."""
    change_set, _locked = _lock_change_set(change_set)
    if not change_set.is_pending:
        return change_set
    _finish(change_set, ChangeSetStatus.REJECTED, note, decided_at=timezone.now())
    _log(change_set, ChangeSetEventKind.REJECTED, actor, note)
    _audit_outcome(change_set, actor, AuditAction.CHANGE_SET_REJECTED)
    _cancel_tickets(change_set, actor, f"{change_set.change_set_id} was rejected: {note}")
    return change_set


def _cancel_tickets(change_set: ChangeSet, actor: Actor, reason: str) -> None:
    for ticket in subject_blocking_tickets(
        tenant=change_set.tenant, subject_type=SUBJECT_TYPE, subject_id=change_set.change_set_id
    ).order_by("pk"):
        ticket_cancel(ticket=ticket, actor=actor, reason=reason[:REASON_MAX])


# --- Approve with an edit --------------------------------------------------------------------
@transaction.atomic
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
    comment = clean_text(comment, name="comment", max_length=REASON_MAX)
    subject_tickets_lock(
        tenant=change_set.tenant_id, subject_type=SUBJECT_TYPE, subject_id=change_set.change_set_id
    )
    change_set, locked = _lock_change_set(change_set)
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
    items = {item.position: item for item in change_set.items.all()}
    cleaned: dict[int, str] = {}
    currency = _currency(change_set.track)
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
        cleaned[position] = money_text(after)
    if not cleaned:
        raise ChangeSetError("Give the smaller move for at least one daily budget.")
    policy = TenantPolicy.objects.get(tenant_id=change_set.tenant_id)
    check = guardrails.evaluate(
        items=[
            guardrails.ProposedItem(
                entity_id=i.entity_id,
                channel=i.channel,
                field=i.field,
                before=i.before,
                after=cleaned.get(i.position, i.after),
            )
            for i in items.values()
            if i.field == DAILY_BUDGET
        ],
        live_daily_budget=live_daily_budgets(locked.values()),
        planned_daily_budget=planned_daily_budgets(
            track=change_set.track, on=tenant_today(change_set.tenant)
        ),
        drift_before=applied_budget_drift(
            track=change_set.track,
            since=drift_window_start(track=change_set.track, policy=policy, now=timezone.now()),
        ),
        optimization_pct=policy.auto_approve_optimization_under_pct,
        drift_pct=policy.drift_pct,
        first_launch_requires_human=False,
        currency=currency,
    )
    message = (
        "Approved for a smaller move: "
        + "; ".join(
            f"{items[p].entity_id} {money(items[p].before, currency)} → {money(v, currency)} "
            f"(asked {money(items[p].after, currency)})"
            for p, v in sorted(cleaned.items())
        )
        + f". Guardrails on what is applied: {check.reason}"
    )
    _log(
        change_set,
        ChangeSetEventKind.EDITED,
        actor,
        message,
        approved={str(p): v for p, v in cleaned.items()},
        guardrails=check.guardrails_json(),
    )
    audit_event_append(
        tenant=change_set.tenant_id,
        actor=actor,
        action=AuditAction.CHANGE_SET_EDITED,
        resource=change_set,
        data={"approved": {str(p): v for p, v in cleaned.items()}, "guardrails": check.reason},
    )
    ticket_decide(
        ticket=a3, actor=actor, verdict="approve", comment=(comment or message)[:REASON_MAX]
    )
    change_set.refresh_from_db()
    return change_set
