"""The execution manifest's sync: what an Execution agent calls after it created or changed
platform entities (PUT /api/v1/tracks/{track}/manifest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import DomainError
from config.text import json_problem
from optimization.models import ExecutionManifestEntry
from optimization.selectors import entry_is_live
from optimization.services.launches import LaunchGate
from optimization.services.sync_checks import (
    refuse_sync_budget_moves,
    refuse_sync_going_live_on_hold,
    refuse_sync_on_accounts_not_onboarded,
    refuse_sync_structural_moves,
    refuse_sync_under_reconciliation,
)
from optimization.services.themes import refuse_unapproved_themes, themes_named
from plans.models import FROZEN_STATUSES, PlanVersion, Track
from plans.schema import money_text

MAX_ENTRIES = 1000
MAX_NUMBER = 2**31 - 1  # the largest plan version number the column holds
ENTITY_STATUSES = ("active", "paused", "removed", "pending", "draft", "ended")


class ManifestError(DomainError):
    """Bad manifest input; nothing was written. `code` names it for the API."""

    code = "invalid_manifest"


def _refuse_unstorable(value: Any, where: str) -> None:
    """What no database keeps (config/text.py) is refused before the INSERT fails."""
    problem = json_problem(value)
    if problem:
        raise ManifestError(f"{where}: {problem}", fields={where: [problem]})


def _text(entry: dict, key: str, where: str, max_length: int) -> str:
    value = entry.get(key)
    if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
        raise ManifestError(f"{where}.{key}: required, a non-empty string")
    text = str(value).strip()
    _refuse_unstorable(text, f"{where}.{key}")
    if len(text) > max_length:
        raise ManifestError(f"{where}.{key}: at most {max_length} characters")
    return text


def _clean_state(state: Any, where: str) -> dict:
    if not isinstance(state, dict):
        raise ManifestError(f"{where}.state: must be an object (daily_budget, status, …)")
    cleaned = dict(state)
    if "daily_budget" in cleaned:
        raw = cleaned["daily_budget"]
        try:
            if isinstance(raw, bool):
                raise InvalidOperation
            amount = Decimal(str(raw))
        except (InvalidOperation, ValueError):
            raise ManifestError(f"{where}.state.daily_budget: must be an amount") from None
        if not amount.is_finite() or amount < 0 or amount > Decimal("1e12"):
            raise ManifestError(f"{where}.state.daily_budget: must be an amount >= 0")
        cleaned["daily_budget"] = money_text(amount)
    if "status" in cleaned:
        status = str(cleaned["status"]).strip().lower()
        if status not in ENTITY_STATUSES:
            raise ManifestError(
                f"{where}.state.status: one of {', '.join(ENTITY_STATUSES)}, not {status!r}"
            )
        cleaned["status"] = status
    _refuse_unstorable(cleaned, f"{where}.state")
    return cleaned


def _clean_entries(entries: Any) -> list[dict]:
    if not isinstance(entries, list) or not entries:
        raise ManifestError("entries: a non-empty list")
    if len(entries) > MAX_ENTRIES:
        raise ManifestError(f"entries: at most {MAX_ENTRIES} per call")
    cleaned, seen = [], set()
    for index, entry in enumerate(entries):
        where = f"entries[{index}]"
        if not isinstance(entry, dict):
            raise ManifestError(f"{where}: must be an object")
        platform = _text(entry, "platform", where, 60).lower()
        entity_id = _text(entry, "entity_id", where, 120)
        channel = _text(entry, "channel", where, 60).lower()
        number = entry.get("plan_version")
        if isinstance(number, bool) or not isinstance(number, int) or not 1 <= number <= MAX_NUMBER:
            raise ManifestError(f"{where}.plan_version: the number of a plan version")
        if (platform, entity_id) in seen:
            raise ManifestError(f"{where}: {platform}:{entity_id} is listed twice")
        seen.add((platform, entity_id))
        cleaned.append(
            {
                "platform": platform,
                "entity_id": entity_id,
                "channel": channel,
                "plan_version": number,
                "state": _clean_state(entry.get("state", {}), where),
            }
        )
    return cleaned


@dataclass(frozen=True)
class ManifestSyncResult:
    """What a sync did: how many entries it carried and, when entities it brought live for the
    first time wait for their launch confirmation, the A2 and the entities waiting."""

    upserted: int
    ticket: str | None = None
    waiting_for_launch: dict[str, str] = field(default_factory=dict)


@transaction.atomic(durable=True)
def manifest_sync(
    *, tenant, track_key: str, entries: Any, actor: Actor, launched_by: str = ""
) -> ManifestSyncResult:
    """Upsert manifest entries of one track (key: tenant, platform, entity_id). Every
    plan_version must be an approved (or superseded) version of this track. Sending the same
    entries again changes nothing and writes no audit row.

    An entity the sync brings live for the first time waits for an A2 when the tenant asks for
    one (optimization/services/launches.py); `launched_by` is only for worlds imported already
    live (the seed, tests) and says who confirmed their launch."""
    track = Track.objects.filter(tenant=tenant, key=track_key).first()
    if track is None:
        raise ManifestError(
            f"No track {track_key!r} for this tenant.", code="unknown_track", status=404
        )
    cleaned = _clean_entries(entries)
    _refuse_unknown_versions(tenant, track, cleaned)
    refuse_sync_on_accounts_not_onboarded(tenant=tenant, cleaned=cleaned)
    _refuse_live_creatives_of_unapproved_themes(tenant, cleaned)
    gate = LaunchGate.for_sync(tenant=tenant, track=track, actor=actor, launched_by=launched_by)
    rows, created = _locked_rows_inserting_missing(tenant, track, cleaned)
    refuse_sync_under_reconciliation(tenant=tenant, rows=rows, cleaned=cleaned)
    refuse_sync_budget_moves(rows=rows, cleaned=cleaned, created=created)
    refuse_sync_structural_moves(track=track, rows=rows, cleaned=cleaned, created=created)
    refuse_sync_going_live_on_hold(track=track, rows=rows, cleaned=cleaned, created=created)
    changed = [
        change
        for entry in cleaned
        if (change := _update(rows, entry, track, gate, new=set(created))) is not None
    ]
    ticket = gate.open_ticket(list(rows.values()))
    if created or changed:
        audit_event_append(
            tenant=tenant,
            actor=actor,
            action=AuditAction.MANIFEST_SYNCED,
            resource=("manifest", track.key),
            plan_version=max(e["plan_version"] for e in cleaned),
            payload=cleaned,
            data={
                "track": track.key,
                "created": created,
                "changed": changed,
                **({"waiting_for_launch": gate.waiting, "ticket": ticket} if gate.waiting else {}),
            },
        )
    return ManifestSyncResult(
        upserted=len(cleaned), ticket=ticket, waiting_for_launch=dict(gate.waiting)
    )


def _refuse_live_creatives_of_unapproved_themes(tenant, cleaned: list[dict]) -> None:
    """An entity synced live whose creatives carry a theme not approved (`creative_theme`, or
    `{"creative", "theme"}` in its rotation) is refused: 423 naming the theme's A7."""
    for index, entry in enumerate(cleaned):
        if entry_is_live(entry["state"]):
            refuse_unapproved_themes(
                tenant=tenant,
                theme_ids=themes_named(entry["state"]),
                what=f"entries[{index}] ({entry['platform']}:{entry['entity_id']})",
            )


