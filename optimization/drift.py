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

from django.db import connection
from django.db.models import Count, Q, Sum

from config.sql import AnyOf, fetch, moment
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


# Which version last changed each channel, by (track, current version): approved versions are
# never edited (plans/models.py), and a new approval changes the track's current version, so an
# entry never goes stale. The guardrails read it for every change set.
_CHANGED_AT: dict[tuple[int, int], dict[str, datetime]] = {}
_CHANGED_AT_SIZE = 65536
# Per approved version and day, each channel's planned daily budget (approved versions are never
# edited): the scan reads it for every track, and validating every payload again cost more than
# the drift aggregate itself. Bounded; cleared when full (a new day fills it again).
_PLANNED: dict[tuple[int, object], dict[str, Decimal]] = {}
_PLANNED_SIZE = 65536


def _changed_at(rows: list[tuple[datetime, dict]]) -> dict[str, datetime]:
    """Per channel, the approval of the last of `rows` (oldest first) that changed it."""
    changed_at: dict[str, datetime] = {}
    previous: dict[str, object] = {}
    for approved_at, payload in rows:
        channels = _channels(payload)
        for name, definition in channels.items():
            if previous.get(name) != definition:
                changed_at[name] = approved_at
        previous = channels
    return changed_at


def in_force(tracks: list[Track], at: datetime) -> dict[int, InForce]:
    """Per track, the version in force at `at` (the last approved at or before it, else the
    current one) and, per channel, when the last version that changed it was approved: at most
    one query for every track (none for a track whose current version is in force and known)."""
    found: dict[int, InForce] = {}
    unknown = []
    for track in tracks:
        current = track.current_version
        if current is not None and current.approved_at and current.approved_at <= at:
            known = _CHANGED_AT.get((track.pk, current.pk))
            if known is not None:
                found[track.pk] = InForce(current, known)
                continue
        unknown.append(track)
    if not unknown:
        return found
    history: dict[int, list[tuple]] = defaultdict(list)
    for row in (
        PlanVersion.objects.filter(
            AnyOf("track_id", [t.pk for t in unknown]),
            approved_at__isnull=False,
            approved_at__lte=at,
        )
        .order_by("track_id", "approved_at", "number")
        .values_list("track_id", "id", "approved_at", "payload")
    ):
        history[row[0]].append(row[1:])
    for track in unknown:
        rows = history[track.pk]
        changed_at = _changed_at([(approved_at, payload) for _id, approved_at, payload in rows])
        current = track.current_version
        if not rows or (current is not None and rows[-1][0] == current.pk):
            # None approved by then (a plan imported with a later date): the current one stands.
            version = current
            if current is not None and rows and len(_CHANGED_AT) < _CHANGED_AT_SIZE:
                _CHANGED_AT[(track.pk, current.pk)] = changed_at
        else:
            version = PlanVersion.objects.get(pk=rows[-1][0])
        found[track.pk] = InForce(version, changed_at)
    return found


def _counted(sinces: dict[int, tuple[dict[str, datetime], datetime]], now: datetime) -> Q:
    """The moves that count, up to `now`: per track, those of each planned channel since its
    window start, and of any other channel since the rolling window's start. Tracks whose
    planned channels all start together take one branch per start (any other channel counted
    from there too: it has no plan to drift from, its moves are only listed)."""
    shared: dict[datetime, list[int]] = defaultdict(list)
    condition = Q(pk__in=[])
    for track_id, (per_channel, start) in sinces.items():
        starts = set(per_channel.values()) or {start}
        if len(starts) == 1:
            shared[starts.pop()].append(track_id)
            continue
        by_start: dict[datetime, list[str]] = defaultdict(list)
        for channel, since in per_channel.items():
            by_start[since].append(channel)
        for since, channels in by_start.items():
            condition |= Q(track_id=track_id, channel__in=channels, applied_at__gte=since)
        condition |= Q(track_id=track_id, applied_at__gte=start) & ~Q(channel__in=list(per_channel))
    for start, ids in shared.items():
        condition |= Q(track_id__in=ids, applied_at__gte=start)
    return condition & Q(applied_at__lte=now)


