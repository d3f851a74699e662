"""The five revise-trigger signals as set-based reads (seed 000 "Optimization → plan revise
triggers", docs/rules.md "Revise triggers"): each one is an aggregate over all scanned tracks, not a
loop over rows. optimization/services/scan.py turns what they find into recommendations.

"Since" for every signal is the later of the track's current version's approval, the signal's
rolling window and the last time a recommendation for the same condition was resolved: a
resolved recommendation comes back only when the condition arises again after it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DecimalField,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest

from config.sql import AnyOf
from optimization import drift
from optimization.models import (
    DAILY_BUDGET,
    PRIMARY_SOURCE,
    AppliedChange,
    ChangeSet,
    ChangeSetStatus,
    PerformanceRow,
    Recommendation,
    SeasonalChange,
    Signal,
)
from optimization.selectors import preferred_source
from plans.models import Track
from tenants.models import Tenant

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
HUNDRED = Decimal("100")
# Cost KPIs miss their target from above (a CPA of 48 misses a target of 40); the others from
# below (a ROAS of 3.1 misses 4).
COST_KPIS = frozenset({"cpa", "cpc", "cpm", "cpl", "cpv", "cpi", "cost_per_lead"})


def scanned_tracks(*, tenant=None) -> list[Track]:
    """Every track with an approved version (of one tenant, or all), with what the scan reads:
    its version (less the columns the scan never reads) and its tenant with the tenant's
    policy, read once per tenant and shared by its tracks (not once per track)."""
    tracks = (
        Track.objects.filter(current_version__isnull=False)
        .select_related("current_version")
        .defer(*(f"current_version__{name}" for name in _UNREAD_VERSION_FIELDS))
    )
    if tenant is not None:
        tracks = tracks.filter(tenant=tenant)
    tracks = list(tracks.order_by("tenant_id", "key"))
    tenants = Tenant.objects.select_related("policy").in_bulk({t.tenant_id for t in tracks})
    for track in tracks:
        track.tenant = tenants[track.tenant_id]
    return tracks


# What the scan never reads of a track's version (it reads the payload, number and approval).
_UNREAD_VERSION_FIELDS = (
    "master_change",
    "remaining_delta",
    "carry_collisions",
    "path_reason",
    "reason",
)


def _window_start(days_field: str, tracks: list[Track], now: datetime) -> Case:
    """Per row, `now` minus the tenant's window for this signal (one branch per distinct
    window length, not per tenant)."""
    lengths = sorted({getattr(t.tenant.policy, days_field) for t in tracks})
    return Case(
        *[
            When(
                **{f"tenant__policy__{days_field}": days},
                then=Value(now - timedelta(days=days)),
            )
            for days in lengths
        ],
        default=Value(now),
        output_field=DateTimeField(),
    )


def _last_resolved(signal: str, subject: str | None = None) -> Subquery:
    resolved = Recommendation.objects.filter(
        track=OuterRef("track"), signal=signal, resolved_at__isnull=False
    )
    if subject is not None:
        resolved = resolved.filter(subject_key=OuterRef(subject))
    return Coalesce(
        Subquery(resolved.order_by("-resolved_at").values("resolved_at")[:1]),
        Value(EPOCH),
        output_field=DateTimeField(),
    )


# --- 1. Cumulative channel budget drift --------------------------------------------------------
@dataclass(frozen=True)
class Drift:
    track: Track
    channel: str
    net: Decimal  # the daily-budget moves applied in the window
    planned: Decimal  # the approved plan's daily budget for the channel today
    pct: Decimal
    since: datetime | None = None  # the channel's window start
    live: Decimal = Decimal("0")  # the channel's live daily budget


def drifts(tracks: list[Track], now: datetime) -> list[Drift]:
    """Channels whose drift (optimization/drift.py, the one drift selector) is beyond the
    tenant's drift_pct — except one a person resolved a recommendation on since which nothing
    moved it (no daily-budget move on it, no newer approved version): it returns when it arises
    again. The live budgets are read for the drifting tracks only."""
    beyond = []
    by_id = {t.pk: t for t in tracks}
    for track_id, (_version, rows, _moves) in drift.channel_drifts(
        tracks=tracks, now=now, live=False, unplanned=False
    ).items():
        beyond += [(by_id[track_id], row) for row in rows if not row.within]
    if not beyond:
        return []
    settled = _settled(beyond, now)
    beyond = [(t, row) for t, row in beyond if (t.pk, row.channel) not in settled]
    live = drift.live_budgets(list({t.pk for t, _row in beyond}), now)
    return [
        Drift(
            track,
            row.channel,
            row.net,
            row.planned,
            row.pct,
            row.since,
            live.get(track.pk, {}).get(row.channel, Decimal("0")),
        )
        for track, row in beyond
    ]


def _settled(beyond: list[tuple[Track, drift.ChannelDrift]], now: datetime) -> set[tuple]:
    """The (track, channel) of those a person resolved a recommendation on since which nothing
    moved them: two reads for any number of drifts."""
    resolved = {
        (track_id, channel): at
        for track_id, channel, at in Recommendation.objects.filter(
            AnyOf("track_id", {t.pk for t, _row in beyond}),
            signal=Signal.DRIFT,
            resolved_at__isnull=False,
        )
        .values("track_id", "subject_key")
        .annotate(at=Max("resolved_at"))
        .values_list("track_id", "subject_key", "at")
    }
    candidates = {}
    for track, row in beyond:
        at = resolved.get((track.pk, row.channel))
        version = track.current_version
        if at is None or (version is not None and version.approved_at and version.approved_at > at):
            continue
        candidates[(track.pk, row.channel)] = at
    if not candidates:
        return set()
    moved = (
        AppliedChange.objects.filter(
            AnyOf("track_id", {track_id for track_id, _c in candidates}),
            channel__in={channel for _t, channel in candidates},
            field=DAILY_BUDGET,
            applied_at__gt=min(candidates.values()),
            applied_at__lte=now,
        )
        .values("track_id", "channel")
        .annotate(last=Max("applied_at"))
        .values_list("track_id", "channel", "last")
    )
    for track_id, channel, last in moved:
        if last > candidates.get((track_id, channel), last):
            del candidates[(track_id, channel)]
    return set(candidates)


def drift_change_sets(found: list[Drift]) -> dict[tuple[int, str], list[str]]:
    """Per drifting (track, channel), the change sets that moved its daily budget since its
    window start, newest first, at most 50: one read for every drift found."""
    if not found:
        return {}
    since = {(d.track.pk, d.channel): d.since for d in found}
    rows = (
        AppliedChange.objects.filter(
            AnyOf("track_id", {d.track.pk for d in found}),
            channel__in={d.channel for d in found},
            field=DAILY_BUDGET,
            applied_at__gte=min(d.since for d in found),
        )
        .values_list(
            "track_id",
            "channel",
            "applied_at",
            "change_set__change_set_id",
            "change_set__applied_at",
        )
        .order_by("-change_set__applied_at")
    )
    moved: dict[tuple[int, str], list[str]] = defaultdict(list)
    for track_id, channel, applied_at, change_set_id, _at in rows:
        key = (track_id, channel)
        if key not in since or applied_at < since[key]:
            continue
        ids = moved[key]
        if change_set_id not in ids and len(ids) < 50:
            ids.append(change_set_id)
    return dict(moved)


# --- 2. Human spend approvals (A3) ------------------------------------------------------------
def guardrail_approvals(tracks: list[Track], now: datetime) -> dict[int, list[str]]:
    """Per track over its threshold, the change sets whose A3 a person approved in the window:
    one read of those change sets (a person approves an A3: they are few), counted here."""
    if not tracks:
        return {}
    approved = (
        ChangeSet.objects.filter(
            AnyOf("track_id", [t.pk for t in tracks]),
            ticket__startswith="A3-",
            status__in=[ChangeSetStatus.APPLIED, ChangeSetStatus.STALE],
        )
        .annotate(
            cutoff=Greatest(
                _window_start("guardrail_approvals_window_days", tracks, now),
                _last_resolved(Signal.GUARDRAIL_APPROVALS),
                output_field=DateTimeField(),
            )
        )
        .filter(decided_at__gte=F("cutoff"), decided_at__lte=now)
    )
    found: dict[int, list[str]] = defaultdict(list)
    for track_id, change_set_id in approved.values_list("track_id", "change_set_id"):
        found[track_id].append(change_set_id)
    limits = {t.pk: t.tenant.policy.guardrail_approvals_max for t in tracks}
    return {track_id: ids for track_id, ids in found.items() if len(ids) > limits[track_id]}


# --- 3. Primary KPI below target --------------------------------------------------------------
@dataclass(frozen=True)
class KpiMiss:
    track: Track
    kpi: str
    target: Decimal
    days: list[tuple[date, Decimal]]  # each day's value, oldest first

    @property
    def average(self) -> Decimal:
        return sum((v for _d, v in self.days), Decimal("0")) / len(self.days)


def kpi_misses(tracks: list[Track], now: datetime) -> list[KpiMiss]:
    """Tracks whose primary KPI missed its target on each of the last `kpi_miss_days` days
    (ending yesterday in the tenant's time zone), GA4 first where several sources report the
    same channel and day. One aggregate per day and track."""
    # Long on purpose: one SQL aggregate and the few lines that read it; most of the length is the
    # query's text.
    candidates = {}
    for track in tracks:
        payload = track.current_version.payload
        kpi = payload.get("primary_kpi")
        target = payload.get("kpi_targets", {}).get(kpi)
        if kpi and target is not None:
            candidates[track.pk] = (track, kpi, Decimal(str(target)))
    if not candidates:
        return []
    tenants = {t.tenant_id: t.tenant for t, _k, _v in candidates.values()}
    today = {tenant_id: tenant.today(now) for tenant_id, tenant in tenants.items()}
    ends = {pk: today[t.tenant_id] - timedelta(days=1) for pk, (t, _k, _v) in candidates.items()}
    starts = {
        pk: ends[pk] - timedelta(days=t.tenant.policy.kpi_miss_days - 1)
        for pk, (t, _k, _v) in candidates.items()
    }
    # The resolution of an earlier recommendation starts the count afresh.
    resolved = dict(
        Recommendation.objects.filter(
            AnyOf("track_id", candidates), signal=Signal.KPI_MISS, resolved_at__isnull=False
        )
        .values("track_id")
        .annotate(at=Max("resolved_at"))
        .values_list("track_id", "at")
    )
    rows = _kpi_days(list(candidates), min(starts.values()), max(ends.values()))
    days: dict[int, dict[date, Decimal]] = defaultdict(dict)
    for row in rows:
        track, kpi, _target = candidates[row["track_id"]]
        if kpi == "cpa":
            if not row["conversions_total"]:
                continue
            value = row["spend_total"] / row["conversions_total"]
        else:
            if not row["weighted_spend"]:
                continue
            value = row["weighted"] / row["weighted_spend"]
        days[row["track_id"]][row["date"]] = value
    found = []
    for pk, (track, kpi, target) in candidates.items():
        first = starts[pk]
        if pk in resolved:
            first = max(first, track.tenant.today(resolved[pk].astimezone(UTC)) + timedelta(days=1))
        wanted = [first + timedelta(days=i) for i in range((ends[pk] - first).days + 1)]
        if len(wanted) < track.tenant.policy.kpi_miss_days:
            continue
        values = days.get(pk, {})
        if not all(day in values for day in wanted):
            continue
        if kpi in COST_KPIS:
            missed = all(values[day] > target for day in wanted)
        else:
            missed = all(values[day] < target for day in wanted)
        if missed:
            found.append(KpiMiss(track, kpi, target, [(day, values[day]) for day in wanted]))
    return found


_KPI_DAYS = f"""
SELECT track_id, date, sum(spend) AS spend_total, sum(conversions) AS conversions_total,
       sum(kpi_value * spend) FILTER (WHERE kpi_value IS NOT NULL) AS weighted,
       sum(spend) FILTER (WHERE kpi_value IS NOT NULL) AS weighted_spend
FROM (
    SELECT DISTINCT ON (date, track_id, channel) track_id, date, spend, conversions, kpi_value
    FROM {PerformanceRow._meta.db_table}
    WHERE date BETWEEN %(first)s AND %(last)s AND track_id = ANY(%(tracks)s)
    ORDER BY date, track_id, channel, source <> %(primary)s, source
) AS preferred
GROUP BY track_id, date
"""


def _kpi_days(track_ids: list[int], first: date, last: date) -> list[dict]:
    """Per track and day from `first` to `last`, the sums of the preferred source of each
    channel (GA4 first, then by name): ONE aggregate over the performance rows, read from their
    `performance_row_recent` index (on PostgreSQL; elsewhere the same sums in portable SQL)."""
    if connection.vendor != "postgresql":
        return list(_kpi_days_portable(track_ids, first, last))
    with connection.cursor() as cursor:
        cursor.execute(
            _KPI_DAYS,
            {"first": first, "last": last, "tracks": track_ids, "primary": PRIMARY_SOURCE},
        )
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _kpi_days_portable(track_ids: list[int], first: date, last: date):
    preferred = preferred_source()
    money = DecimalField(max_digits=24, decimal_places=6)
    return (
        PerformanceRow.objects.filter(track_id__in=track_ids, date__gte=first, date__lte=last)
        .filter(source=preferred)
        .values("track_id", "date")
        .annotate(
            spend_total=Sum("spend"),
            conversions_total=Sum("conversions"),
            weighted=Sum(
                ExpressionWrapper(F("kpi_value") * F("spend"), output_field=money),
                filter=Q(kpi_value__isnull=False),
            ),
            weighted_spend=Sum("spend", filter=Q(kpi_value__isnull=False)),
        )
    )


# --- 4. Structural changes blocked ------------------------------------------------------------
def structural_blocks(tracks: list[Track], now: datetime) -> dict[int, list[ChangeSet]]:
    """Per track with at least `structural_block_max` blocked change sets since its version's
    approval (and the last resolution), those change sets, oldest first."""
    if not tracks:
        return {}
    blocked = (
        ChangeSet.objects.filter(
            AnyOf("track_id", [t.pk for t in tracks]), status=ChangeSetStatus.BLOCKED
        )
        .annotate(
            cutoff=Greatest(
                F("track__current_version__approved_at"),
                _last_resolved(Signal.STRUCTURAL_BLOCK),
                output_field=DateTimeField(),
            )
        )
        .filter(created_at__gte=F("cutoff"), created_at__lte=now)
    )
    limits = {t.pk: t.tenant.policy.structural_block_max for t in tracks}
    counts = blocked.values("track_id").annotate(n=Count("id"))
    over = [row["track_id"] for row in counts if row["n"] >= max(limits[row["track_id"]], 1)]
    found: dict[int, list[ChangeSet]] = defaultdict(list)
    for change_set in (
        blocked.filter(track_id__in=over).prefetch_related("items").order_by("created_at", "id")
    ):
        found[change_set.track_id].append(change_set)
    return dict(found)


# --- 5. Seasonality calendar ------------------------------------------------------------------
def seasonal_changes_due(tracks: list[Track], now: datetime) -> list[SeasonalChange]:
    """Calendar entries starting within the tenant's lead time that no recommendation carries
    yet (one each, ever)."""
    if not tracks:
        return []
    by_id = {t.pk: t for t in tracks}
    carried = set(
        Recommendation.objects.filter(
            AnyOf("track_id", by_id), signal=Signal.SEASONALITY
        ).values_list("subject_key", flat=True)
    )
    due = []
    for change in SeasonalChange.objects.filter(AnyOf("track_id", by_id)).order_by("starts_on"):
        if str(change.pk) in carried:
            continue
        track = by_id[change.track_id]
        today = track.tenant.today(now)
        lead = timedelta(days=track.tenant.policy.seasonality_lead_days)
        if today <= change.starts_on <= today + lead:
            due.append(change)
    return due
