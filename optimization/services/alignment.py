"""Alignment change sets and re-pointing (issue 16 item 5, docs/rules.md "Execution aligns").

- `alignment_version_approved` (registered with plans.live, called in the approval's transaction):
  the version's remaining delta is alignment work (optimization/alignment.py); when something
  remains, `alignment.due` is emitted with its due time. Entities already running their target
  are re-pointed to the version right after the approval commits (`alignment_settle`): the
  approval holds the audit chain head, and the manifest entries are locked before it
  (config/locks.py).
- `alignment_verdict`: an alignment change set moves each field exactly to its target, under the
  channel locks of the submit; anything else is refused 422 `not_alignment`, nothing written. It
  asks for no ticket: the plan was approved.
- `alignment_settle_within`: after an alignment change set applies, every entity of the track
  now running its target is re-pointed to the version (audited).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from django.db import transaction

from approvals.events import LifecycleEvent, LifecycleKind, lifecycle_emit
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.transactions import within_transaction
from optimization import guardrails
from optimization.alignment import TrackAlignment, track_alignment
from optimization.models import (
    DAILY_BUDGET,
    ChangePath,
    ChangeSetStatus,
    ExecutionManifestEntry,
    Reconciliation,
    ReconciliationStatus,
)
from optimization.services._common import (
    ChangeSetError,
    ChangeSetStale,
    Item,
    live_value,
    moved_items,
)
from optimization.services.reconcile import reconciliation_restored_within
from plans.models import PlanVersion, Track

ALIGN_ACTOR = Actor.system("alignment")


def alignment_version_approved(version: PlanVersion, actor: Actor) -> None:
    """In the approval's transaction: emit `alignment.due` when the live entities must move,
    and re-point the ones already aligned once the approval commits."""
    track = Track.objects.select_related("current_version", "tenant").get(pk=version.track_id)
    alignment = track_alignment(track=track)
    if not alignment.aligned:
        lifecycle_emit(
            [
                LifecycleEvent(
                    kind=LifecycleKind.ALIGNMENT_DUE,
                    tenant_id=version.tenant_id,
                    actor_label=str(actor)[:150],
                    data={
                        "tenant": track.tenant.slug,
                        "track": track.key,
                        "version": version.number,
                        "due_at": alignment.due_at.isoformat(),
                        "to_align": alignment.to_align,
                        "entities": [t.as_json() for t in alignment.entities],
                    },
                )
            ]
        )
    if alignment.settled:
        track_id = track.pk
        transaction.on_commit(lambda: alignment_settle(track_id=track_id, actor=ALIGN_ACTOR))


@transaction.atomic(durable=True)
def alignment_settle(*, track_id: int, actor: Actor) -> list[str]:
    """Re-point every entity of the track that runs its target (idempotent: none is left the
    second time)."""
    track = Track.objects.select_related("current_version", "tenant").get(pk=track_id)
    entries = list(
        ExecutionManifestEntry.objects.select_for_update()
        .filter(track=track)
        .order_by("platform", "entity_id")
    )
    return alignment_settle_within(track=track, entries=entries, actor=actor)


@within_transaction
def alignment_settle_within(
    *, track: Track, entries: list[ExecutionManifestEntry], actor: Actor, change_set=None
) -> list[str]:
    """Re-point the entities among `entries` (locked by the caller) whose live value equals the
    approved version's target; one audit event names them and what is left to align. The
    restorations `change_set` (an applied alignment) carried out are closed."""
    if change_set is not None:
        _restorations_close(change_set, actor)
    alignment = track_alignment(track=track, entries=entries)
    settled = [e for e in entries if e.pk in set(alignment.settled)]
    if not settled:
        return []
    moved = []
    for entry in settled:
        before = entry.plan_version
        entry.plan_version = alignment.version
        entry.save(update_fields=["plan_version", "updated_at"])
        moved.append({"entity": entry.audit_id, "from": before, "to": alignment.version})
    after = track_alignment(track=track, entries=entries)
    audit_event_append(
        tenant=track.tenant,
        actor=actor,
        action=AuditAction.MANIFEST_ALIGNED,
        resource=("track", track.key),
        plan_version=alignment.version,
        data={"track": track.key, "re_pointed": moved, "left": after.to_align},
    )
    return [m["entity"] for m in moved]


def _restorations_close(change_set, actor: Actor) -> None:
    """The manifest's values an A6 asked to restore are back on the platform: the alignment
    change set that put them there closes each reconciliation (compare-and-swap, audited), and
    the entity takes automated changes again."""
    entry_ids = [i.manifest_entry_id for i in change_set.items.all() if i.manifest_entry_id]
    restoring = Reconciliation.objects.filter(
        manifest_entry_id__in=entry_ids, status=ReconciliationStatus.RESTORING
    ).select_related("manifest_entry")
    for reconciliation in restoring.order_by("pk"):
        reconciliation_restored_within(
            reconciliation=reconciliation, actor=actor, change_set=change_set
        )


def _same(field_name: str, a, b) -> bool:
    if field_name == DAILY_BUDGET:
        try:
            return Decimal(str(a)) == Decimal(str(b))
        except ArithmeticError:
            return False
    return a == b


def alignment_refusals(alignment: TrackAlignment, items: list[Item]) -> list[str]:
    """Why each item is not exactly a move to its target ([] when every one is)."""
    if alignment.aligned:
        return [f"{alignment.track.key} runs v{alignment.version} already: nothing to align."]
    problems = []
    for item in items:
        where = f"items[{item.position}]"
        target = alignment.target_of(item.entry.pk, item.field) if item.entry else None
        if target is None:
            problems.append(f"{where}: {item.entity_id}.{item.field} has nothing to align")
        elif not _same(item.field, item.after, target.target):
            problems.append(
                f"{where}: {item.entity_id}.{item.field} must move to {target.target} "
                f"exactly, not {item.after}"
            )
        elif target.restores is not None and not (
            _same(item.field, item.before, target.live)
            or _same(item.field, item.before, live_value(item.entry, item.field))
        ):
            problems.append(
                f"{where}: {item.entity_id}.{item.field} runs {target.live} on the platform, "
                f"not {item.before}"
            )
    return problems


def _restoring_as_manifest(alignment: TrackAlignment, items: list[Item]) -> list[Item]:
    """A restore moves the platform back to the manifest's value: the manifest itself does not
    move, so the item is recorded from the manifest's value to it (no drift, the compare-and-swap
    on the manifest holds)."""
    restored = []
    for item in items:
        target = alignment.target_of(item.entry.pk, item.field) if item.entry else None
        if target is not None and target.restores is not None:
            item = replace(item, before=live_value(item.entry, item.field))
        restored.append(item)
    return restored


def _alignment_with_locked(
    track: Track, locked: dict[int, ExecutionManifestEntry]
) -> TrackAlignment:
    """The track's alignment, reading the locked entities as the caller holds them."""
    entries = ExecutionManifestEntry.objects.filter(track=track).order_by("platform", "entity_id")
    by_pk = {**{e.pk: e for e in entries}, **locked}
    return track_alignment(track=track, entries=list(by_pk.values()))