def _planned_on(version: PlanVersion, day) -> dict[str, Decimal]:
    """Per channel of the version, its planned daily budget on `day` (cached for an approved
    version)."""
    key = (version.pk, day)
    planned = _PLANNED.get(key) if version.approved_at else None
    if planned is None:
        payload = parse_payload(version.payload)
        planned = {
            c.channel: planned_daily_budget(payload, c.channel, day) for c in payload.channels
        }
        if version.approved_at:
            if len(_PLANNED) >= _PLANNED_SIZE:
                _PLANNED.clear()
            _PLANNED[key] = planned
    return planned


# Many tracks' moves that count, per track and channel, as `_counted` counts them, in one
# statement: each window a row of an array parameter (not one OR branch per track, which
# PostgreSQL rechecks on every row), each summed from its own index range of
# `applied_budget_drift` (a LATERAL subquery: never a hash join over the whole table). A
# channel the plan does not have (found by skipping through the same index, channel by channel)
# counts from the track's other start.
_MANY_TRACKS_SQL = f"""
WITH planned AS MATERIALIZED (
    SELECT * FROM unnest(%(tracks)s::bigint[], %(channels)s::text[], %(sinces)s::timestamptz[])
        AS p(track_id, channel, since)
), other AS MATERIALIZED (
    SELECT * FROM unnest(%(other_tracks)s::bigint[], %(other_sinces)s::timestamptz[])
        AS o(track_id, since)
), windows AS (
    SELECT track_id, channel, since FROM planned
    UNION ALL
    SELECT o.track_id, found.channel, o.since
    FROM other o CROSS JOIN LATERAL (
        WITH RECURSIVE next(channel) AS (
            (SELECT a.channel FROM {AppliedChange._meta.db_table} a
             WHERE a.track_id = o.track_id AND a.field = '{DAILY_BUDGET}'
             ORDER BY a.channel LIMIT 1)
            UNION ALL
            SELECT (SELECT a.channel FROM {AppliedChange._meta.db_table} a
                    WHERE a.track_id = o.track_id AND a.field = '{DAILY_BUDGET}'
                      AND a.channel > next.channel
                    ORDER BY a.channel LIMIT 1)
            FROM next WHERE next.channel IS NOT NULL
        )
        SELECT channel FROM next WHERE channel IS NOT NULL
    ) found
    WHERE NOT EXISTS (
        SELECT 1 FROM planned p WHERE p.track_id = o.track_id AND p.channel = found.channel
    )
)
SELECT w.track_id, w.channel, moved.net, moved.n
FROM windows w CROSS JOIN LATERAL (
    SELECT SUM(a.delta) FILTER (WHERE NOT a.aligns) AS net,
           COUNT(*) FILTER (WHERE NOT a.aligns) AS n, COUNT(*) AS moves
    FROM {AppliedChange._meta.db_table} a
    WHERE a.track_id = w.track_id AND a.channel = w.channel AND a.field = '{DAILY_BUDGET}'
      AND a.applied_at >= w.since AND a.applied_at <= %(now)s
) moved
WHERE moved.moves > 0
"""


def _many_tracks_totals(
    sinces: dict[int, tuple[dict[str, datetime], datetime]], now: datetime, *, unplanned: bool
) -> dict[int, dict[str, tuple[Decimal, int]]]:
    """Per track and channel, the net and the number of the moves that count (alignments left
    out): ONE statement for any number of tracks on PostgreSQL (the ORM's `_counted` elsewhere).
    Without `unplanned`, only the channels the plan has (the scan: no other channel can drift)."""
    totals: dict[int, dict[str, tuple[Decimal, int]]] = defaultdict(dict)
    if connection.vendor != "postgresql":
        not_aligning = Q(aligns=False)
        for row in (
            AppliedChange.objects.filter(_counted(sinces, now), field=DAILY_BUDGET)
            .values("track_id", "channel")
            .annotate(net=Sum("delta", filter=not_aligning), n=Count("id", filter=not_aligning))
        ):
            if unplanned or row["channel"] in sinces[row["track_id"]][0]:
                totals[row["track_id"]][row["channel"]] = (row["net"] or ZERO, row["n"])
        return totals
    params: dict[str, list] = {
        "tracks": [],
        "channels": [],
        "sinces": [],
        "other_tracks": [],
        "other_sinces": [],
    }
    for track_id, (per_channel, start) in sinces.items():
        for channel, since in per_channel.items():
            params["tracks"].append(track_id)
            params["channels"].append(channel)
            params["sinces"].append(since)
        if unplanned:
            starts = set(per_channel.values())
            params["other_tracks"].append(track_id)
            params["other_sinces"].append(starts.pop() if len(starts) == 1 else start)
    with connection.cursor() as cursor:
        cursor.execute(_MANY_TRACKS_SQL, {**params, "now": now})
        for track_id, channel, net, n in cursor.fetchall():
            totals[track_id][channel] = (net or ZERO, n)
    return totals


