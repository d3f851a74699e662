"""Reads of the execution manifest, the optimization log, drift and recommendations, and what
the ops metrics and the weekly report read of them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from approvals.models import Ticket, TicketDecision
from approvals.types import TicketType
from config import sql
from config.sql import AnyOf, ComparedRanges
from optimization import rollups
from optimization.models import (
    DAILY_BUDGET,
    PRIMARY_SOURCE,
    AppliedChange,
    ChangeSet,
    ChangeSetEventKind,
    ChangeSetItem,
    ChangeSetKind,
    ChangeSetStatus,
    ExecutionManifestEntry,
    ManifestVersionLink,
    PerformanceRow,
    PlatformAccount,
    Recommendation,
    RecommendationStatus,
    Reconciliation,
    ReconciliationStatus,
    TrackHold,
)
from plans.diff import planned_daily_budget
from plans.models import PlanVersion, Track
from plans.schema import parse_payload
from tenants.models import Tenant

ZERO = Decimal("0")
HUNDRED = Decimal("100")


def manifest_entries_for_track(*, track) -> QuerySet[ExecutionManifestEntry]:
    return ExecutionManifestEntry.objects.filter(tenant_id=track.tenant_id, track=track)


def manifest_entries_for_tenant(*, tenant) -> QuerySet[ExecutionManifestEntry]:
    return ExecutionManifestEntry.objects.filter(tenant=tenant).select_related("track")


def manifest_entries_for_version(*, tenant, number: int) -> QuerySet[ExecutionManifestEntry]:
    """The live entities that implement plan version `number` (seed 000 "Version history")."""
    return ExecutionManifestEntry.objects.filter(tenant=tenant, plan_version=number)


def manifest_links_past_for_version(*, tenant, number: int) -> QuerySet[ManifestVersionLink]:
    """The entities that implemented plan version `number` and have moved on since (the
    manifest's history, kept by the database: ManifestVersionLink), oldest first."""
    return (
        ManifestVersionLink.objects.filter(tenant=tenant, plan_version=number, until__isnull=False)
        .select_related("entry", "entry__track")
        .order_by("since", "pk")
    )


def manifest_entries_as_dicts(track) -> list[dict]:
    """The track's live entries in the shape plans/diff.py `manifest_diff` reads (registered with
    plans.live, so plans can compare a version with the live state without importing us)."""
    return [entry.as_dict() for entry in manifest_entries_for_track(track=track)]


# --- Live state, plan and drift per channel -------------------------------------------------------
def entry_is_live(state: dict) -> bool:
    return str((state or {}).get("status", "active")).lower() == "active"


def entry_daily_budget(state: dict) -> Decimal:
    try:
        return Decimal(str((state or {}).get("daily_budget", "0")))
    except ArithmeticError:
        return ZERO


def live_daily_budgets(entries: Iterable[ExecutionManifestEntry]) -> dict[str, Decimal]:
    """Per channel, the sum of the daily budgets of its live (active) entities."""
    totals: dict[str, Decimal] = {}
    for entry in entries:
        if entry_is_live(entry.state):
            totals[entry.channel] = totals.get(entry.channel, ZERO) + entry_daily_budget(
                entry.state
            )
    return totals


def planned_daily_budgets(*, track, on: date) -> dict[str, Decimal | None]:
    """Per channel of the track's approved version, its planned daily budget on `on` (the
    flight covering that day divided by its days); None where no flight runs that day."""
    version = track.current_version
    if version is None:
        return {}
    payload = parse_payload(version.payload)
    return {
        channel.channel: planned_daily_budget(payload, channel.channel, on) or None
        for channel in payload.channels
    }


def first_launch_done(entry: ExecutionManifestEntry) -> bool:
    return entry.first_active_at is not None


# --- The optimization log -------------------------------------------------------------------------
def change_set_or_none(*, tenant, change_set_id: str) -> ChangeSet | None:
    return (
        ChangeSet.objects.filter(tenant=tenant, change_set_id=change_set_id)
        .select_related("track", "tenant", "reverts")
        .first()
    )


def change_set_log(*, track) -> QuerySet[ChangeSet]:
    """The track's change sets, newest first, with their items (the optimization log page)."""
    return (
        ChangeSet.objects.filter(track=track)
        .select_related("reverts")
        .prefetch_related("items")
        .order_by("-created_at", "-id")
    )


def approved_edits(change_set: ChangeSet) -> dict[int, object]:
    """The smaller moves an approver chose, by item position (the latest edit wins)."""
    event = change_set.events.filter(kind=ChangeSetEventKind.EDITED).order_by("-at", "-id").first()
    if event is None:
        return {}
    return {int(position): value for position, value in event.data.get("approved", {}).items()}


def active_holds(*, track) -> QuerySet[TrackHold]:
    """The track's hold while it lasts (one at most)."""
    return TrackHold.objects.filter(track=track, ended_at__isnull=True)


def active_hold(*, track) -> TrackHold | None:
    return active_holds(track=track).first()


@dataclass(frozen=True)
class ChannelMove:
    """One channel's daily-budget move as a change set will apply it now."""

    channel: str
    before: Decimal  # the channel's live daily budget when it was proposed
    asked: Decimal  # the move the agent asked for
    applying: Decimal  # the move that applies (or applied): an approver's smaller move, or asked

    @property
    def edited(self) -> bool:
        return self.applying != self.asked


@dataclass(frozen=True)
class ClientFigures:
    """What a change set moves, in the figures a client is shown anywhere (portal item,
    thank-you, history, notifications): always what will apply, never what was first asked."""

    moves: tuple[ChannelMove, ...]
    waiting_for_hold: bool
    # The client had approved the bigger move when the team approved a smaller one: their
    # approval stands (same direction, smaller), and they are told so.
    edited_after_client_approved: bool = False


def change_set_client_figures(change_set: ChangeSet) -> ClientFigures:
    """The one reading of a change set's money for the client (issue 16 item 2)."""
    edits = approved_edits(change_set)
    asked: dict[str, Decimal] = {}
    applying: dict[str, Decimal] = {}
    for item in change_set.items.all():
        if item.field != DAILY_BUDGET or not item.channel:
            continue
        before = Decimal(str(item.before or 0))
        asked[item.channel] = asked.get(item.channel, ZERO) + Decimal(str(item.after)) - before
        after = Decimal(str(edits.get(item.position, item.after)))
        applying[item.channel] = applying.get(item.channel, ZERO) + after - before
    channel_before = {}
    for check in (change_set.guardrails or {}).get("channels", []):
        try:
            channel_before[check["channel"]] = Decimal(str(check["live_daily_budget"]))
        except (KeyError, TypeError, ArithmeticError):
            continue
    moves = tuple(
        ChannelMove(
            channel=channel,
            before=channel_before.get(channel, ZERO),
            asked=asked[channel],
            applying=applying[channel],
        )
        for channel in sorted(asked)
    )
    edited_after = False
    if any(move.edited for move in moves):
        edit = change_set.events.filter(kind=ChangeSetEventKind.EDITED).order_by("at", "id").first()
        edited_after = (
            edit is not None
            and TicketDecision.objects.filter(
                ticket__tenant_id=change_set.tenant_id,
                ticket__subject_type="change_set",
                ticket__subject_id=change_set.change_set_id,
                role="client",
                verdict="approve",
                created_at__lte=edit.at,
            ).exists()
        )
    return ClientFigures(
        moves=moves,
        waiting_for_hold=change_set.status == ChangeSetStatus.APPROVED_WAITING,
        edited_after_client_approved=edited_after,
    )


def track_on_hold(*, track) -> bool:
    return active_holds(track=track).exists()


@dataclass(frozen=True)
class HoldPreview:
    """What *Pause all spend* stops, for its confirmation: the live entities and their daily
    budget."""

    entities: int
    daily_budget: Decimal


def hold_preview(*, entries: Iterable[ExecutionManifestEntry]) -> HoldPreview:
    live = [e for e in entries if entry_is_live(e.state)]
    return HoldPreview(
        entities=len(live),
        daily_budget=sum((entry_daily_budget(e.state) for e in live), ZERO),
    )


@dataclass(frozen=True)
class WaitingMove:
    entity_id: str
    field: str
    before: object
    applies: object  # what applies on resume: an approver's smaller move, or what was asked


def change_sets_waiting_for_hold(*, track) -> list[ChangeSet]:
    """The change sets approved during the track's hold, in the order they apply on resume, each
    with `moves`: what will apply (WaitingMove), as resume says it."""
    waiting = list(
        ChangeSet.objects.filter(track=track, status=ChangeSetStatus.APPROVED_WAITING)
        .prefetch_related("items")
        .order_by("decided_at", "id")
    )
    for change_set in waiting:
        edits = approved_edits(change_set)
        change_set.moves = [
            WaitingMove(i.entity_id, i.field, i.before, edits.get(i.position, i.after))
            for i in change_set.items.all()
        ]
    return waiting


def open_recommendation(*, track, signal: str, subject_key: str) -> Recommendation | None:
    return Recommendation.objects.filter(
        track=track, signal=signal, subject_key=subject_key, status=RecommendationStatus.OPEN
    ).first()


def open_conditions(*, track_ids: list[int]) -> set[tuple[int, str, str]]:
    """(track, signal, subject) of every open recommendation on these tracks, in one read."""
    if not track_ids:
        return set()
    return set(
        Recommendation.objects.filter(
            AnyOf("track_id", track_ids), status=RecommendationStatus.OPEN
        ).values_list("track_id", "signal", "subject_key")
    )


def change_set_exists(tenant, change_set_id) -> bool:
    """Does the tenant have this change set? (approvals checks ticket references with it)"""
    return ChangeSet.objects.filter(tenant=tenant, change_set_id=str(change_set_id)).exists()


def platform_account_exists(tenant, account_id: str) -> bool:
    """Does the tenant have this platform account? (an A4's subject id, as stored)"""
    return (
        str(account_id).isdigit()
        and int(account_id) < 2**63
        and PlatformAccount.objects.filter(tenant=tenant, pk=int(account_id)).exists()
    )


def tenant_onboarding(*, tenant) -> dict:
    """The onboarding page's figures, one selector: the tenant's platform accounts, and per
    track the accounts its manifest entities run on (`state.account`) and its "Onboarding
    completion" — the moment the last of them became ready, or None while one is not."""
    accounts = list(PlatformAccount.objects.filter(tenant=tenant).order_by("platform", "kind"))
    by_key = {(a.platform, a.external_id): a for a in accounts}
    used: dict[int, set] = defaultdict(set)
    tracks: dict[int, Track] = {}
    for entry in ExecutionManifestEntry.objects.filter(
        tenant=tenant, state__has_key="account"
    ).select_related("track"):
        tracks[entry.track_id] = entry.track
        used[entry.track_id].add((entry.platform, str(entry.state["account"])))
    rows = []
    for track_id, keys in sorted(used.items(), key=lambda item: tracks[item[0]].key):
        mine = [by_key.get(key) for key in sorted(keys)]
        waiting = [
            f"{p}:{e}"
            for (p, e), a in zip(sorted(keys), mine, strict=True)
            if not a or not a.is_ready
        ]
        rows.append(
            {
                "track": tracks[track_id],
                "accounts": [f"{p}:{e}" for p, e in sorted(keys)],
                "waiting": waiting,
                "completed_at": None if waiting else max(a.ready_at for a in mine),
            }
        )
    return {"accounts": accounts, "tracks": rows}


def reconciliation_exists(tenant, reconciliation_id: str) -> bool:
    """Does the tenant have this reconciliation? (an A6's subject id, as stored)"""
    return (
        str(reconciliation_id).isdigit()
        and int(reconciliation_id) < 2**63
        and Reconciliation.objects.filter(tenant=tenant, pk=int(reconciliation_id)).exists()
    )


def track_reconciliations(*, track, pending_only: bool = False) -> list[Reconciliation]:
    """A track's reconciliations, newest first (waiting and restoring ones when `pending_only`):
    what the agent API lists and the track's reconciliation region shows."""
    rows = Reconciliation.objects.filter(track=track).select_related("manifest_entry")
    if pending_only:
        rows = rows.filter(status__in=[ReconciliationStatus.OPEN, ReconciliationStatus.RESTORING])
    return list(rows.order_by("-opened_at", "-pk")[:200])


def recommendation_exists(tenant, recommendation_id: str) -> bool:
    """Does the tenant have this recommendation? (a ticket's subject id, as stored)"""
    return (
        str(recommendation_id).isdigit()
        and int(recommendation_id) < 2**63
        and Recommendation.objects.filter(tenant=tenant, pk=int(recommendation_id)).exists()
    )


def change_set_view(change_set: ChangeSet) -> dict:
    """A change set as the API answers it and its page shows it: the request, what an approver
    approved and what was applied per item, its history and its tickets."""
    edits = approved_edits(change_set)
    applied = {row.item_id: row.after for row in change_set.applied.all()}
    tickets = Ticket.objects.filter(
        tenant_id=change_set.tenant_id,
        subject_type="change_set",
        subject_id=change_set.change_set_id,
    ).order_by("created_at")
    return {
        "change_set_id": change_set.change_set_id,
        "status": change_set.status,
        "path": change_set.path,
        "ticket": change_set.ticket or None,
        "reason": change_set.status_reason,
        "track": change_set.track.key,
        "run_id": change_set.run_id,
        "agent": change_set.agent,
        "kind": change_set.kind,
        "created_at": change_set.created_at,
        "applied_at": change_set.applied_at,
        "reverts": change_set.reverts.change_set_id if change_set.reverts_id else None,
        "reverted_by": list(change_set.reverted_by.values_list("change_set_id", flat=True)),
        "items": [
            {
                "entity_id": item.entity_id or None,
                "field": item.field,
                "before": item.before,
                "after": item.after,
                "approved_after": edits.get(item.position),
                "applied_after": applied.get(item.pk),
            }
            for item in change_set.items.all()
        ],
        "history": [
            {"kind": e.kind, "at": e.at, "actor": e.actor, "message": e.message}
            for e in change_set.events.all()
        ],
        "tickets": [{"ticket": t.public_id, "type": t.type, "status": t.status} for t in tickets],
    }


RUN_CHANGE_SETS_LIMIT = 50


def change_sets_of_run(tenant, run_id: str) -> list[dict]:
    """The change sets carrying an agent run's id, newest first, as plain dicts (registered with
    approvals.presentation for the run's System Ops page: agents imports nothing of ours)."""
    rows = (
        ChangeSet.objects.filter(tenant=tenant, run_id=run_id)
        .select_related("track")
        .annotate(item_count=Count("items"))
        .order_by("-created_at", "-id")[:RUN_CHANGE_SETS_LIMIT]
    )
    return [
        {
            "change_set_id": cs.change_set_id,
            "track": cs.track.key,
            "status": cs.status,
            "status_label": cs.get_status_display(),
            "applied": cs.is_applied,
            "pending": cs.is_pending,
            "kind_label": cs.get_kind_display(),
            "path": cs.path,
            "agent": cs.agent,
            "items": cs.item_count,
            "ticket": cs.ticket,
            "created_at": cs.created_at,
        }
        for cs in rows
    ]


# --- What the ops metrics and the weekly report read (metrics/selectors.py, metrics/report.py) ---
# Aggregates over the tenants in `tenant_ids` and both of `ranges` at once, grouped by a `period`
# column; the indexes they range over are ChangeSet.Meta.indexes.
def auto_applied_by_track_raw(*, tenant_ids: Sequence[int], ranges: ComparedRanges) -> list[dict]:
    """Per track and period: agent change sets created in the range that went through the
    guardrails (not blocked as structural), and those that applied with no ticket."""
    change_sets = ranges.filter(
        ChangeSet.objects.filter(tenant_id__in=tenant_ids, kind=ChangeSetKind.AGENT),
        "created_at",
    ).exclude(status=ChangeSetStatus.BLOCKED)
    return list(
        change_sets.values("tenant__slug", "track__key", "period")
        .annotate(
            total=Count("id"),
            auto=Count("id", filter=Q(ticket="", status=ChangeSetStatus.APPLIED)),
        )
        .order_by("tenant__slug", "track__key", "period")
    )


def change_sets_rolled_back_raw(
    *, tenant_ids: Sequence[int], ranges: ComparedRanges, days: int
) -> list[dict]:
    """Per approval (`by_person` 1: a person, 0: the guardrails alone) and period: agent change
    sets applied in the range, and those an applied rollback reverted within `days` days."""
    rolled_back = ChangeSet.objects.filter(
        reverts=OuterRef("pk"),
        status=ChangeSetStatus.APPLIED,
        applied_at__lte=OuterRef("applied_at") + timedelta(days=days),
    )
    applied = ranges.filter(
        ChangeSet.objects.filter(
            tenant_id__in=tenant_ids, kind=ChangeSetKind.AGENT, status=ChangeSetStatus.APPLIED
        ),
        "applied_at",
    )
    return list(
        applied.annotate(
            by_person=Case(
                When(ticket="", then=Value(0)), default=Value(1), output_field=IntegerField()
            ),
            rolled_back=Exists(rolled_back),
        )
        .values("by_person", "period")
        .annotate(n=Count("id"), rolled_back=Count("id", filter=Q(rolled_back=True)))
        .order_by("by_person", "period")
    )


SPEND_HELD_KEYS = (
    "tenant",
    "track",
    "currency",
    "waiting",
    "held",
    "oldest",
    "sent",
    "mean_wait",
    "budget_days",
    "sent_previous",
    "mean_wait_previous",
    "budget_days_previous",
)


def spend_held_by_track_raw(
    *, tenant_ids: Sequence[int], ranges: ComparedRanges, now: datetime
) -> list[dict]:
    """Per track: change sets waiting for a person now, the daily budget they hold (sum of
    |after − before| of daily_budget items) and since when the oldest waits; and per range,
    change sets sent for approval, the mean seconds they waited (until decided, or `now`) and
    the budget-days they held (daily budget × days waited). Keys: SPEND_HELD_KEYS."""
    # Long on purpose: two aggregates (waiting now, and per range) over the same change sets and
    # one merge; most of the length is the queries.
    # Over 60 lines: one query (one pass over the change sets, both ranges at once) and its
    # parameters in the order the query names them.
    tenants, params = sql.in_ids("cs.tenant_id", tenant_ids)
    pending = ChangeSetStatus.PENDING_APPROVAL.value
    moved = f"ABS({sql.json_number('i.after')} - {sql.json_number('i.before')})"
    waited = sql.seconds_between("COALESCE(h.decided_at, %s)", "h.created_at")
    within = "h.created_at >= %s AND h.created_at < %s"  # the range shown, or the one before
    currency = sql.json_text("v.payload", "currency")
    # One pass: `held` is each change set waiting now or sent in either range, with the daily
    # budget it holds; the sums then split it by state and range.
    query = f"""
        WITH held AS (
            SELECT cs.id, cs.tenant_id, cs.track_id, cs.status, cs.created_at, cs.decided_at,
                   (SELECT COALESCE(SUM({moved}), 0) FROM {ChangeSetItem._meta.db_table} i
                    WHERE i.change_set_id = cs.id AND i.field = 'daily_budget') AS daily
            FROM {ChangeSet._meta.db_table} cs
            WHERE {tenants} AND cs.ticket <> '' AND cs.status <> %s
              AND (cs.status = %s OR (cs.created_at >= %s AND cs.created_at < %s))
        )
        SELECT tn.slug, tr.key, {currency},
               SUM(CASE WHEN h.status = %s THEN 1 ELSE 0 END),
               SUM(CASE WHEN h.status = %s THEN h.daily ELSE 0 END),
               MIN(CASE WHEN h.status = %s THEN h.created_at END),
               SUM(CASE WHEN {within} THEN 1 ELSE 0 END),
               AVG(CASE WHEN {within} THEN {waited} END),
               SUM(CASE WHEN {within} THEN h.daily * {waited} ELSE 0 END) / 86400.0,
               SUM(CASE WHEN {within} THEN 1 ELSE 0 END),
               AVG(CASE WHEN {within} THEN {waited} END),
               SUM(CASE WHEN {within} THEN h.daily * {waited} ELSE 0 END) / 86400.0
        FROM held h
        JOIN {Tenant._meta.db_table} tn ON tn.id = h.tenant_id
        JOIN {Track._meta.db_table} tr ON tr.id = h.track_id
        LEFT JOIN {PlanVersion._meta.db_table} v ON v.id = tr.current_version_id
        GROUP BY tn.slug, tr.key, {currency}
        ORDER BY tn.slug, tr.key
    """
    at, since = sql.moment(now), sql.moment(ranges.since)
    split, until = sql.moment(ranges.split), sql.moment(ranges.until)
    current, previous = [split, until], [since, split]
    rows = sql.fetch(
        query,
        [
            *params,
            ChangeSetStatus.BLOCKED.value,
            pending,
            since,
            until,
            *[pending, pending, pending],
            *current,
            *[*current, at],
            *[*current, at],
            *previous,
            *[*previous, at],
            *[*previous, at],
        ],
    )
    found = [dict(zip(SPEND_HELD_KEYS, row, strict=True)) for row in rows]
    for row in found:
        row["oldest"] = _as_moment(row["oldest"])
    return found


def _as_moment(value) -> datetime | None:
    """A moment a raw query handed back: SQLite gives text, in UTC."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def a3s_within_thresholds_raw(
    *, tenant_ids: Sequence[int], ranges: ComparedRanges, thresholds: Sequence[Decimal]
) -> list[dict]:
    """Per period: A3s opened in the range (`a3s`), and for each threshold the A3s that would
    have applied by themselves under it (every channel within the drift bound, no first launch,
    the largest move at most the threshold; `through`), with how many of those people then
    rejected (`rejected`)."""
    tenants, params = sql.in_ids("cs.tenant_id", tenant_ids)
    move = sql.json_number("ch.value", "move_pct")
    columns, column_params = [], []
    for threshold in thresholds:
        would = "a.drift_ok = 1 AND a.measurable = 1 AND a.launches = 0 AND a.needed <= %s"
        columns.append(f"SUM(CASE WHEN {would} THEN 1 ELSE 0 END)")
        columns.append(f"SUM(CASE WHEN {would} AND a.status = %s THEN 1 ELSE 0 END)")
        # A float: SQLite compares a number with text as text; PostgreSQL casts it either way.
        column_params += [float(threshold), float(threshold), ChangeSetStatus.REJECTED.value]
    query = f"""
        WITH a AS (
            SELECT cs.id, cs.status, {sql.period_sql("cs.created_at")} AS period,
                   MAX({move}) AS needed,
                   MIN({sql.json_flag("ch.value", "drift_ok")}) AS drift_ok,
                   MIN(CASE WHEN {move} IS NULL THEN 0 ELSE 1 END) AS measurable,
                   MAX({sql.json_length("cs.guardrails", "first_launches")}) AS launches
            FROM {ChangeSet._meta.db_table} cs
            JOIN {Ticket._meta.db_table} t ON t.public_id = cs.ticket AND t.type = %s,
                 {sql.json_object_elements("cs.guardrails", "channels", "ch")}
            WHERE {tenants} AND cs.created_at >= %s AND cs.created_at < %s
            GROUP BY cs.id, cs.status, {sql.period_sql("cs.created_at")}
        )
        SELECT a.period, COUNT(*), {", ".join(columns)}
        FROM a GROUP BY a.period
    """
    split = sql.moment(ranges.split)
    rows = sql.fetch(
        query,
        [
            split,
            TicketType.A3.value,
            *params,
            sql.moment(ranges.since),
            sql.moment(ranges.until),
            split,
            *column_params,
        ],
    )
    return rollups.a3_figures(rows)


# The page reads the four change-set metrics from daily rollups where days are whole
# (optimization/rollups.py) once a refresh has run; the *_raw aggregates above are the
# definition, read on SQLite and before the first refresh, and
# held against the rollups by tests/optimization/test_rollups.py.
def auto_applied_by_track(*, tenant_ids: Sequence[int], ranges: ComparedRanges) -> list[dict]:
    """Per track and period: agent change sets created in the range that went through the
    guardrails (not blocked as structural), and those that applied with no ticket."""
    if not (sql.is_postgres() and rollups.ready()):
        return auto_applied_by_track_raw(tenant_ids=tenant_ids, ranges=ranges)
    return rollups.auto_applied_by_track(tenant_ids=tenant_ids, ranges=ranges)


def change_sets_rolled_back(
    *, tenant_ids: Sequence[int], ranges: ComparedRanges, days: int
) -> list[dict]:
    """Per approval (`by_person` 1: a person, 0: the guardrails alone) and period: agent change
    sets applied in the range, and those an applied rollback reverted within `days` days."""
    if not (sql.is_postgres() and rollups.ready()):
        return change_sets_rolled_back_raw(tenant_ids=tenant_ids, ranges=ranges, days=days)
    return rollups.change_sets_rolled_back(tenant_ids=tenant_ids, ranges=ranges, days=days)


def spend_held_by_track(
    *, tenant_ids: Sequence[int], ranges: ComparedRanges, now: datetime
) -> list[dict]:
    """Per track: change sets waiting for a person now, the daily budget they hold and since
    when the oldest waits; and per range, change sets sent for approval, the mean seconds they
    waited (until decided, or `now`) and the budget-days they held. Keys: SPEND_HELD_KEYS."""
    if not (sql.is_postgres() and rollups.ready()):
        return spend_held_by_track_raw(tenant_ids=tenant_ids, ranges=ranges, now=now)
    return rollups.spend_held_by_track(
        tenant_ids=tenant_ids, ranges=ranges, now=now, keys=SPEND_HELD_KEYS
    )


def a3s_within_thresholds(
    *, tenant_ids: Sequence[int], ranges: ComparedRanges, thresholds: Sequence[Decimal]
) -> list[dict]:
    """Per period: A3s opened in the range, and per threshold those that would have applied by
    themselves under it (`through`) and how many of them people rejected (`rejected`)."""
    if not (sql.is_postgres() and rollups.ready()):
        return a3s_within_thresholds_raw(
            tenant_ids=tenant_ids, ranges=ranges, thresholds=thresholds
        )
    return rollups.a3s_within_thresholds(
        tenant_ids=tenant_ids, ranges=ranges, thresholds=thresholds
    )


def preferred_source() -> Subquery:
    """For a performance row's track, day and channel: the one source that counts (the primary
    one where it reported, else the first by name)."""
    return Subquery(
        PerformanceRow.objects.filter(
            track=OuterRef("track"), date=OuterRef("date"), channel=OuterRef("channel")
        )
        .annotate(rank=Case(When(source=PRIMARY_SOURCE, then=Value(0)), default=Value(1)))
        .order_by("rank", "source")
        .values("source")[:1]
    )


# The weekly report of a track.
def spend_by_channel(*, track, first: date, last: date) -> dict[str, Decimal]:
    """Per channel, the spend reported for `track` from `first` to `last` (days), each day and
    channel from one source: the primary one where it reported, else the first by name."""
    preferred = preferred_source()
    return dict(
        PerformanceRow.objects.filter(track=track, date__gte=first, date__lte=last)
        .filter(source=preferred)
        .values("channel")
        .annotate(total=Sum("spend"))
        .values_list("channel", "total")
    )


def kpi_totals(*, track, first: date, last: date) -> dict[str, Decimal | None]:
    """The primary source's totals for `track` from `first` to `last`: spend_total,
    conversions_total, and the KPI value weighted by spend (`weighted`, over `weighted_spend`:
    the spend of the rows that carry a KPI value)."""
    money_field = DecimalField(max_digits=24, decimal_places=6)
    return PerformanceRow.objects.filter(
        track=track, date__gte=first, date__lte=last, source=PRIMARY_SOURCE
    ).aggregate(
        spend_total=Sum("spend"),
        conversions_total=Sum("conversions"),
        weighted=Sum(
            ExpressionWrapper(F("kpi_value") * F("spend"), output_field=money_field),
            filter=Q(kpi_value__isnull=False),
        ),
        weighted_spend=Sum("spend", filter=Q(kpi_value__isnull=False)),
    )


APPLIED_CHANGE_FIELDS = (
    "applied_at",
    "channel",
    "entity_id",
    "field",
    "before",
    "after",
    "ticket",
    "change_set_id",
    "agent",
)


def applied_changes(*, track, start: datetime, end: datetime) -> list[dict]:
    """The changes applied to `track` in [start, end), oldest first, each with its entity and
    its change set (id, agent, and the ticket a person approved it on, or ""). Keys:
    APPLIED_CHANGE_FIELDS."""
    rows = (
        AppliedChange.objects.filter(track=track, applied_at__gte=start, applied_at__lt=end)
        .order_by("applied_at", "id")
        .values_list(
            "applied_at",
            "channel",
            "manifest_entry__entity_id",
            "field",
            "before",
            "after",
            "change_set__ticket",
            "change_set__change_set_id",
            "change_set__agent",
        )
    )
    return [dict(zip(APPLIED_CHANGE_FIELDS, row, strict=True)) for row in rows]


def track_change_set_ids(*, track) -> QuerySet:
    """The ids of the track's change sets (a subquery for another app's read)."""
    return ChangeSet.objects.filter(track=track).values("change_set_id")


def track_recommendation_ids(*, track) -> list[str]:
    """The ids of the track's recommendations, as tickets name their subject."""
    return [
        str(pk) for pk in Recommendation.objects.filter(track=track).values_list("pk", flat=True)
    ]


def recommendations_of_week(*, track, start: datetime, end: datetime) -> list[Recommendation]:
    """The track's open recommendations and those made in [start, end), oldest first."""
    return list(
        Recommendation.objects.filter(track=track)
        .filter(Q(status=RecommendationStatus.OPEN) | Q(created_at__gte=start, created_at__lt=end))
        .order_by("created_at", "id")
    )


def track_keys_of_change_sets(*, tenant_id: int, change_set_ids: list[str]) -> dict[str, str]:
    """{change set id: its track's key} (notifications: who follows or muted the track)."""
    return dict(
        ChangeSet.objects.filter(tenant_id=tenant_id, change_set_id__in=change_set_ids).values_list(
            "change_set_id", "track__key"
        )
    )
