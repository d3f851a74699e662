"""Reconciliation (docs/rules.md "Reconciliation (A6)"): agents report what the platforms actually
run (`observations_report`, POST /api/v1/tracks/{track}/observations); `reconcile` (the command
and its django-q2 schedule) compares each entity's latest observation with the manifest and opens
one A6 per entity whose platform differs beyond the tenant's `reconciliation_tolerance_pct`.

While the A6 is open the entity takes no automated change (change sets and manifest syncs → 423
`reconciliation_pending`, optimization/services/sync_checks.py). An admin decides it:

- approve → **accept the platform's value**: the manifest takes it, recorded as an override with
  its reason (the audit event, the reconciliation's note);
- reject → **restore the manifest's value**: the reconciliation waits in `restoring` and its
  fields are alignment work for the agent (optimization/alignment.py, GET
  /api/v1/tracks/{track}/alignment); the agent's alignment change set to the manifest's values
  closes it (optimization/services/alignment.py) and lifts the 423 — as does an observation that
  shows the platform back on the manifest's value.

Idempotent like the trigger scan: one pending reconciliation per entity (a partial unique
constraint), each opened under the entity's row lock, so a second run — or two at once — opens
nothing more; an observation a closed reconciliation already judged never opens another.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import CharField, DecimalField, Exists, F, OuterRef, Q, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Abs, Cast, Coalesce
from django.utils import timezone

from approvals.models import TicketStatus
from approvals.services import TicketRequest, ticket_open_within
from approvals.types import SubjectKind, TicketType
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import Conflict, DomainError
from config.formatting import money
from config.money import AmountInvalid, AmountRule, amount_clean
from config.text import text_problem
from config.transactions import within_transaction
from optimization.models import (
    DAILY_BUDGET,
    RECONCILIATION_TRANSITIONS,
    STATUS,
    ExecutionManifestEntry,
    PlatformObservation,
    Reconciliation,
    ReconciliationStatus,
)
from optimization.services.manifest import ENTITY_STATUSES
from plans.models import Track
from plans.schema import money_text
from tenants.models import Tenant, TenantPolicy

logger = logging.getLogger(__name__)

SUBJECT_TYPE = SubjectKind.RECONCILIATION
RECONCILE_ACTOR = Actor.system("reconcile")
MAX_OBSERVATIONS = 5000
MAX_AMOUNT = Decimal("1e12")
# A clock a little ahead of ours is not a report from the future.
CLOCK_SKEW = timedelta(minutes=5)
HISTORY = 5  # observations shown with an A6


class ObservationError(DomainError):
    code = "invalid_observation"


def _rule(key: str) -> AmountRule:
    return AmountRule.of(PlatformObservation._meta.get_field(key), at_most=MAX_AMOUNT)


AMOUNTS = {key: _rule(key) for key in ("daily_budget", "spend_to_date")}


# --- Reporting observations ------------------------------------------------------------------
def _text(raw: dict, key: str, where: str, max_length: int) -> str:
    value = raw.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise ObservationError(
            f"{where}.{key}: a non-empty string.", fields={f"{where}.{key}": ["required"]}
        )
    value = value.strip()
    problem = text_problem(value) or (
        f"at most {max_length} characters" if len(value) > max_length else None
    )
    if problem:
        raise ObservationError(f"{where}.{key}: {problem}.", fields={f"{where}.{key}": [problem]})
    return value


def _amount(raw: dict, key: str, where: str) -> Decimal | None:
    if raw.get(key) is None:
        return None
    try:
        return amount_clean(raw[key], AMOUNTS[key])
    except AmountInvalid as exc:
        raise ObservationError(
            f"{where}.{key}: {exc}.", fields={f"{where}.{key}": [str(exc)]}
        ) from None


def _status(raw: dict, where: str) -> str:
    value = raw.get("status")
    if value is None:
        return ""
    status = value.strip().lower() if isinstance(value, str) else None
    if status not in ENTITY_STATUSES:
        choices = ", ".join(ENTITY_STATUSES)
        raise ObservationError(
            f"{where}.status: one of {choices}.", fields={f"{where}.status": [f"one of {choices}"]}
        )
    return status


def _observed_at(raw: dict, where: str, now: datetime) -> datetime:
    value = raw.get("observed_at")
    problem = "a date and time with its offset (ISO 8601)"
    moment = None
    if isinstance(value, str) and not text_problem(value):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            moment = None
    if moment is None or moment.tzinfo is None:
        raise ObservationError(
            f"{where}.observed_at: {problem}.", fields={f"{where}.observed_at": [problem]}
        )
    if moment > now + CLOCK_SKEW:
        raise ObservationError(
            f"{where}.observed_at: {value} is in the future; report what the platform ran.",
            code="observed_at_in_future",
            fields={f"{where}.observed_at": ["in the future"]},
        )
    return moment


def _clean_observations(observations: Any, track: Track) -> list[dict]:
    """Each observation checked, its entity one of the track's manifest entities; refused,
    naming the observation at fault, at the first that isn't right."""
    if not isinstance(observations, list) or not observations:
        raise ObservationError(
            "observations: a non-empty list.", fields={"observations": ["required"]}
        )
    if len(observations) > MAX_OBSERVATIONS:
        raise ObservationError(
            f"observations: at most {MAX_OBSERVATIONS} per call.",
            fields={"observations": ["too many"]},
        )
    now = timezone.now()
    cleaned = []
    for index, raw in enumerate(observations):
        where = f"observations[{index}]"
        if not isinstance(raw, dict):
            raise ObservationError(f"{where}: an object.", fields={where: ["must be an object"]})
        values = {
            "platform": _text(raw, "platform", where, 60).lower(),
            "entity_id": _text(raw, "entity_id", where, 120),
            "status": _status(raw, where),
            "daily_budget": _amount(raw, "daily_budget", where),
            "spend_to_date": _amount(raw, "spend_to_date", where),
            "observed_at": _observed_at(raw, where, now),
        }
        if not values["status"] and values["daily_budget"] is None:
            raise ObservationError(
                f"{where}: an observation reports a status, a daily budget or both.",
                fields={where: ["status or daily_budget required"]},
            )
        cleaned.append(values)
    entries = {
        (entry.platform, entry.entity_id): entry
        for entry in ExecutionManifestEntry.objects.filter(
            track=track, entity_id__in={o["entity_id"] for o in cleaned}
        )
    }
    seen = set()
    for index, values in enumerate(cleaned):
        key = (values["platform"], values["entity_id"])
        entry = entries.get(key)
        if entry is None:
            where = f"observations[{index}].entity_id"
            raise ObservationError(
                f"{where}: {values['platform']}:{values['entity_id']} is no manifest entity of "
                f"{track.key}.",
                code="unknown_entity",
                fields={where: [f"no manifest entity of {track.key}"]},
            )
        if (entry.pk, values["observed_at"]) in seen:
            raise ObservationError(
                f"observations[{index}]: {entry.audit_id} at {values['observed_at'].isoformat()} "
                "is sent twice.",
                fields={f"observations[{index}]": ["duplicate"]},
            )
        seen.add((entry.pk, values["observed_at"]))
        values["entry"] = entry
    return cleaned


