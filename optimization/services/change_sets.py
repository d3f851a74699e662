"""Change sets: what an agent applied or wants to apply to a track's live state (docs/rules.md
"Execution and optimization", docs/agent-api.md "Execution, optimization, performance").

`change_set_submit` checks the request, locks the live entities of every channel it touches
(config/locks.py: subject, then manifest entries, then the audit chain head), compares each
item's `before` with the live state, runs the guardrails (optimization/guardrails.py) and either
applies the change set at once, opens its A3 (and/or A2) ticket, or blocks it as structural. A
change set waiting for approval applies when its tickets are approved — and only if the live
state still equals each `before` (approval.py `change_set_apply_within`); an approver may choose a
smaller move (`change_set_approve_with_edit`). Nothing here edits a change set's request: what
happens to it is appended to its log.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from django.db import transaction
from django.db.models import Exists, Value
from django.utils import timezone

from approvals.selectors import compliance_review_open, ticket_required_roles
from approvals.services import TicketRequest, ticket_open_within
from approvals.subjects import run_block_reason, subject_exists
from approvals.types import SubjectKind, TicketType
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_events_append_many
from config.errors import Blocked, Conflict
from config.formatting import money, money_change, percent
from config.text import REASON_MAX, clean_text, json_problem, text_problem
from config.transactions import within_transaction
from config.writes import Writes, next_ids
from optimization import guardrails
from optimization.models import (
    CREATIVE_ROTATION,
    STATUS,
    STRUCTURAL_FIELDS,
    TACTICAL_FIELDS,
    ChangeSet,
    ChangeSetEventKind,
    ChangeSetItem,
    ChangeSetKind,
    ChangeSetStatus,
    ExecutionManifestEntry,
)
from optimization.selectors import active_hold, active_holds
from optimization.services._common import (
    SUBJECT_TYPE,
    ChangeSetError,
    ChangeSetStale,
    Item,
    change_set_event,
    change_set_log_append,
    change_set_outcome_event,
    clean_value,
    field_words,
    guardrails_check,
    items_apply,
    moved_items,
)
from optimization.services.alignment import alignment_settle_within, alignment_verdict
from optimization.services.sync_checks import (
    reconciliations_waiting,
    refuse_entities_under_reconciliation,
    refuse_live_entities_on_accounts_not_onboarded,
)
from optimization.services.themes import refuse_unapproved_themes, themes_named
from plans.models import Track
from tenants.compliance import ComplianceProfileSpec, profile_spec, texts_of
from tenants.models import Tenant, TenantPolicy

MAX_ITEMS = 500


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


# --- Submit ----------------------------------------------------------------------------------
def _track(tenant: Tenant, request: ChangeSetRequest) -> Track:
    """The track the request names (with its version and the tenant's policy), and a request
    that has items, not too many."""
    track = (
        Track.objects.filter(tenant=tenant, key=request.track)
        .select_related("current_version", "tenant__policy")
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
    return track


def _lock_entries(track: Track, request: ChangeSetRequest) -> dict[int, ExecutionManifestEntry]:
    """Lock every live entity of the channels of the entities the request names, in one order
    (platform, entity id): two change sets on one channel queue, so the second one's drift
    counts the first one's move. The items are checked against these rows (locked first, so one
    statement both reads and locks them)."""
    wanted = {str(i.get("entity_id")) for i in request.items if i.get("entity_id") is not None}
    if not wanted:
        return {}
    named = ExecutionManifestEntry.objects.filter(track=track, entity_id__in=wanted)
    return {
        entry.pk: entry
        for entry in ExecutionManifestEntry.objects.select_for_update()
        .filter(track=track, channel__in=named.values("channel"))
        .order_by("platform", "entity_id")
    }


def _clean_items(
    request: ChangeSetRequest, track: Track, locked: dict[int, ExecutionManifestEntry]
) -> list[Item]:
    """The items the request names, each checked against the track's live entities; refused,
    naming the item at fault, at the first that isn't right."""
    entries = {entry.entity_id: entry for entry in locked.values()}
    seen: set[tuple[int, str]] = set()
    return [
        _clean_item(raw, position, track=track, entries=entries, seen=seen)
        for position, raw in enumerate(request.items)
    ]


