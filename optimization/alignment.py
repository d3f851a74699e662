"""Alignment work (issue 16 item 5, docs/rules.md "Execution aligns"): what the live entities of a
track must still change to run its approved version, per entity and field, and by when.

One selector, `track_alignment`, read by the API (`GET /api/v1/tracks/{track}/alignment`), the
track, version and manifest pages ("aligned" / "n to align"), the dashboard and the metrics, and
by the alignment change set's exactness check (optimization/services/alignment.py).

The targets come from the version's remaining delta recorded at its approval (plans/diff.py
`manifest_diff`, per channel): a channel the plan drops or does not run that day is paused
(`status` → paused); otherwise the channel's planned daily budget, less what its entities already
re-pointed to the version run, is shared among the entities still to align in proportion to their
live budgets (equally when none spends), in cents, the last taking the rounding. An entity whose
live value equals its target is aligned and is re-pointed to the version.

While the track is on hold ("Pause all spend") the work waits, it is not done: the entities the
hold paused count as the live entities they are again on resume (their budgets still to move, the
same targets as before the hold), `on_hold` says so, and none of them is re-pointed meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from approvals.sla import tenant_hours_due_at
from optimization.models import (
    DAILY_BUDGET,
    STATUS,
    ExecutionManifestEntry,
    Reconciliation,
    ReconciliationStatus,
    TrackHold,
)
from optimization.selectors import entry_daily_budget, entry_is_live
from plans.models import PlanVersion, Track
from plans.schema import money_text
from tenants.models import TenantPolicy

CENT = Decimal("0.01")
ZERO = Decimal("0")
PAUSED = "paused"


@dataclass(frozen=True)
class AlignmentTarget:
    """One field of one live entity and the value the approved version wants there."""

    entry_id: int
    entity_id: str
    platform: str
    channel: str
    field: str
    live: str
    target: str
    # The reconciliation (A6 decided "restore the manifest's value") this target restores: `live`
    # is what the platform runs, `target` the manifest's value (issue 17 item 5).
    restores: int | None = None

    def as_json(self) -> dict:
        return {
            "entity_id": self.entity_id,
            "platform": self.platform,
            "field": self.field,
            "live": self.live,
            "target": self.target,
        }


@dataclass(frozen=True)
class HoldNote:
    """The track's active hold as the alignment reads it: the entities it paused (manifest entry
    ids), which run again on resume."""

    reason: str
    started_at: datetime
    paused: frozenset[int]


def _active_hold(track: Track) -> HoldNote | None:
    """One query: the active hold of `track` with the entities its pause change set paused."""
    rows = list(
        TrackHold.objects.filter(track=track, ended_at__isnull=True).values_list(
            "reason", "started_at", "pause__items__manifest_entry_id"
        )
    )
    if not rows:
        return None
    return HoldNote(
        reason=rows[0][0],
        started_at=rows[0][1],
        paused=frozenset(pk for _reason, _at, pk in rows if pk is not None),
    )


@dataclass(frozen=True)
class TrackAlignment:
    """The track's alignment with its approved version: `entities` lists what is still to do;
    `settled` the entities not yet re-pointed whose live value already equals their target."""

    track: Track
    version: int | None
    approved_at: datetime | None
    due_at: datetime | None
    entities: list[AlignmentTarget] = field(default_factory=list)
    settled: list[int] = field(default_factory=list)  # manifest entry ids
    now: datetime | None = None
    hold: HoldNote | None = None  # the track's active hold: the work waits for its end

    @property
    def aligned(self) -> bool:
        return not self.entities

    @property
    def to_align(self) -> int:
        """How many entities are still to align (one entity may have one field to move)."""
        return len({target.entry_id for target in self.entities})

    @property
    def overdue(self) -> bool:
        return bool(self.entities) and self.due_at is not None and self.now > self.due_at

    @property
    def words(self) -> str:
        """What the pages say: "aligned", "1 to align", "3 to align"."""
        return "aligned" if self.aligned else f"{self.to_align} to align"

    def as_json(self) -> dict:
        return {
            "version": self.version,
            "aligned": self.aligned,
            "due_at": self.due_at,
            "entities": [target.as_json() for target in self.entities],
            "on_hold": self.hold is not None,
            "hold": None
            if self.hold is None
            else {"reason": self.hold.reason, "started_at": self.hold.started_at},
        }

    def target_of(self, entry_id: int, field_name: str) -> AlignmentTarget | None:
        return next(
            (t for t in self.entities if t.entry_id == entry_id and t.field == field_name), None
        )


def alignment_due_at(version: PlanVersion, *, policy: TenantPolicy | None = None) -> datetime:
    """When alignment with `version` is due: `alignment_sla_hours` business hours after its
    approval, on the tenant's calendar."""
    policy = policy or TenantPolicy.objects.get(tenant_id=version.tenant_id)
    return tenant_hours_due_at(
        opened_at=version.approved_at,
        hours=policy.alignment_sla_hours,
        tenant=version.tenant,
        policy=policy,
    )