def _same(row: PlatformObservation, values: dict) -> bool:
    return (row.status, row.daily_budget, row.spend_to_date) == (
        values["status"],
        values["daily_budget"],
        values["spend_to_date"],
    )


@transaction.atomic(durable=True)
def observations_report(*, tenant: Tenant, track_key: str, observations: Any, actor: Actor) -> int:
    """Store what the platforms ran; returns how many observations the call carried. The same
    entity and moment again with the same figures changes nothing (a retry); with other figures
    it is refused (409): an observation is never rewritten."""
    return observations_report_within(
        tenant=tenant, track_key=track_key, observations=observations, actor=actor
    )


@within_transaction
def observations_report_within(
    *, tenant: Tenant, track_key: str, observations: Any, actor: Actor
) -> int:
    """observations_report as a step of a bigger transaction (the demo's story)."""
    track = Track.objects.filter(tenant=tenant, key=track_key).first()
    if track is None:
        raise ObservationError(
            f"This tenant has no track {track_key!r}.",
            code="unknown_track",
            status=404,
        )
    cleaned = _clean_observations(observations, track)
    known = {
        (row.manifest_entry_id, row.observed_at): row
        for row in PlatformObservation.objects.filter(
            manifest_entry_id__in={v["entry"].pk for v in cleaned},
            observed_at__in={v["observed_at"] for v in cleaned},
        )
    }
    new = []
    for values in cleaned:
        row = known.get((values["entry"].pk, values["observed_at"]))
        if row is None:
            new.append(values)
        elif not _same(row, values):
            raise Conflict(
                f"{values['entry'].audit_id} at {values['observed_at'].isoformat()} was reported "
                "with other figures already; an observation is never rewritten.",
                code="observation_conflict",
            )
    if new:
        PlatformObservation.objects.bulk_create(
            [
                PlatformObservation(
                    tenant=tenant,
                    track=track,
                    manifest_entry=v["entry"],
                    status=v["status"],
                    daily_budget=v["daily_budget"],
                    spend_to_date=v["spend_to_date"],
                    observed_at=v["observed_at"],
                    reported_by=str(actor)[:150],
                )
                for v in new
            ]
        )
        audit_event_append(
            tenant=tenant,
            actor=actor,
            action=AuditAction.OBSERVATIONS_REPORTED,
            resource=("observations", track.key),
            payload=[_observation_json(v) for v in new],
            data={"track": track.key, "stored": len(new)},
        )
    return len(cleaned)