def live_budgets(track_ids: list[int], now: datetime) -> dict[int, dict[str, Decimal]]:
    """Per track and channel, the daily budgets of its live entities at `now` (the scan reads
    them only for the drifts it found)."""
    return _live_budgets(track_ids, now) if track_ids else {}


def _counted_moves(sinces: dict[int, tuple[dict[str, datetime], datetime]], now: datetime):
    return AppliedChange.objects.filter(_counted(sinces, now), field=DAILY_BUDGET)


# One track's moves that count, per channel: the query `_counted_moves` builds through the ORM
# for many tracks, written out for one (the guardrails read it for every change set, and building
# the ORM's query cost more than running it). Its text depends only on how many
# channels have a window start of their own, so it is made once per count.
_ONE_TRACK_SQL: dict[int, str] = {}


def _one_track_sql(channels: int) -> str:
    sql = _ONE_TRACK_SQL.get(channels)
    if sql is None:
        since = "%s"
        if channels:
            since = "CASE channel " + "WHEN %s THEN %s " * channels + "ELSE %s END"
        sql = _ONE_TRACK_SQL[channels] = (
            "SELECT channel, SUM(delta) FILTER (WHERE NOT aligns), "
            "COUNT(*) FILTER (WHERE NOT aligns) "
            f"FROM {AppliedChange._meta.db_table} "
            f"WHERE track_id = %s AND field = '{DAILY_BUDGET}' "
            f"AND applied_at <= %s AND applied_at >= {since} GROUP BY channel"
        )
    return sql


def _one_track_totals(
    track_id: int, per_channel: dict[str, datetime], start: datetime, now: datetime
) -> dict[str, tuple[Decimal, int]]:
    """Per channel, the net and the number of the moves that count (as `_counted` counts them,
    alignments left out): each planned channel's since its window start and any other channel's
    since the rolling window's start — or every channel's since the one start they share."""
    starts = set(per_channel.values())
    own = {} if len(starts) <= 1 else per_channel
    params: list = [track_id, moment(now)]
    for channel, since in own.items():
        params += [channel, moment(since)]
    params.append(moment(starts.pop() if len(starts) == 1 else start))
    return {
        channel: (_decimal(net), n) for channel, net, n in fetch(_one_track_sql(len(own)), params)
    }


def _decimal(value) -> Decimal:
    """A sum read raw: a Decimal from PostgreSQL, a number from SQLite (as the ORM converts it)."""
    if value is None:
        return ZERO
    return value if isinstance(value, Decimal) else Decimal(str(value)).quantize(CENT)


def _live_budgets(ids: list[int], now: datetime) -> dict[int, dict[str, Decimal]]:
    """Per track and channel, the daily budgets of its live entities at `now`: today's less the
    moves applied after it."""
    live: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for track_id, channel, state in ExecutionManifestEntry.objects.filter(
        AnyOf("track_id", ids)
    ).values_list("track_id", "channel", "state"):
        if entry_is_live(state):
            live[track_id][channel] += entry_daily_budget(state)
    for row in (
        AppliedChange.objects.filter(AnyOf("track_id", ids), field=DAILY_BUDGET, applied_at__gt=now)
        .values("track_id", "channel")
        .annotate(net=Sum("delta"))
    ):
        live[row["track_id"]][row["channel"]] -= row["net"] or ZERO
    return live