@dataclass(frozen=True)
class _Checks:
    """What the submit reads in one query once the entities are locked: whether the track is on
    hold (read after the locks: a hold takes them all before it is recorded), whether the id is
    taken, whether an entity waits for reconciliation — and the ids the change set and its items
    will be written with (config/writes.py: they go in one statement)."""

    on_hold: bool
    taken: bool
    reconciling: bool
    change_set_ids: list[int] | None
    item_ids: list[int] | None


def _checks(tenant: Tenant, request: ChangeSetRequest, track: Track, items: list[Item]) -> _Checks:
    entry_ids = [item.entry.pk for item in items if item.entry is not None]
    reconciling = (
        Exists(
            reconciliations_waiting(
                tenant=tenant,
                entry_ids=entry_ids,
                restoring_too=request.kind == ChangeSetKind.AGENT,
            )
        )
        if entry_ids and request.kind in (ChangeSetKind.AGENT, ChangeSetKind.ALIGNMENT)
        else Value(False)
    )
    row = (
        Track.objects.filter(pk=track.pk)
        .values_list(
            Exists(active_holds(track=track)),
            Exists(ChangeSet.objects.filter(tenant=tenant, change_set_id=request.change_set_id)),
            reconciling,
            next_ids(ChangeSet, 1),
            next_ids(ChangeSetItem, len(items)),
        )
        .get()
    )
    return _Checks(*row)


def _clean_item(
    raw: dict,
    position: int,
    *,
    track: Track,
    entries: dict[str, ExecutionManifestEntry],
    seen: set[tuple[int, str]],
) -> Item:
    """One item: a tactical field of a live entity of the track (each entity and field once),
    or a structural field; its values as the manifest keeps them."""
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
    return Item(
        position=position,
        entity_id=str(entity_id) if entity_id is not None else "",
        field=field_name,
        before=before,
        after=after,
        entry=entry,
    )


def _paused_by_hold(track: Track) -> frozenset[str]:
    hold = active_hold(track=track)
    if hold is None:
        return frozenset()
    return frozenset(hold.pause.items.values_list("entity_id", flat=True))


def entries_as_resumed(
    track: Track, entries: Iterable[ExecutionManifestEntry]
) -> list[ExecutionManifestEntry]:
    """The entities as they run once the track's hold ends (copies; the same entities when the
    track is not on hold): what a change set made during a hold is judged on."""
    paused = _paused_by_hold(track)
    return [_as_resumed(entry, paused) for entry in entries]


def _as_resumed(entry: ExecutionManifestEntry, paused: Iterable[str]) -> ExecutionManifestEntry:
    """The entity as it runs once the hold ends (a copy: nothing is written)."""
    if entry.entity_id not in paused:
        return entry
    return ExecutionManifestEntry(
        pk=entry.pk,
        track_id=entry.track_id,
        channel=entry.channel,
        entity_id=entry.entity_id,
        platform=entry.platform,
        state={**entry.state, STATUS: "active"},
        first_active_at=entry.first_active_at,
    )