def _observation_json(values: dict) -> dict:
    return {
        "entity": values["entry"].audit_id,
        "status": values["status"],
        "daily_budget": _money(values["daily_budget"]),
        "spend_to_date": _money(values["spend_to_date"]),
        "observed_at": values["observed_at"].isoformat(),
    }


def _money(value: Decimal | None) -> str | None:
    return money_text(value) if value is not None else None


# --- Comparing -------------------------------------------------------------------------------
def differences(
    state: dict, observation: PlatformObservation, tolerance_pct: Decimal
) -> dict[str, dict]:
    """Where the platform differs from the manifest: {field: {"manifest", "platform"}}. A daily
    budget differs when it is off by more than `tolerance_pct` percent of the manifest's (any
    amount when the manifest says 0); a status differs when it is another word."""
    found: dict[str, dict] = {}
    if observation.daily_budget is not None and state.get(DAILY_BUDGET) is not None:
        planned = Decimal(str(state[DAILY_BUDGET]))
        seen = observation.daily_budget
        off = abs(seen - planned)
        beyond = off > 0 if planned == 0 else off * 100 > tolerance_pct * planned
        if beyond:
            found[DAILY_BUDGET] = {"manifest": money_text(planned), "platform": money_text(seen)}
    if observation.status:
        planned_status = state.get(STATUS) or "active"
        if observation.status != planned_status:
            found[STATUS] = {"manifest": planned_status, "platform": observation.status}
    return found


@dataclass
class ReconcileResult:
    compared: int = 0
    opened: list[str] = field(default_factory=list)  # A6 ticket ids
    restored: int = 0
    failed: int = 0

    def lines(self) -> list[str]:
        return [
            f"differing: {self.compared} entities no reconciliation covers yet",
            f"opened: {len(self.opened)} A6"
            + (f" ({', '.join(self.opened)})" if self.opened else ""),
            f"restored: {self.restored}",
            f"failed: {self.failed}",
        ]


def _latest(observations):
    """Only each entity's latest observation (no later one of the same entity exists; the
    unique (entity, moment) constraint makes "latest" one row)."""
    newer = PlatformObservation.objects.filter(
        manifest_entry=OuterRef("manifest_entry"), observed_at__gt=OuterRef("observed_at")
    )
    return observations.filter(~Exists(newer))


