"""The revise-trigger scan (`manage.py scan_triggers`, and a django-q2 schedule): the five
signals of optimization/triggers.py, each condition turned into one open recommendation.

Idempotent: the reads are set-based; every condition is opened in its own transaction under the
one-open-recommendation constraint, so a second scan, a concurrent scan or a scan killed half way
and run again yields exactly one open recommendation per condition. One condition that fails is
logged and counted; it never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from audit.actors import Actor
from config.formatting import date_text, money, percent
from optimization import proposals, triggers
from optimization.models import (
    STRUCTURAL_FIELDS,
    ChangePath,
    Signal,
)
from optimization.selectors import live_daily_budgets, open_recommendation
from optimization.services.lapse import change_sets_lapse
from optimization.services.recommendations import recommendation_open

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


def _open(result: ScanResult, signal: str, open_one: Callable[[], bool]) -> None:
    count = result.signals[signal]
    count.found += 1
    try:
        count.opened += bool(open_one())
    except Exception:  # one condition never stops the scan; the next scan retries it
        logger.exception("revise-trigger scan: %s failed", signal)
        count.failed += 1


def _already_open(track, signal: str, subject_key: str) -> bool:
    """A condition already carried by an open recommendation: nothing to build (the evidence
    of the open one stands), nothing to open."""
    return open_recommendation(track=track, signal=signal, subject_key=subject_key) is not None


def _drift(drift: triggers.Drift, now: datetime) -> bool:
    track = drift.track
    if _already_open(track, Signal.DRIFT, drift.channel):
        return False
    daily = {drift.channel: drift.live}
    currency = track.currency
    reason = (
        f"{drift.channel.title()} drifted {percent(drift.pct, 2)} from the approved plan of "
        f"v{track.current_version.number} ({money(drift.planned, currency)} a day planned, "
        f"{money(drift.net, currency)} applied since) — beyond "
        f"{percent(track.tenant.policy.drift_pct, 2)}: revise the plan to reflect it."
    )
    change_sets = list(
        track.change_sets.filter(
            applied__channel=drift.channel,
            applied__field="daily_budget",
            applied__applied_at__gte=drift.since,
        )
        .order_by("-applied_at")
        .values_list("change_set_id", flat=True)
        .distinct()[:50]
    )
    _rec, opened = recommendation_open(
        tenant=track.tenant,
        track=track,
        signal=Signal.DRIFT,
        subject_key=drift.channel,
        path=ChangePath.REVISE,
        reason=reason,
        evidence={
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
        actor=SCAN_ACTOR,
        source=SCAN_ACTOR.label,
    )
    return opened


def _guardrail_approvals(track, change_set_ids: list[str], now: datetime) -> bool:
    if _already_open(track, Signal.GUARDRAIL_APPROVALS, ""):
        return False
    policy = track.tenant.policy
    live = live_daily_budgets(track.manifest.all())
    reason = (
        f"{len(change_set_ids)} spend guardrail breaches (A3) were approved on {track.key} in "
        f"{policy.guardrail_approvals_window_days} days, more than "
        f"{policy.guardrail_approvals_max}: revise the plan to codify the new caps."
    )
    _rec, opened = recommendation_open(
        tenant=track.tenant,
        track=track,
        signal=Signal.GUARDRAIL_APPROVALS,
        subject_key="",
        path=ChangePath.REVISE,
        reason=reason,
        evidence={
            "approved_a3": len(change_set_ids),
            "threshold": policy.guardrail_approvals_max,
            "window_days": policy.guardrail_approvals_window_days,
            "change_sets": change_set_ids[:100],
            "live_daily_budgets": {k: str(v) for k, v in live.items()},
            "proposed_payload": proposals.codify_daily_budgets(
                track.current_version.payload, live, on=track.tenant.today(now)
            ),
        },
        actor=SCAN_ACTOR,
        source=SCAN_ACTOR.label,
    )
    return opened


def _kpi_miss(miss: triggers.KpiMiss) -> bool:
    track = miss.track
    if _already_open(track, Signal.KPI_MISS, miss.kpi):
        return False
    average = miss.average.quantize(Decimal("0.01"))
    reason = (
        f"The primary KPI ({miss.kpi}) missed its target of {miss.target.normalize()} on each of "
        f"the last {len(miss.days)} days (average {average}): revise the target or replan."
    )
    _rec, opened = recommendation_open(
        tenant=track.tenant,
        track=track,
        signal=Signal.KPI_MISS,
        subject_key=miss.kpi,
        path=ChangePath.REVISE,
        reason=reason,
        evidence={
            "kpi": miss.kpi,
            "target": str(miss.target),
            "average": str(average),
            "days": [[str(day), str(value.quantize(Decimal("0.01")))] for day, value in miss.days],
            "source": "ga4 first",
            "proposed_payload": proposals.with_kpi_target(
                track.current_version.payload, miss.kpi, average
            ),
        },
        actor=SCAN_ACTOR,
        source=SCAN_ACTOR.label,
    )
    return opened


def _structural(track, blocked) -> bool:
    if _already_open(track, Signal.STRUCTURAL_BLOCK, ""):
        return False
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
    _rec, opened = recommendation_open(
        tenant=track.tenant,
        track=track,
        signal=Signal.STRUCTURAL_BLOCK,
        subject_key="",
        path=ChangePath.REPLAN,
        reason=reason,
        evidence={
            "blocked_change_sets": [c.change_set_id for c in blocked],
            "changes": changes,
            "threshold": track.tenant.policy.structural_block_max,
            "proposed_payload": payload,
        },
        actor=SCAN_ACTOR,
        source=SCAN_ACTOR.label,
        predraft=True,
    )
    return opened


def _seasonal(change, track, now: datetime) -> bool:
    currency = track.currency
    reason = (
        f"Seasonality calendar: {change.channel} flight {date_text(change.starts_on)} – "
        f"{date_text(change.ends_on)} at "
        f"{money(change.budget, currency)} starts in "
        f"{(change.starts_on - track.tenant.today(now)).days} days"
        + (f" ({change.note})" if change.note else "")
        + ": a revise is pre-drafted for review."
    )
    _rec, opened = recommendation_open(
        tenant=track.tenant,
        track=track,
        signal=Signal.SEASONALITY,
        subject_key=str(change.pk),
        path=ChangePath.REVISE,
        reason=reason,
        evidence={
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
        actor=SCAN_ACTOR,
        source=SCAN_ACTOR.label,
        predraft=True,
    )
    return opened


def triggers_scan(*, tenant=None, now: datetime | None = None) -> ScanResult:
    """Evaluate every signal on every track with an approved version (of one tenant, or all)."""
    now = now or timezone.now()
    result = ScanResult()
    tracks = triggers.scanned_tracks(tenant=tenant)
    by_id = {track.pk: track for track in tracks}
    for drift in triggers.drifts(tracks, now):
        _open(result, Signal.DRIFT, lambda drift=drift: _drift(drift, now))
    for track_id, change_set_ids in triggers.guardrail_approvals(tracks, now).items():
        _open(
            result,
            Signal.GUARDRAIL_APPROVALS,
            lambda t=by_id[track_id], ids=change_set_ids: _guardrail_approvals(t, ids, now),
        )
    for miss in triggers.kpi_misses(tracks, now):
        _open(result, Signal.KPI_MISS, lambda miss=miss: _kpi_miss(miss))
    for track_id, blocked in triggers.structural_blocks(tracks, now).items():
        _open(
            result,
            Signal.STRUCTURAL_BLOCK,
            lambda t=by_id[track_id], b=blocked: _structural(t, b),
        )
    for change in triggers.seasonal_changes_due(tracks, now):
        _open(
            result,
            Signal.SEASONALITY,
            lambda c=change: _seasonal(c, by_id[c.track_id], now),
        )
    result.lapsed = change_sets_lapse(now=now, tenant=tenant).lapsed
    return result