def _guardrail_verdict(
    track: Track,
    items: list[Item],
    locked,
    policy: TenantPolicy,
    currency: str,
    *,
    as_resumed: Iterable[str] = (),
) -> guardrails.GuardrailVerdict:
    """What the guardrails say. A structural change is blocked whatever the live state; any
    other is refused as stale when an item's `before` is no longer live. During a hold a change
    set (a rollback) is judged on spend as it runs once the hold ends — `as_resumed` names the
    entities the hold paused — and judged again then, before it applies."""
    if any(item.field in STRUCTURAL_FIELDS for item in items):
        return guardrails.evaluate(
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
    moved = moved_items(items, locked, currency)
    if moved:
        raise ChangeSetStale(
            "The live state moved: " + "; ".join(moved) + ". Propose again on what is live.",
            fields={"items": moved},
        )
    return guardrails_check(
        track=track,
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
        entries=[_as_resumed(entry, as_resumed) for entry in locked.values()],
        policy=policy,
        currency=currency,
        first_launch_requires_human=policy.first_launch_requires_human,
    )


def _items_json(change_set: ChangeSet) -> list[dict]:
    return [
        {"entity_id": i.entity_id, "field": i.field, "before": i.before, "after": i.after}
        for i in change_set.items.all()
    ]


def _preview(
    change_set: ChangeSet, guardrail_verdict: guardrails.GuardrailVerdict, currency: str
) -> dict:
    """The ticket's diff preview: sentences, the changes and the guardrail check."""
    sentences = []
    for check in guardrail_verdict.channels:
        moved = percent(check.move_pct) if check.move_pct is not None else "from nothing"
        sentences.append(
            f"{check.channel.title()} daily budget {money_change(check.delta, currency)} "
            f"({money(check.live_daily_budget, currency)} → "
            f"{money(check.live_daily_budget + check.delta, currency)}, {moved})."
        )
    for entity_id in guardrail_verdict.first_launches:
        sentences.append(f"{entity_id} goes live for the first time.")
    return {
        "summary": sentences or [guardrail_verdict.reason],
        "currency": currency,  # the budgets in "changes" are money in it
        "changes": [
            {
                "field": f"{item['entity_id']}.{item['field']}",
                "before": item["before"],
                "after": item["after"],
            }
            for item in _items_json(change_set)
        ],
        "raw": {"change_set_id": change_set.change_set_id, **guardrail_verdict.guardrails_json()},
    }


def _open_tickets(
    change_set: ChangeSet,
    guardrail_verdict: guardrails.GuardrailVerdict,
    actor: Actor,
    currency: str,
) -> list[str]:
    preview = _preview(change_set, guardrail_verdict, currency)
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
        "summary": " ".join(preview["summary"]) + f" {guardrail_verdict.reason}",
    }
    tickets = []
    if guardrail_verdict.needs_a3:
        roles = ticket_required_roles(
            tenant=change_set.tenant,
            type=TicketType.A3,
            budget_increase_pct=guardrail_verdict.budget_increase_pct,
        )
        tickets.append(
            ticket_open_within(
                TicketRequest(
                    type=TicketType.A3,
                    title=f"Spend guardrail: {change_set.change_set_id} on {change_set.track.key}",
                    required_roles=roles,
                    **common,
                )
            )
        )
    if guardrail_verdict.needs_a7:
        tickets.append(
            ticket_open_within(
                TicketRequest(
                    type=TicketType.A7,
                    title=f"Compliance review: {change_set.change_set_id} on "
                    f"{change_set.track.key}"[:200],
                    **common,
                )
            )
        )
    if guardrail_verdict.needs_a2:
        tickets.append(
            ticket_open_within(
                TicketRequest(
                    type=TicketType.A2,
                    title=f"First launch: {', '.join(guardrail_verdict.first_launches)}"[:200],
                    **common,
                )
            )
        )
    return [ticket.public_id for ticket in tickets]


@transaction.atomic(durable=True)
def change_set_submit(*, tenant: Tenant, request: ChangeSetRequest, actor: Actor) -> ChangeSet:
    """Record a change set and apply it, send it for approval or block it (see module doc)."""
    return change_set_submit_within(tenant=tenant, request=request, actor=actor)