def differing_observations(tenant: Tenant | None = None) -> list[tuple[int, int]]:
    """(entity id, observation id) of each entity whose latest observation differs from its
    manifest beyond its tenant's tolerance, and that no reconciliation covers yet (none pending
    on the entity, none that judged this observation) — in one query, the database comparing.
    `reconciliation_open` checks each again with `differences` under the entity's lock."""
    planned = Cast(
        KeyTextTransform("daily_budget", "manifest_entry__state"),
        DecimalField(max_digits=16, decimal_places=2),
    )
    planned_status = Coalesce(
        KeyTextTransform("status", "manifest_entry__state"),
        Value("active"),
        output_field=CharField(),
    )
    tolerance = F("tenant__policy__reconciliation_tolerance_pct")
    covered = Reconciliation.objects.filter(manifest_entry=OuterRef("manifest_entry")).filter(
        Q(status__in=[ReconciliationStatus.OPEN, ReconciliationStatus.RESTORING])
        | Q(observation=OuterRef("pk"))
    )
    observations = PlatformObservation.objects.all()
    if tenant is not None:
        observations = observations.filter(tenant=tenant)
    budget_off = Q(daily_budget__isnull=False, planned__isnull=False) & (
        Q(planned=0) & ~Q(daily_budget=0)
        | ~Q(planned=0) & Q(off_by_100__gt=F("tolerance") * F("planned"))
    )
    status_off = ~Q(status="") & ~Q(status=F("planned_status"))
    found = (
        _latest(observations)
        .annotate(
            planned=planned,
            planned_status=planned_status,
            tolerance=tolerance,
            off_by_100=Abs(F("daily_budget") - F("planned")) * 100,
        )
        .filter(budget_off | status_off)
        .exclude(Exists(covered))
        .order_by("manifest_entry_id")
        .values_list("manifest_entry_id", "pk")
    )
    return list(found)


def reconcile(*, tenant: Tenant | None = None) -> ReconcileResult:
    """Compare every observed entity with the manifest, opening an A6 per new difference and
    closing restorations the platform has caught up with. One entity per transaction; one that
    fails is logged and counted, never stops the run."""
    result = ReconcileResult()
    for entry_id, observation_id in differing_observations(tenant):
        try:
            ticket = reconciliation_open(entry_id=entry_id, observation_id=observation_id)
        except Exception:
            # One bad entity never stops the run; the next run tries it again.
            logger.exception("reconcile: entity %s failed", entry_id)
            result.failed += 1
            continue
        result.compared += 1
        if ticket:
            result.opened.append(ticket)
    restoring = Reconciliation.objects.filter(status=ReconciliationStatus.RESTORING)
    if tenant is not None:
        restoring = restoring.filter(tenant=tenant)
    for reconciliation in restoring.select_related("tenant", "manifest_entry"):
        try:
            if _caught_up(reconciliation) and reconciliation_restored(
                reconciliation=reconciliation
            ):
                result.restored += 1
        except Exception:
            logger.exception("reconcile: restoring %s failed", reconciliation.pk)
            result.failed += 1
    return result


def _caught_up(reconciliation: Reconciliation) -> bool:
    """Does the entity's latest observation, made after the admin's decision, show the
    manifest's value again?"""
    entry = reconciliation.manifest_entry
    latest = entry.observations.order_by("-observed_at").first()
    if latest is None or latest.observed_at <= reconciliation.decided_at:
        return False
    return not differences(entry.state, latest, reconciliation.tolerance_pct)


