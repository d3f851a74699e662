"""The one drift selector (docs/rules.md "One drift"): a channel's drift is the net of the
daily-budget moves applied to it since its window's start, as a share of the daily budget the
approved plan gives it for the day, shown with its live daily budget against that planned one.

The window starts at the approval of the last version that changed the channel, or
`drift_window_days` ago, whichever is later: approving a version resets only what it changed (a
social-only revise leaves search's drift as it was). What live differs from the plan at an
approval is alignment work (optimization/alignment.py), not drift.

Every reader — the guardrails, the change set page, the drift page, the revise-trigger scan and
its evidence, the weekly report and the metrics — reads `channel_drifts` (or `track_drift`, the
same figures with the chart); nothing else computes drift. "At" a past moment the figures are the
ones the drift page showed then: the version in force then, the live budgets then (today's less
the moves applied since) and the moves of the window that ended then.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Q

from optimization import drift_chart
from optimization.models import DAILY_BUDGET, AppliedChange, ExecutionManifestEntry
from optimization.selectors import entry_daily_budget, entry_is_live
from plans.diff import planned_daily_budget
from plans.models import PlanVersion, Track
from plans.schema import parse_payload

ZERO = Decimal("0")
HUNDRED = Decimal("100")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class ChannelDrift:
    channel: str
    planned: Decimal | None  # the approved plan's daily budget that day; None: no flight then
    live: Decimal  # the daily budgets of its live entities
    net: Decimal  # the daily-budget moves applied since `since`
    pct: Decimal | None  # net / planned; None without a plan that day
    threshold: Decimal
    changes: int  # how many moves since `since`
    since: datetime | None = None  # the channel's window start

    @property
    def gap(self) -> Decimal | None:
        """Live less planned (what is left to align), None without a plan that day."""
        return None if self.planned is None else self.live - self.planned

    @property
    def within(self) -> bool:
        return self.pct is None or abs(self.pct) <= self.threshold


@dataclass(frozen=True)
class TrackDrift:
    since: datetime | None  # the earliest window start of its channels
    now: datetime
    threshold: Decimal
    window_days: int
    channels: list[ChannelDrift]
    chart: drift_chart.Chart | None
    currency: str
    time_zone: str
    change_set_ids: list[str]
    version: PlanVersion | None = None  # the version in force at `now`

    @property
    def beyond(self) -> list[ChannelDrift]:
        return [c for c in self.channels if not c.within]

    def channel(self, name: str) -> ChannelDrift | None:
        return next((c for c in self.channels if c.channel == name), None)


@dataclass(frozen=True)
class InForce:
    """A track's approved version in force at a moment, and per channel the approval of the
    last version that changed it (where its drift starts counting)."""

    version: PlanVersion | None
    changed_at: dict[str, datetime]


def drift_pct(part: Decimal, planned: Decimal) -> Decimal:
    return (part / planned * HUNDRED).quantize(CENT)


def window_start(*, track: Track, now: datetime) -> datetime:
    return now - timedelta(days=track.tenant.policy.drift_window_days)


def _channels(payload: dict) -> dict[str, object]:
    return {
        str(c.get("channel")): {k: v for k, v in c.items() if k != "platform"}
        for c in (payload or {}).get("channels", [])
        if isinstance(c, dict)
    }


def in_force(tracks: list[Track], at: datetime) -> dict[int, InForce]:
    """Per track, the version in force at `at` (the last approved at or before it, else the
    current one) and, per
    channel, when the last version that changed it was approved: one query for every track."""
    history: dict[int, list[PlanVersion]] = defaultdict(list)
    for version in PlanVersion.objects.filter(
        track_id__in=[t.pk for t in tracks], approved_at__isnull=False, approved_at__lte=at
    ).order_by("track_id", "approved_at", "number"):
        history[version.track_id].append(version)
    found = {}
    for track in tracks:
        changed_at: dict[str, datetime] = {}
        previous: dict[str, object] = {}
        for version in history[track.pk]:
            channels = _channels(version.payload)
            for name, definition in channels.items():
                if previous.get(name) != definition:
                    changed_at[name] = version.approved_at
            previous = channels
        versions = history[track.pk]
        # None approved by then (a plan imported with a later date): the current one stands.
        found[track.pk] = InForce(versions[-1] if versions else track.current_version, changed_at)
    return found


def _window_rows(tracks: list[Track], now: datetime) -> Q:
    """The moves of each track's rolling window that ends at `now`, and every one after it, one
    branch per window length."""
    by_days: dict[int, list[int]] = defaultdict(list)
    for track in tracks:
        by_days[track.tenant.policy.drift_window_days].append(track.pk)
    condition = Q(pk__in=[])
    for days, ids in by_days.items():
        condition |= Q(track_id__in=ids, applied_at__gte=now - timedelta(days=days))
    return condition


def channel_drifts(
    *, tracks: list[Track], now: datetime, moves: bool = False
) -> dict[int, tuple[PlanVersion | None, list[ChannelDrift], list[tuple]]]:
    """Per track: the version in force at `now`, each channel's drift (by channel name) and,
    with `moves`, the moves that count as (channel, applied_at, delta, change set id), oldest
    first. Three queries for any number of tracks (the scan reads every tenant's at once)."""
    if not tracks:
        return {}
    versions = in_force(tracks, now)
    ids = [t.pk for t in tracks]
    live: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for track_id, channel, state in ExecutionManifestEntry.objects.filter(
        track_id__in=ids
    ).values_list("track_id", "channel", "state"):
        if entry_is_live(state):
            live[track_id][channel] += entry_daily_budget(state)
    # One read of the moves from the window's start on: those after `now` take the live budgets
    # back to that moment (today's less what applied since), the others are the window's.
    name = "change_set__change_set_id" if moves else "change_set_id"
    window: dict[int, dict[str, list[tuple]]] = defaultdict(lambda: defaultdict(list))
    for track_id, channel, at, delta, change_set in (
        AppliedChange.objects.filter(_window_rows(tracks, now), field=DAILY_BUDGET)
        .order_by("applied_at", "id")
        .values_list("track_id", "channel", "applied_at", "delta", name)
    ):
        if at > now:
            live[track_id][channel] -= delta or ZERO
        else:
            window[track_id][channel].append((channel, at, delta or ZERO, change_set))
    found = {}
    for track in tracks:
        force = versions[track.pk]
        if force.version is None:
            found[track.pk] = (None, [], [])
            continue
        payload = parse_payload(force.version.payload)
        day = track.tenant.today(now)
        planned = {
            c.channel: planned_daily_budget(payload, c.channel, day) for c in payload.channels
        }
        start = window_start(track=track, now=now)
        rows, counted = [], []
        for channel in sorted(set(planned) | set(window[track.pk])):
            since = max(force.changed_at.get(channel, start), start)
            channel_moves = [m for m in window[track.pk].get(channel, []) if m[1] >= since]
            counted += channel_moves
            net = sum((m[2] for m in channel_moves), ZERO)
            daily = planned.get(channel) or None
            rows.append(
                ChannelDrift(
                    channel=channel,
                    planned=daily,
                    live=live[track.pk].get(channel, ZERO),
                    net=net,
                    pct=drift_pct(net, daily) if daily else None,
                    threshold=track.tenant.policy.drift_pct,
                    changes=len(channel_moves),
                    since=since,
                )
            )
        counted.sort(key=lambda m: m[1])
        found[track.pk] = (force.version, rows, counted if moves else [])
    return found


def channel_drift_rows(*, track: Track, now: datetime) -> list[ChannelDrift]:
    """One track's channels' drift at `now` (what the guardrails add a move to)."""
    return channel_drifts(tracks=[track], now=now)[track.pk][1]


def track_drift(*, track: Track, now: datetime, channels: list[str] | None = None) -> TrackDrift:
    """The drift page's figures at `now`, with the chart of the moves that built them up."""
    version, rows, moves = channel_drifts(tracks=[track], now=now, moves=True)[track.pk]
    policy = track.tenant.policy
    if channels is not None:
        rows = [row for row in rows if row.channel in channels]
    shown = {row.channel for row in rows}
    ids: list[str] = []
    for channel, _at, _delta, change_set_id in moves:
        if channel in shown and change_set_id not in ids:
            ids.append(change_set_id)
    series = []
    for row in rows:
        if not row.planned:
            continue
        net, steps = ZERO, []
        for channel, at, delta, _id in moves:
            if channel == row.channel:
                net += delta
                steps.append(drift_chart.Step(at, drift_pct(net, row.planned)))
        series.append(drift_chart.Series(row.channel, tuple(steps)))
    since = min((row.since for row in rows if row.since), default=None)
    chart = (
        drift_chart.drift_chart(
            series=series,
            start=since,
            end=now,
            threshold=policy.drift_pct,
            tz=ZoneInfo(track.tenant.time_zone),
        )
        if since is not None and series
        else None
    )
    return TrackDrift(
        since=since,
        now=now,
        threshold=policy.drift_pct,
        window_days=policy.drift_window_days,
        channels=rows,
        chart=chart,
        currency=track.currency,
        time_zone=track.tenant.time_zone,
        change_set_ids=ids,
        version=version,
    )