@within_transaction
def change_set_submit_within(
    *, tenant: Tenant, request: ChangeSetRequest, actor: Actor
) -> ChangeSet:
    """change_set_submit as a step of a bigger transaction: a rollback, a hold, the agent API's
    idempotent write."""
    # Long on purpose: the submit's steps under one set of locks in the lock order (refusals,
    # locks, hold, guardrails, record, apply or open tickets); helpers would each need the locked
    # rows passed in.
    reason = clean_text(request.reason, name="reason", max_length=REASON_MAX)
    _refuse_for_its_run(tenant, request)
    track = _track(tenant, request)
    locked = _lock_entries(track, request)
    items = _clean_items(request, track, locked)
    checks = _checks(tenant, request, track, items)
    _refuse_on_hold_or_taken(request, track, checks)
    if checks.reconciling:  # names the entities and their tickets
        refuse_entities_under_reconciliation(
            tenant=tenant,
            entry_ids=[item.entry.pk for item in items if item.entry is not None],
            restoring_too=request.kind == ChangeSetKind.AGENT,
        )
    refuse_live_entities_on_accounts_not_onboarded(
        tenant=tenant,
        entities=[
            {**item.entry.as_dict(), "live": True}
            for item in items
            if item.entry is not None and item.field == STATUS and item.after == "active"
        ],
    )
    policy = track.tenant.policy  # read with the track (one statement for both)
    profile = profile_spec(policy.vertical_compliance_profile)
    _refuse_claims(profile, items)
    _refuse_in_compliance_review(tenant, track, items)
    currency = track.currency
    held = request.kind not in HOLD_KINDS and checks.on_hold
    if request.kind == ChangeSetKind.ALIGNMENT:
        # During a hold it is judged on the entities as they run once the hold ends.
        as_run = entries_as_resumed(track, locked.values()) if held else locked.values()
        guardrail_verdict, items = alignment_verdict(
            track, items, {e.pk: e for e in as_run}, currency
        )
    else:
        guardrail_verdict = _with_compliance(
            _guardrail_verdict(
                track,
                items,
                locked,
                policy,
                currency,
                as_resumed=_paused_by_hold(track) if held else (),
            ),
            profile,
            items,
        )
    waits = held and guardrail_verdict.status == ChangeSetStatus.APPLIED
    message = (
        f"Within the guardrails, but {track.key} is on hold: it applies when spend resumes, "
        "after the live state and the guardrails are checked again."
    )
    # The change set, its items, its log's lines, the applied changes and the live state are
    # gathered and written together (one statement), then the audit events (one more: the
    # tenant's chain head is locked from the append to the commit, so every other writer of the
    # tenant waits that long).
    writes = Writes()
    change_set = _record(
        tenant,
        request,
        track,
        items,
        guardrail_verdict,
        actor=actor,
        reason=reason,
        writes=writes,
        checks=checks,
        status=ChangeSetStatus.APPROVED_WAITING if waits else None,
        status_reason=message if waits else None,
    )
    events = [
        change_set_event(change_set, ChangeSetEventKind.PROPOSED, actor, reason, **request.extra)
    ]
    audits = [
        {
            "action": AuditAction.CHANGE_SET_PROPOSED,
            "resource": change_set,
            "payload": _items_json(change_set),
            "data": {
                "track": track.key,
                "kind": request.kind,
                "run_id": request.run_id,
                "status": guardrail_verdict.status,
                "path": guardrail_verdict.path,
                "reason": guardrail_verdict.reason,
                "reverts": request.reverts.change_set_id if request.reverts else None,
            },
        }
    ]
    if guardrail_verdict.status == ChangeSetStatus.BLOCKED:
        events.append(
            change_set_event(
                change_set, ChangeSetEventKind.BLOCKED, actor, guardrail_verdict.reason
            )
        )
    elif waits:
        events.append(change_set_event(change_set, ChangeSetEventKind.WAITING, actor, message))
        audits.append(change_set_outcome_event(change_set, AuditAction.CHANGE_SET_WAITING))
    elif guardrail_verdict.status == ChangeSetStatus.APPLIED:
        items_apply(
            change_set, locked, actor, edits={}, applied_at=change_set.applied_at, writes=writes
        )
        events.append(
            change_set_event(
                change_set, ChangeSetEventKind.APPLIED, actor, guardrail_verdict.reason
            )
        )
        audits.append(change_set_outcome_event(change_set, AuditAction.CHANGE_SET_APPLIED))
        if request.kind == ChangeSetKind.ALIGNMENT:
            _write_log(change_set, actor, writes, events, audits)
            events, audits = [], []
            alignment_settle_within(
                track=track, entries=list(locked.values()), actor=actor, change_set=change_set
            )
    else:
        # The proposal is written and audited before its tickets open (their audit follows it).
        _write_log(change_set, actor, writes, events, audits)
        events, audits = [], []
        tickets = _open_tickets(change_set, guardrail_verdict, actor, currency)
        change_set.ticket = tickets[0]
        change_set.save(update_fields=["ticket"])
        change_set_log_append(
            change_set,
            ChangeSetEventKind.PENDING_APPROVAL,
            actor,
            guardrail_verdict.reason,
            tickets=tickets,
        )
    _write_log(change_set, actor, writes, events, audits)
    return change_set