@transaction.atomic(durable=True)
def reconciliation_open(*, entry_id: int, observation_id: int) -> str:
    """Open the A6 of one entity whose latest observation differs from its manifest; returns the
    ticket id, or "" when there is nothing (left) to open — the entity has a pending
    reconciliation (another run got there first) or its live state has caught up meanwhile."""
    entry = (
        ExecutionManifestEntry.objects.select_for_update(of=("self",))
        .select_related("tenant", "track")
        .get(pk=entry_id)
    )
    if Reconciliation.objects.filter(
        manifest_entry=entry,
        status__in=[ReconciliationStatus.OPEN, ReconciliationStatus.RESTORING],
    ).exists():
        return ""
    observation = PlatformObservation.objects.get(pk=observation_id)
    tolerance = TenantPolicy.objects.get(tenant=entry.tenant).reconciliation_tolerance_pct
    found = differences(entry.state, observation, tolerance)
    if not found:
        return ""
    try:
        with transaction.atomic():
            reconciliation = Reconciliation.objects.create(
                tenant=entry.tenant,
                track=entry.track,
                manifest_entry=entry,
                observation=observation,
                differences=found,
                tolerance_pct=tolerance,
            )
    except IntegrityError:
        return ""  # opened a moment ago by a concurrent run
    ticket = ticket_open_within(_ticket_request(reconciliation, entry, observation, found))
    reconciliation.ticket = ticket.public_id
    reconciliation.save(update_fields=["ticket"])
    audit_event_append(
        tenant=entry.tenant,
        actor=RECONCILE_ACTOR,
        action=AuditAction.RECONCILIATION_OPENED,
        resource=("reconciliation", str(reconciliation.pk)),
        payload=found,
        data={
            "entity": entry.audit_id,
            "track": entry.track.key,
            "ticket": ticket.public_id,
            "observed_at": observation.observed_at.isoformat(),
            "tolerance_pct": str(tolerance),
        },
    )
    return ticket.public_id


def figure_text(field_name: str, value: Any, currency: str) -> str:
    if field_name == DAILY_BUDGET and value is not None:
        return money(value, currency)
    return str(value)


def observation_history(entry: ExecutionManifestEntry, *, limit: int = HISTORY) -> list[dict]:
    """The entity's latest observations, newest first, as plain values."""
    return [
        {
            "observed_at": row.observed_at.isoformat(),
            "status": row.status,
            "daily_budget": _money(row.daily_budget),
            "spend_to_date": _money(row.spend_to_date),
        }
        for row in entry.observations.order_by("-observed_at")[:limit]
    ]


def _ticket_request(reconciliation, entry, observation, found: dict) -> TicketRequest:
    currency = entry.track.currency
    sentences = [
        f"{entry.audit_id}: the platform runs {field_name.replace('_', ' ')} "
        f"{figure_text(field_name, pair['platform'], currency)} (manifest says "
        f"{figure_text(field_name, pair['manifest'], currency)})."
        for field_name, pair in found.items()
    ]
    return TicketRequest(
        tenant=entry.tenant,
        actor=RECONCILE_ACTOR,
        type=TicketType.A6,
        title=f"Reconcile {entry.audit_id} on {entry.track.key} with the manifest"[:200],
        summary=" ".join(sentences)
        + " Approve to accept the platform's value into the manifest; reject to restore the "
        "manifest's value on the platform. Automated changes to it wait until then.",
        subject_type=SUBJECT_TYPE,
        subject_id=str(reconciliation.pk),
        platform=entry.platform,
        requesting_agent="reconcile",
        client_visible=False,
        diff={
            "summary": sentences,
            "changes": [
                {
                    "field": f"{entry.entity_id}.{field_name}",
                    "before": pair["manifest"],
                    "after": pair["platform"],
                    "note": "manifest → platform",
                }
                for field_name, pair in found.items()
            ],
            "raw": {
                "entity": entry.audit_id,
                "observed_at": observation.observed_at.isoformat(),
                "tolerance_pct": str(reconciliation.tolerance_pct),
                "history": observation_history(entry),
            },
        },
        dedupe_key=f"reconcile:{entry.pk}:{observation.pk}",
    )


# --- Deciding (the A6's subject, optimization/services/tickets.py) ---------------------------
def reconciliation_of_ticket(ticket) -> Reconciliation | None:
    if not str(ticket.subject_id).isdigit():
        return None
    return (
        Reconciliation.objects.filter(tenant_id=ticket.tenant_id, pk=ticket.subject_id)
        .select_related("manifest_entry", "track", "tenant")
        .first()
    )


def reconciliation_lock(ticket) -> None:
    """The reconciliation, then its entity (the subject, then the live row it would change)."""
    reconciliation = reconciliation_of_ticket(ticket)
    if reconciliation is None:
        return
    Reconciliation.objects.select_for_update(of=("self",)).filter(pk=reconciliation.pk).first()
    ExecutionManifestEntry.objects.select_for_update(of=("self",)).filter(
        pk=reconciliation.manifest_entry_id
    ).first()


