"""The revise-trigger scan (`manage.py scan_triggers`, and a django-q2 schedule): the five
signals of optimization/triggers.py, each condition turned into one open recommendation.

Idempotent: the reads are set-based (each signal one read across every tenant), and what is
already open is read once for every track; the conditions found are opened tenant by tenant,
each tenant's in one transaction of a handful of statements (recommendations_open_many), under
the one-open-recommendation constraint: a second scan, a concurrent scan or a scan killed half
way and run again yields exactly one open recommendation per condition. A tenant's batch that
fails (a concurrent scan got there first, one condition refused) rolls back and is opened one
condition at a time, each in its own transaction: one condition that fails is logged and
counted; it never stops the others.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from approvals.events import lifecycle_batch
from audit.actors import Actor
from config.formatting import date_text, money, percent
from optimization import proposals, triggers
from optimization.models import (
    STRUCTURAL_FIELDS,
    ChangePath,
    Signal,
)
from optimization.selectors import live_daily_budgets, open_conditions
from optimization.services.lapse import change_sets_lapse
from optimization.services.recommendations import (
    recommendation_open,
    recommendations_open_many,
)

logger = logging.getLogger(__name__)
SCAN_ACTOR = Actor.system("optimization.scan_triggers")


@dataclass
class SignalCount:
    found: int = 0
    opened: int = 0
    failed: int = 0

    @property
    def already_open(self) -> int:
        return self.found - self.opened - self.failed


@dataclass
class ScanResult:
    signals: dict[str, SignalCount] = field(
        default_factory=lambda: {signal: SignalCount() for signal in SCANNED}
    )
    lapsed: int = 0

    def lines(self) -> list[str]:
        return [
            f"{signal}: {count.found} found, {count.opened} opened, "
            f"{count.already_open} already open"
            + (f", {count.failed} failed" if count.failed else "")
            for signal, count in self.signals.items()
        ] + [f"lapsed change sets: {self.lapsed}"]


SCANNED = (
    Signal.DRIFT,
    Signal.GUARDRAIL_APPROVALS,
    Signal.KPI_MISS,
    Signal.STRUCTURAL_BLOCK,
    Signal.SEASONALITY,
)


@dataclass
class Opening:
    signal: str
    spec: dict  # recommendation_open's keywords but tenant, actor and source


def _gather(
    result: ScanResult,
    openings: list[Opening],
    is_open: set,
    signal: str,
    condition: tuple[int, str],
    build: Callable[[], dict],
) -> None:
    """Count a condition found (a track and a subject) and, unless an open recommendation
    carries it already (its evidence stands), build what opens it. One that fails to build is
    logged and counted."""
    count = result.signals[signal]
    count.found += 1
    track_id, subject_key = condition
    if (track_id, signal, subject_key) in is_open:
        return
    try:
        openings.append(Opening(signal, build()))
    except Exception:  # one condition never stops the scan; the next scan retries it
        logger.exception("revise-trigger scan: %s failed", signal)
        count.failed += 1


def _open_one(result: ScanResult, opening: Opening) -> None:
    count = result.signals[opening.signal]
    try:
        _rec, opened = recommendation_open(
            tenant=opening.spec["track"].tenant,
            actor=SCAN_ACTOR,
            source=SCAN_ACTOR.label,
            **opening.spec,
        )
        count.opened += bool(opened)
    except Exception:  # one condition never stops the scan; the next scan retries it
        logger.exception("revise-trigger scan: %s failed", opening.signal)
        count.failed += 1


def _open_tenant(result: ScanResult, openings: list[Opening]) -> None:
    """One tenant's openings: those without a draft all at once (recommendations_open_many),
    those with one (structural blocks, seasonality) one by one. When the batch fails — a
    concurrent scan opened one of them, one opening the rules refuse — it rolls back whole and
    each opening is tried on its own, so one that fails never stops the others."""
    batch = [o for o in openings if not o.spec.get("predraft")]
    if batch:
        try:
            opened = recommendations_open_many(
                tenant=batch[0].spec["track"].tenant,
                openings=[o.spec for o in batch],
                actor=SCAN_ACTOR,
                source=SCAN_ACTOR.label,
            )
        except Exception:
            logger.info("revise-trigger scan: opening one by one", exc_info=True)
            for opening in batch:
                _open_one(result, opening)
        else:
            for opening, was_opened in zip(batch, opened, strict=True):
                result.signals[opening.signal].opened += was_opened
    for opening in openings:
        if opening.spec.get("predraft"):
            _open_one(result, opening)


def _drift(drift: triggers.Drift, change_sets: list[str], now: datetime) -> dict:
    track = drift.track
    daily = {drift.channel: drift.live}
    currency = track.currency
    reason = (
        f"{drift.channel.title()} drifted {percent(drift.pct, 2)} from the approved plan of "
        f"v{track.current_version.number} ({money(drift.planned, currency)} a day planned, "
        f"{money(drift.net, currency)} applied since) — beyond "
        f"{percent(track.tenant.policy.drift_pct, 2)}: revise the plan to reflect it."
    )
    return {
        "track": track,
        "signal": Signal.DRIFT,
        "subject_key": drift.channel,
        "path": ChangePath.REVISE,
        "reason": reason,
        "evidence": {
            "channel": drift.channel,
            "drift_pct": str(drift.pct),
            "threshold_pct": str(track.tenant.policy.drift_pct),
            "window_days": track.tenant.policy.drift_window_days,
            "planned_daily_budget": str(drift.planned),
            "net_applied_change": str(drift.net.quantize(Decimal("0.01"))),
            "live_daily_budget": str(daily[drift.channel].quantize(Decimal("0.01"))),
            "change_sets": change_sets,
            "drift_pct_by_channel": {drift.channel: str(drift.pct)},
            "proposed_payload": proposals.codify_daily_budgets(
                track.current_version.payload, daily, on=track.tenant.today(now)
            ),
        },
    }


def _guardrail_approvals(track, change_set_ids: list[str], now: datetime) -> dict:
    policy = track.tenant.policy
    live = live_daily_budgets(track.manifest.all())
    reason = (
        f"{len(change_set_ids)} spend guardrail breaches (A3) were approved on {track.key} in "
        f"{policy.guardrail_approvals_window_days} days, more than "
        f"{policy.guardrail_approvals_max}: revise the plan to codify the new caps."
    )
    return {
        "track": track,
        "signal": Signal.GUARDRAIL_APPROVALS,
        "subject_key": "",
        "path": ChangePath.REVISE,
        "reason": reason,
        "evidence": {
            "approved_a3": len(change_set_ids),
            "threshold": policy.guardrail_approvals_max,
            "window_days": policy.guardrail_approvals_window_days,
            "change_sets": change_set_ids[:100],
            "live_daily_budgets": {k: str(v) for k, v in live.items()},
            "proposed_payload": proposals.codify_daily_budgets(
                track.current_version.payload, live, on=track.tenant.today(now)
            ),
        },
    }


def _kpi_miss(miss: triggers.KpiMiss) -> dict:
    track = miss.track
    average = miss.average.quantize(Decimal("0.01"))
    reason = (
        f"The primary KPI ({miss.kpi}) missed its target of {miss.target.normalize()} on each of "
        f"the last {len(miss.days)} days (average {average}): revise the target or replan."
    )
    return {
        "track": track,
        "signal": Signal.KPI_MISS,
        "subject_key": miss.kpi,
        "path": ChangePath.REVISE,
        "reason": reason,
        "evidence": {
            "kpi": miss.kpi,
            "target": str(miss.target),
            "average": str(average),
            "days": [[str(day), str(value.quantize(Decimal("0.01")))] for day, value in miss.days],
            "source": "ga4 first",
            "proposed_payload": proposals.with_kpi_target(
                track.current_version.payload, miss.kpi, average
            ),
        },
    }


def _structural(track, blocked) -> dict:
    payload = track.current_version.payload
    changes = []
    for change_set in blocked:
        for item in change_set.items.all():
            if item.field in STRUCTURAL_FIELDS:
                changes.append({"field": item.field, "after": item.after})
                payload = proposals.with_structural_change(payload, item.field, item.after)
    reason = (
        f"Agents were blocked {len(blocked)} times on structural changes of {track.key} ("
        + ", ".join(f"{c['field']} → {c['after']}" for c in changes[:5])
        + "): escalated to a replan draft."
    )
    return {
        "track": track,
        "signal": Signal.STRUCTURAL_BLOCK,
        "subject_key": "",
        "path": ChangePath.REPLAN,
        "reason": reason,
        "evidence": {
            "blocked_change_sets": [c.change_set_id for c in blocked],
            "changes": changes,
            "threshold": track.tenant.policy.structural_block_max,
            "proposed_payload": payload,
        },
        "predraft": True,
    }


def _seasonal(change, track, now: datetime) -> dict:
    currency = track.currency
    reason = (
        f"Seasonality calendar: {change.channel} flight {date_text(change.starts_on)} – "
        f"{date_text(change.ends_on)} at "
        f"{money(change.budget, currency)} starts in "
        f"{(change.starts_on - track.tenant.today(now)).days} days"
        + (f" ({change.note})" if change.note else "")
        + ": a revise is pre-drafted for review."
    )
    return {
        "track": track,
        "signal": Signal.SEASONALITY,
        "subject_key": str(change.pk),
        "path": ChangePath.REVISE,
        "reason": reason,
        "evidence": {
            "calendar_entry": change.pk,
            "channel": change.channel,
            "starts_on": str(change.starts_on),
            "ends_on": str(change.ends_on),
            "budget": str(change.budget),
            "proposed_payload": proposals.with_flight(
                track.current_version.payload,
                channel=change.channel,
                start=change.starts_on,
                end=change.ends_on,
                budget=change.budget,
            ),
        },
        "predraft": True,
    }


def triggers_scan(*, tenant=None, now: datetime | None = None) -> ScanResult:
    """Evaluate every signal on every track with an approved version (of one tenant, or all),
    then open what is not open yet, tenant by tenant; the people the new tickets concern are
    told once, at the end (one fan-out of the outbox, not one per tenant's transaction)."""
    with lifecycle_batch():
        return _scan(tenant=tenant, now=now)


def _scan(*, tenant, now: datetime | None) -> ScanResult:
    # Long on purpose: the five signals in their order, each read, gathered and opened before
    # the next is read (a scan killed half way keeps what it opened).
    now = now or timezone.now()
    result = ScanResult()
    tracks = triggers.scanned_tracks(tenant=tenant)
    by_id = {track.pk: track for track in tracks}
    is_open = open_conditions(track_ids=list(by_id))
    openings: list[Opening] = []

    def gather(signal: str, condition: tuple[int, str], build: Callable[[], dict]) -> None:
        _gather(result, openings, is_open, signal, condition, build)

    def open_gathered() -> None:
        """What one signal found, opened tenant by tenant before the next signal is read: a
        scan killed half way keeps what it opened."""
        by_tenant: dict[int, list[Opening]] = defaultdict(list)
        for opening in openings:
            by_tenant[opening.spec["track"].tenant_id].append(opening)
        openings.clear()
        for tenant_openings in by_tenant.values():
            _open_tenant(result, tenant_openings)

    drifts = triggers.drifts(tracks, now)
    moved_by = triggers.drift_change_sets(
        [d for d in drifts if (d.track.pk, Signal.DRIFT, d.channel) not in is_open]
    )
    for d in drifts:
        gather(
            Signal.DRIFT,
            (d.track.pk, d.channel),
            lambda d=d: _drift(d, moved_by.get((d.track.pk, d.channel), []), now),
        )
    open_gathered()
    for track_id, change_set_ids in triggers.guardrail_approvals(tracks, now).items():
        gather(
            Signal.GUARDRAIL_APPROVALS,
            (track_id, ""),
            lambda t=by_id[track_id], ids=change_set_ids: _guardrail_approvals(t, ids, now),
        )
    open_gathered()
    for miss in triggers.kpi_misses(tracks, now):
        gather(Signal.KPI_MISS, (miss.track.pk, miss.kpi), lambda miss=miss: _kpi_miss(miss))
    open_gathered()
    for track_id, blocked in triggers.structural_blocks(tracks, now).items():
        gather(
            Signal.STRUCTURAL_BLOCK,
            (track_id, ""),
            lambda t=by_id[track_id], b=blocked: _structural(t, b),
        )
    open_gathered()
    for change in triggers.seasonal_changes_due(tracks, now):
        gather(
            Signal.SEASONALITY,
            (change.track_id, str(change.pk)),
            lambda c=change: _seasonal(c, by_id[c.track_id], now),
        )
    open_gathered()
    result.lapsed = change_sets_lapse(now=now, tenant=tenant).lapsed
    return result