def _write_log(
    change_set: ChangeSet, actor: Actor, writes: Writes, events: list, audits: list[dict]
) -> None:
    """What `writes` gathered and the log lines in one statement, then the audit events in one
    more."""
    writes.insert(events)
    writes.send()
    audit_events_append_many(tenant=change_set.tenant_id, actor=actor, events=audits)


def _refuse_for_its_run(tenant: Tenant, request: ChangeSetRequest) -> None:
    """A change set needs an id, and the run it names must be the tenant's and not blocked."""
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


# The hold's own change sets: the pause that starts it and the resume that ends it.
HOLD_KINDS = frozenset({ChangeSetKind.HOLD, ChangeSetKind.RESUME})


# --- Compliance (tenants/compliance.py) -------------------------------------------------------
def _refuse_claims(profile: ComplianceProfileSpec, items: list[Item]) -> None:
    """A claim the tenant's profile refuses outright is refused, naming the rule: no review can
    approve it, so nothing is recorded."""
    for item in items:
        if item.field in STRUCTURAL_FIELDS:
            continue
        for text in texts_of(item.after):
            rule = profile.refused_claim(text)
            if rule is not None:
                where = f"items[{item.position}].after"
                raise ChangeSetError(
                    f"{where}: \u201c{text[:200]}\u201d is refused by the {profile.key} "
                    f"compliance profile, rule {rule.name} ({rule.words}).",
                    code="claim_refused",
                    fields={where: [f"refused: {rule.name}"]},
                )


def _launches_or_rotates_creative(item: Item) -> bool:
    """A rotation, or an entity's first go-live (resuming what was live launches nothing new)."""
    return item.field == CREATIVE_ROTATION or (
        item.field == STATUS
        and item.after == "active"
        and item.entry is not None
        and item.entry.first_active_at is None
    )


def _refuse_in_compliance_review(tenant: Tenant, track: Track, items: list[Item]) -> None:
    """An open A7 on the track or on an entity blocks every creative launch or rotation on it
    (423 blocked_by_compliance, naming the ticket) until it resolves."""
    entities = [
        item.entry.audit_id
        for item in items
        if item.entry is not None and _launches_or_rotates_creative(item)
    ]
    if not entities:
        return
    _refuse_unapproved_themes(tenant, items)
    ticket = compliance_review_open(tenant=tenant, track_key=track.key, entities=entities)
    if ticket is not None:
        raise Blocked(
            f"{ticket.public_id} (compliance review: {ticket.title}) is open on "
            f"{ticket.subject_id}: no creative launches or rotates there until it is decided.",
            code="blocked_by_compliance",
            ticket=ticket.public_id,
        )