def _move(reconciliation: Reconciliation, to: str, **values) -> None:
    if to not in RECONCILIATION_TRANSITIONS[reconciliation.status]:
        raise Conflict(
            f"Reconciliation {reconciliation.pk} is {reconciliation.get_status_display()}.",
            code="conflict",
        )
    reconciliation.status = to
    for key, value in values.items():
        setattr(reconciliation, key, value)
    reconciliation.save(update_fields=["status", *values])


def reconciliation_decided_within(*, ticket, outcome: str, actor: Actor) -> None:
    """What the A6's outcome does: approved accepts the platform's value, rejected restores the
    manifest's, withdrawn or sent back closes it (a later observation may open another)."""
    reconciliation = reconciliation_of_ticket(ticket)
    if reconciliation is None or not reconciliation.is_open:
        return
    reconciliation.refresh_from_db()
    entry = ExecutionManifestEntry.objects.get(pk=reconciliation.manifest_entry_id)
    now = timezone.now()
    decided = {"decided_by": str(actor)[:150], "decided_at": now}
    if outcome == TicketStatus.APPROVED:
        reason = ticket.resolution_note or "The admin accepted the platform's value."
        before = dict(entry.state)
        entry.state = {
            **entry.state,
            **{name: pair["platform"] for name, pair in reconciliation.differences.items()},
        }
        entry.save(update_fields=["state", "updated_at"])
        _move(
            reconciliation,
            ReconciliationStatus.ACCEPTED,
            decision_note=reason,
            closed_at=now,
            **decided,
        )
        action = AuditAction.RECONCILIATION_ACCEPTED
        data = {"override": True, "reason": reason, "before": before, "after": entry.state}
    elif outcome == TicketStatus.REJECTED:
        note = ticket.resolution_note or "The admin restores the manifest's value."
        _move(reconciliation, ReconciliationStatus.RESTORING, decision_note=note, **decided)
        action = AuditAction.RECONCILIATION_RESTORING
        data = {"reason": note, "targets": restore_targets(reconciliation)}
    else:
        note = ticket.resolution_note or outcome.replace("_", " ")
        _move(
            reconciliation,
            ReconciliationStatus.DISMISSED,
            decision_note=note,
            closed_at=now,
            **decided,
        )
        action = AuditAction.RECONCILIATION_DISMISSED
        data = {"reason": note}
    audit_event_append(
        tenant=reconciliation.tenant,
        actor=actor,
        action=action,
        resource=("reconciliation", str(reconciliation.pk)),
        payload=reconciliation.differences,
        data={"entity": entry.audit_id, "ticket": ticket.public_id, **data},
    )


def restore_targets(reconciliation: Reconciliation) -> dict[str, Any]:
    """What the agent sets on the platform to restore the manifest: {field: manifest value}."""
    return {name: pair["manifest"] for name, pair in reconciliation.differences.items()}


@transaction.atomic(durable=True)
def reconciliation_restored(*, reconciliation: Reconciliation) -> bool:
    """The platform runs the manifest's value again: the restoration is done. Compare-and-swap,
    so two runs close it once."""
    return reconciliation_restored_within(reconciliation=reconciliation, actor=RECONCILE_ACTOR)


@within_transaction
def reconciliation_restored_within(
    *, reconciliation: Reconciliation, actor: Actor, change_set=None
) -> bool:
    """reconciliation_restored as a step: by an observation, or by the alignment `change_set`
    that put the manifest's values back (named in the audit event)."""
    closed = Reconciliation.objects.filter(
        pk=reconciliation.pk, status=ReconciliationStatus.RESTORING
    ).update(status=ReconciliationStatus.RESTORED, closed_at=timezone.now())
    if closed != 1:
        return False  # another run got there first
    data = {"entity": reconciliation.manifest_entry.audit_id, "ticket": reconciliation.ticket}
    if change_set is not None:
        data["change_set"] = change_set.change_set_id
    audit_event_append(
        tenant=reconciliation.tenant_id,
        actor=actor,
        action=AuditAction.RECONCILIATION_RESTORED,
        resource=("reconciliation", str(reconciliation.pk)),
        data=data,
    )
    return True