def track_alignment(
    *,
    track: Track,
    entries: list[ExecutionManifestEntry] | None = None,
    policy: TenantPolicy | None = None,
    now: datetime | None = None,
    read_hold: bool = False,
) -> TrackAlignment:
    """The alignment work of `track` against its current (approved) version. `entries` are the
    track's manifest entries when the caller holds them locked (the alignment change set). The
    track's hold is read when there is work it bears on, or always with `read_hold` (the API's
    `on_hold`, which an agent reads even when nothing is left to align)."""
    now = now or timezone.now()
    version = track.current_version
    if version is None or version.approved_at is None:
        return TrackAlignment(track=track, version=None, approved_at=None, due_at=None, now=now)
    if entries is None:
        entries = list(
            ExecutionManifestEntry.objects.filter(track=track)
            .annotate(restoring=Exists(_restoring_of(OuterRef("pk"))))
            .order_by("platform", "entity_id")
        )
    hold = None
    if read_hold or any(e.plan_version != version.number for e in entries):
        hold = _active_hold(track)
    paused_by_hold = hold.paused if hold is not None else frozenset()

    def runs(entry: ExecutionManifestEntry) -> bool:
        """Live now, or paused by the hold and live again on resume."""
        return entry_is_live(entry.state) or entry.pk in paused_by_hold

    targets, settled = _delta_targets(version, entries, runs)
    targets = _restore_targets(entries) + targets
    return TrackAlignment(
        track=track,
        version=version.number,
        approved_at=version.approved_at,
        # Nothing is due once everything is aligned (and the pages then read no policy).
        due_at=alignment_due_at(version, policy=policy) if targets else None,
        entities=targets,
        settled=settled,
        now=now,
        hold=hold,
    )


def _delta_targets(
    version, entries: list[ExecutionManifestEntry], runs
) -> tuple[list[AlignmentTarget], list[int]]:
    """What the version's remaining delta leaves to align on the entries still pointing at an
    older version, and the entries already running their target (settled)."""
    targets: list[AlignmentTarget] = []
    settled: list[int] = []
    for row in (version.remaining_delta or {}).get("channels", []):
        in_channel = [e for e in entries if e.channel == row["channel"]]
        waiting = [e for e in in_channel if e.plan_version != version.number]
        if not waiting:
            continue
        for entry, field_name, live, target in _channel_targets(
            Decimal(row["target"]), in_channel, waiting, version.number, runs
        ):
            if live == target:
                settled.append(entry.pk)
            else:
                targets.append(
                    AlignmentTarget(
                        entry_id=entry.pk,
                        entity_id=entry.entity_id,
                        platform=entry.platform,
                        channel=entry.channel,
                        field=field_name,
                        live=live,
                        target=target,
                    )
                )
    return targets, settled


def _value_text(field_name: str, value) -> str:
    if field_name == DAILY_BUDGET and value is not None:
        return money_text(Decimal(str(value)))
    return "" if value is None else str(value)