def channel_drifts(
    *,
    tracks: list[Track],
    now: datetime,
    moves: bool = False,
    live: bool = True,
    unplanned: bool = True,
) -> dict[int, tuple[PlanVersion | None, list[ChannelDrift], list[tuple]]]:
    """Per track: the version in force at `now`, each channel's drift (by channel name) and,
    with `moves`, the moves that count as (channel, applied_at, delta, change set id), oldest
    first. A few queries for any number of tracks (the scan reads every tenant's at once);
    without `live` (the guardrails know the live budgets of what they locked) two, and for one
    track whose versions are known one: its moves' totals, a written-out statement. Without
    `unplanned`, only the channels the plan has (the only ones that can drift)."""
    # Long on purpose: the one drift selector: versions in force, the approval that last changed
    # each channel, moves since then and live budgets, read in a few set-based queries for many
    # tracks at once.
    if not tracks:
        return {}
    versions = in_force(tracks, now)
    plans: dict[int, dict[str, Decimal]] = {}
    sinces: dict[int, tuple[dict[str, datetime], datetime]] = {}
    for track in tracks:
        force = versions[track.pk]
        if force.version is None:
            continue
        plans[track.pk] = _planned_on(force.version, track.tenant.today(now))
        start = window_start(track=track, now=now)
        sinces[track.pk] = (
            {c: max(force.changed_at.get(c, start), start) for c in plans[track.pk]},
            start,
        )
    # An alignment moves a channel onto its approved plan: it closes drift, it is not drift.
    totals: dict[int, dict[str, tuple[Decimal, int]]] = defaultdict(dict)
    listed: dict[int, list[tuple]] = defaultdict(list)
    if moves:
        for track_id, channel, at, delta, change_set_id in (
            _counted_moves(sinces, now)
            .order_by("applied_at", "id")
            .filter(aligns=False)
            .values_list("track_id", "channel", "applied_at", "delta", "change_set__change_set_id")
        ):
            listed[track_id].append((channel, at, delta or ZERO, change_set_id))
            net, n = totals[track_id].get(channel, (ZERO, 0))
            totals[track_id][channel] = (net + (delta or ZERO), n + 1)
    elif len(sinces) == 1:
        # One track: what the guardrails read for every change set, as a written-out statement.
        [(track_id, (per_channel, start))] = sinces.items()
        totals[track_id] = _one_track_totals(track_id, per_channel, start, now)
    else:
        totals = _many_tracks_totals(sinces, now, unplanned=unplanned)
    levels = _live_budgets(list(sinces), now) if live else {}
    found = {}
    for track in tracks:
        if track.pk not in sinces:
            found[track.pk] = (None, [], [])
            continue
        planned, (per_channel, start) = plans[track.pk], sinces[track.pk]
        starts = set(per_channel.values())
        other_since = starts.pop() if len(starts) == 1 else start  # as _counted counts them
        rows = []
        shown = set(planned) | set(totals[track.pk]) if unplanned else set(planned)
        for channel in sorted(shown):
            net, n = totals[track.pk].get(channel, (ZERO, 0))
            daily = planned.get(channel) or None
            rows.append(
                ChannelDrift(
                    channel=channel,
                    planned=daily,
                    live=levels[track.pk].get(channel, ZERO) if live else ZERO,
                    net=net,
                    pct=drift_pct(net, daily) if daily else None,
                    threshold=track.tenant.policy.drift_pct,
                    changes=n,
                    since=per_channel.get(channel, other_since),
                )
            )
        found[track.pk] = (versions[track.pk].version, rows, listed[track.pk])
    return found


def channel_drift_rows(*, track: Track, now: datetime) -> list[ChannelDrift]:
    """One track's channels' drift at `now` as the guardrails add a move to it (they read the
    live budgets of the entities they locked, so not here)."""
    return channel_drifts(tracks=[track], now=now, live=False)[track.pk][1]


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