def _refuse_unknown_versions(tenant, track: Track, cleaned: list[dict]) -> None:
    numbers = {e["plan_version"] for e in cleaned}
    known = set(
        PlanVersion.objects.filter(
            tenant=tenant, track=track, number__in=numbers, status__in=FROZEN_STATUSES
        ).values_list("number", flat=True)
    )
    unknown = sorted(numbers - known)
    if unknown:
        raise ManifestError(
            "plan_version "
            + ", ".join(f"v{n}" for n in unknown)
            + f" is not an approved version of {track.key} for this tenant"
        )


def _locked_rows_inserting_missing(
    tenant, track: Track, cleaned: list[dict]
) -> tuple[dict[tuple[str, str], ExecutionManifestEntry], list[str]]:
    """The entries' rows, locked; those missing inserted first. Returns the rows by (platform,
    entity id) and the entities created."""
    keys = Q()
    for entry in cleaned:
        keys |= Q(platform=entry["platform"], entity_id=entry["entity_id"])

    def locked_rows() -> dict[tuple[str, str], ExecutionManifestEntry]:
        # A fixed lock order, so two syncs of overlapping batches can't deadlock.
        return {
            (row.platform, row.entity_id): row
            for row in ExecutionManifestEntry.objects.select_for_update()
            .filter(keys, tenant=tenant)
            .order_by("platform", "entity_id")
        }

    existing = locked_rows()
    missing = [e for e in cleaned if (e["platform"], e["entity_id"]) not in existing]
    # A concurrent sync may insert the same entity meanwhile: ignore_conflicts, then lock both.
    ExecutionManifestEntry.objects.bulk_create(
        [ExecutionManifestEntry(tenant=tenant, track=track, **e) for e in missing],
        ignore_conflicts=True,
    )
    rows = locked_rows() if missing else existing
    return rows, [f"{e['platform']}:{e['entity_id']}" for e in missing]


def _update(rows, entry: dict, track: Track, gate: LaunchGate, *, new: set[str]) -> dict | None:
    """Write one entry onto its locked row; what changed (for the audit), or None."""
    row = rows[(entry["platform"], entry["entity_id"])]
    waiting_before = row.waiting_launch_id
    state, launched = gate.hold(row, entry["state"], new=row.audit_id in new)
    values = {
        "track_id": track.pk,
        "channel": entry["channel"],
        "plan_version": entry["plan_version"],
        "state": state,
    }
    unchanged = all(getattr(row, k) == v for k, v in values.items())
    if unchanged and not launched and row.waiting_launch_id == waiting_before:
        return None
    before = {"plan_version": row.plan_version, "state": row.state, "track_id": row.track_id}
    for field_name, value in values.items():
        setattr(row, field_name, value)
    if launched:
        # Live already: a later status → active is not this entity's first launch (A2).
        values["first_active_at"] = row.first_active_at = timezone.now()
    row.save(update_fields=[*values, "waiting_launch", "updated_at"])
    return {"entity": row.audit_id, "before": before, "after": values}