def alignment_missing_after_hold(
    change_set, items: list[Item], locked: dict[int, ExecutionManifestEntry]
) -> str:
    """An alignment change set that waited for a hold, checked again when it ends: why it no
    longer moves each field exactly to its target ("" when it still does)."""
    problems = alignment_refusals(_alignment_with_locked(change_set.track, locked), items)
    return ("it is no alignment any more: " + "; ".join(problems) + ".") if problems else ""


def alignment_verdict(
    track: Track, items: list[Item], locked: dict[int, ExecutionManifestEntry], currency: str
) -> tuple[guardrails.GuardrailVerdict, list[Item]]:
    """The verdict on an alignment change set, its entities locked: applied (no ticket) when it
    moves each field exactly to the approved version's target; refused otherwise. With the
    items as recorded (a restore's from the manifest's value)."""
    alignment = _alignment_with_locked(track, locked)
    problems = alignment_refusals(alignment, items)
    if problems:
        raise ChangeSetError(
            "An alignment change set moves each field exactly to its target "
            f"(GET /api/v1/tracks/{track.key}/alignment): " + "; ".join(problems) + ".",
            code="not_alignment",
            fields={"items": problems},
        )
    items = _restoring_as_manifest(alignment, items)
    moved = moved_items(items, locked, currency)
    if moved:
        raise ChangeSetStale(
            "The live state moved: " + "; ".join(moved) + ". Propose again on what is live.",
            fields={"items": moved},
        )
    verdict = guardrails.GuardrailVerdict(
        status=ChangeSetStatus.APPLIED,
        path=ChangePath.REVISE,
        reason=f"Alignment with approved v{track.current_version.number}: no approval needed.",
    )
    return verdict, items