def _restoring_of(entry):
    """The reconciliations waiting for the agent to restore the manifest's value on `entry` (a
    primary key, a list of them or an OuterRef)."""
    lookup = "manifest_entry_id__in" if isinstance(entry, list) else "manifest_entry_id"
    return Reconciliation.objects.filter(**{lookup: entry}, status=ReconciliationStatus.RESTORING)


def _restore_targets(entries: list[ExecutionManifestEntry]) -> list[AlignmentTarget]:
    """The manifest's values an admin decided to restore on the platform (an A6 rejected): each
    waits for the agent's alignment change set."""
    by_pk = {e.pk: e for e in entries}
    if not any(getattr(e, "restoring", True) for e in entries):
        return []  # read with the entries already: nothing to restore, no query
    restoring = _restoring_of(list(by_pk)).order_by("manifest_entry_id")
    return [
        AlignmentTarget(
            entry_id=r.manifest_entry_id,
            entity_id=by_pk[r.manifest_entry_id].entity_id,
            platform=by_pk[r.manifest_entry_id].platform,
            channel=by_pk[r.manifest_entry_id].channel,
            field=name,
            live=_value_text(name, pair["platform"]),
            target=_value_text(name, pair["manifest"]),
            restores=r.pk,
        )
        for r in restoring
        for name, pair in sorted(r.differences.items())
    ]


def _channel_targets(
    planned: Decimal,
    in_channel: list[ExecutionManifestEntry],
    waiting: list[ExecutionManifestEntry],
    number: int,
    runs=lambda entry: entry_is_live(entry.state),
) -> list[tuple[ExecutionManifestEntry, str, str, str]]:
    """(entry, field, live, target) for each entity of a channel still to re-point; `runs` says
    which entities spend (the held ones do again on resume)."""
    if planned == ZERO:
        return [
            (
                entry,
                STATUS,
                "active" if runs(entry) else PAUSED,
                PAUSED,
            )
            for entry in waiting
        ]
    done = sum(
        (entry_daily_budget(e.state) for e in in_channel if e.plan_version == number and runs(e)),
        ZERO,
    )
    running = [e for e in waiting if runs(e)]
    # A paused entity of a channel the plan runs spends nothing: nothing to move on it.
    rows = [(e, DAILY_BUDGET, "paused", "paused") for e in waiting if e not in running]
    rest = max(planned - done, ZERO)
    lives = [entry_daily_budget(e.state) for e in running]
    total = sum(lives, ZERO)
    shared = ZERO
    for position, (entry, live) in enumerate(zip(running, lives, strict=True)):
        if position == len(running) - 1:
            share = rest - shared
        elif total > ZERO:
            share = (rest * live / total).quantize(CENT, rounding=ROUND_HALF_UP)
        else:
            share = (rest / len(running)).quantize(CENT, rounding=ROUND_HALF_UP)
        shared += share
        rows.append((entry, DAILY_BUDGET, money_text(live), money_text(share)))
    return rows


def open_alignments(*, tenant_ids, now: datetime | None = None) -> list[TrackAlignment]:
    """Every track of the tenants with alignment work left, the most overdue first: one query
    finds the tracks whose entities do not all point at the current version (the only query when
    every track is aligned), then each track's alignment (the dashboard's panel and the metrics
    read this)."""
    now = now or timezone.now()
    track_ids = (
        ExecutionManifestEntry.objects.filter(
            tenant_id__in=list(tenant_ids), track__current_version__approved_at__isnull=False
        )
        .exclude(plan_version=F("track__current_version__number"))
        .values_list("track_id", flat=True)
        .distinct()
    )
    tracks = list(
        Track.objects.filter(pk__in=track_ids).select_related("current_version__tenant", "tenant")
    )
    if not tracks:
        return []
    policies = {
        p.tenant_id: p
        for p in TenantPolicy.objects.filter(tenant_id__in={t.tenant_id for t in tracks})
    }
    found = [
        track_alignment(track=track, policy=policies.get(track.tenant_id), now=now)
        for track in tracks
    ]
    return sorted((a for a in found if not a.aligned), key=lambda a: (a.due_at, a.track.key))