def _refuse_unapproved_themes(tenant: Tenant, items: list[Item]) -> None:
    """Creatives carry their theme: a rotation naming a theme, or the launch of an entity whose
    state names one, goes live only once that theme is approved."""
    for item in items:
        if item.field == CREATIVE_ROTATION:
            named = themes_named(item.after)
        elif item.field == STATUS and item.entry is not None:
            named = themes_named(item.entry.state)
        else:
            continue
        refuse_unapproved_themes(
            tenant=tenant, theme_ids=named, what=f"items[{item.position}] ({item.entity_id})"
        )


def _with_compliance(
    verdict: guardrails.GuardrailVerdict, profile: ComplianceProfileSpec, items: list[Item]
) -> guardrails.GuardrailVerdict:
    """The guardrails' verdict, sent to compliance review (A7) when an item changes a field the
    tenant's profile guards: nothing applies until the A7 is approved."""
    guarded = sorted({item.field for item in items if item.field in profile.change_fields})
    if not guarded or verdict.status == ChangeSetStatus.BLOCKED:
        return verdict
    words = [field_words(name) for name in guarded]
    reasons = tuple(f"{word} changes need compliance review" for word in words)
    why = f"the {profile.key} profile sends {', '.join(words)} to compliance review (A7)"
    reason = (
        f"Waits for approval: {why}."
        if verdict.status == ChangeSetStatus.APPLIED
        else verdict.reason.rstrip(".") + f"; {why}."
    )
    return replace(
        verdict, status=ChangeSetStatus.PENDING_APPROVAL, compliance=reasons, reason=reason
    )


def _refuse_on_hold_or_taken(request: ChangeSetRequest, track: Track, checks: _Checks) -> None:
    if request.kind == ChangeSetKind.AGENT and checks.on_hold:
        raise Blocked(
            f"{track.key} is on an optimization hold (all spend paused): no change applies "
            "until an operator resumes it.",
            code="track_on_hold",
        )
    if checks.taken:
        raise Conflict(
            f"A change set {request.change_set_id!r} exists already: send a new id.",
            code="conflict",
        )


def _record(
    tenant: Tenant,
    request: ChangeSetRequest,
    track: Track,
    items: list[Item],
    guardrail_verdict: guardrails.GuardrailVerdict,
    *,
    actor: Actor,
    reason: str,
    writes: Writes,
    checks: _Checks,
    status: str | None = None,
    status_reason: str | None = None,
) -> ChangeSet:
    """The change set as proposed, with the guardrails' guardrail_verdict, and its items (in
    `status` when it is not the verdict's: within the guardrails during a hold, it waits),
    gathered in `writes` with the ids `checks` claimed."""
    now = timezone.now()
    status = status or guardrail_verdict.status
    change_set = ChangeSet(
        pk=checks.change_set_ids[0] if checks.change_set_ids else None,
        tenant=tenant,
        change_set_id=request.change_set_id,
        track=track,
        run_id=request.run_id,
        agent=request.agent or actor.label,
        reason=reason,
        kind=request.kind,
        status=status,
        path=guardrail_verdict.path,
        status_reason=status_reason or guardrail_verdict.reason,
        guardrails=guardrail_verdict.guardrails_json(),
        reverts=request.reverts,
        created_by=str(actor)[:150],
        decided_at=now if status != ChangeSetStatus.PENDING_APPROVAL else None,
        applied_at=now if status == ChangeSetStatus.APPLIED else None,
    )
    writes.insert([change_set])
    item_ids = checks.item_ids or [None] * len(items)
    created = [
        ChangeSetItem(
            pk=item_id,
            change_set=change_set,
            position=item.position,
            manifest_entry=item.entry,
            entity_id=item.entity_id,
            channel=item.entry.channel if item.entry else "",
            field=item.field,
            before=item.before,
            after=item.after,
        )
        for item, item_id in zip(items, item_ids, strict=True)
    ]
    writes.insert(created)
    # The items as they will be written (with their ids): what change_set.items.all() returns
    # from here on, without reading them back.
    written = change_set.items.get_queryset()
    written._result_cache, written._prefetch_done = created, True
    change_set._prefetched_objects_cache = {"items": written}
    return change_set
