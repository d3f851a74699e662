"""What the change-set services share (private to the package): the values items carry, the
items against the live state, and the steps every transition of a change set takes — lock it,
change its status, append to its log, audit the outcome, apply its items."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import Conflict, DomainError
from config.formatting import money
from config.text import json_problem
from config.transactions import within_transaction
from config.writes import Writes
from optimization import guardrails
from optimization.drift import channel_drift_rows
from optimization.models import (
    CHANGE_SET_TRANSITIONS,
    DAILY_BUDGET,
    STATUS,
    AppliedChange,
    ChangeSet,
    ChangeSetEvent,
    ChangeSetKind,
    ExecutionManifestEntry,
)
from optimization.selectors import (
    live_daily_budgets,
)
from optimization.services.manifest import ENTITY_STATUSES
from plans.models import Track
from plans.schema import money_text
from tenants.models import TenantPolicy

SUBJECT_TYPE = "change_set"
MAX_BUDGET = Decimal("1e12")


class ChangeSetError(DomainError):
    """A change set the rules refuse; nothing was written."""

    code = "invalid_change_set"


class ChangeSetStale(Conflict):
    """An item's `before` is not the live state: the agent proposes again on what is live."""

    code = "stale_before"


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


def field_words(field_name: str) -> str:
    return field_name.replace("_", " ")


@dataclass(frozen=True)
class Item:
    position: int
    entity_id: str
    field: str
    before: Any
    after: Any
    entry: ExecutionManifestEntry | None


def moved_items(items: list[Item], locked: dict[int, ExecutionManifestEntry], currency: str):
    """The items whose `before` is no longer the live state, as sentences."""
    moved = []
    for item in items:
        if item.entry is None:
            continue
        live = live_value(locked[item.entry.pk], item.field)
        if live != item.before:
            moved.append(
                f"live {field_words(item.field)} of {item.entity_id} is now "
                f"{value_text(item.field, live, currency)}, not "
                f"{value_text(item.field, item.before, currency)}"
            )
    return moved


def guardrails_check(
    *,
    track: Track,
    items: list[guardrails.ProposedItem],
    entries: Iterable[ExecutionManifestEntry],
    policy: TenantPolicy,
    currency: str,
    first_launch_requires_human: bool,
) -> guardrails.GuardrailVerdict:
    """The guardrails (optimization/guardrails.py) on `items`: each channel's move against the
    live daily budgets of `entries`, and its drift against the approved plan of today (the one
    drift selector, optimization/drift.py) — for a submission, an approval for a smaller move,
    a rollback and a rollback of a rollback alike: none is exempt."""
    drifts = channel_drift_rows(track=track, now=timezone.now())
    return guardrails.evaluate(
        items=items,
        live_daily_budget=live_daily_budgets(entries),
        planned_daily_budget={row.channel: row.planned for row in drifts},
        drift_before={row.channel: row.net for row in drifts},
        optimization_pct=policy.auto_approve_optimization_under_pct,
        drift_pct=policy.drift_pct,
        first_launch_requires_human=first_launch_requires_human,
        currency=currency,
    )


def change_set_event(
    change_set: ChangeSet, kind: str, actor: Actor, message: str = "", **data
) -> ChangeSetEvent:
    """One line of the change set's log, not yet written (several are written in one statement,
    config/writes.py)."""
    return ChangeSetEvent(
        change_set=change_set, kind=kind, actor=str(actor)[:150], message=message, data=data
    )


@within_transaction
def change_set_log_append(
    change_set: ChangeSet, kind: str, actor: Actor, message: str = "", **data
) -> None:
    change_set_event(change_set, kind, actor, message, **data).save()


def change_set_outcome_event(change_set: ChangeSet, action: AuditAction, **data) -> dict:
    """The audit event of a change set's outcome, as audit_event_append's keywords (less the
    tenant and the actor)."""
    return {
        "action": action,
        "resource": change_set,
        "data": {
            "track": change_set.track.key,
            "status": change_set.status,
            "reason": change_set.status_reason,
            **data,
        },
    }


@within_transaction
def change_set_audit_outcome(
    change_set: ChangeSet, actor: Actor, action: AuditAction, **data
) -> None:
    audit_event_append(
        tenant=change_set.tenant_id,
        actor=actor,
        **change_set_outcome_event(change_set, action, **data),
    )


@within_transaction
def items_apply(
    change_set: ChangeSet,
    locked: dict[int, ExecutionManifestEntry],
    actor: Actor,
    *,
    edits: dict[int, Any],
    applied_at,
    writes: Writes | None = None,
) -> None:
    """Write the change set's items (or the approver's smaller moves) to the live state and to
    the applied changes the drift scan reads, in one statement — or gathered in the caller's
    `writes`, to go with the rest of its writes. The caller compared every `before` already."""
    rows = []
    moved: dict[int, ExecutionManifestEntry] = {}
    launched = False
    now = timezone.now()
    for item in change_set.items.all():
        entry = locked[item.manifest_entry_id]
        after = edits.get(item.position, item.after)
        state = dict(entry.state)
        state[item.field] = after
        entry.state, entry.updated_at = state, now
        if item.field == STATUS and after == "active" and entry.first_active_at is None:
            entry.first_active_at = applied_at
            launched = True
        moved[entry.pk] = entry
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
                aligns=change_set.kind == ChangeSetKind.ALIGNMENT,
                applied_at=applied_at,
            )
        )
    # Every entity in one UPDATE (the rows are locked already: change_set_lock, or the submit).
    fields = ["state", "updated_at", *(["first_active_at"] if launched else [])]
    batch = writes if writes is not None else Writes()
    batch.update(list(moved.values()), fields)
    batch.insert(rows)
    if writes is None:
        batch.send()


@within_transaction
def change_set_lock(change_set: ChangeSet) -> tuple[ChangeSet, dict[int, ExecutionManifestEntry]]:
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


@within_transaction
def change_set_finish(change_set: ChangeSet, status: str, reason: str, **times) -> None:
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
