"""Page-shaped reads the optimization pages need beyond optimization/selectors.py (never writing):
the log's rows with what was asked, approved and applied per item; a change set's page; the live
manifest with each entity's history; the drift of each channel with its chart; a
recommendation's evidence; the seasonality calendar.

Everything takes the tenant's track (or row) the view already resolved through tenants.access,
so nothing here reaches another tenant's rows. A fixed number of queries per page, whatever the
number of rows: list pages prefetch, they never ask per row.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import F, Prefetch, QuerySet, Window
from django.db.models.functions import RowNumber

from approvals.models import Ticket
from approvals.selectors import subject_blocking_tickets
from approvals.types import TicketType
from config.formatting import date_text, money, money_change, number, percent, to_decimal
from optimization.models import (
    DAILY_BUDGET,
    AppliedChange,
    ChangeSet,
    ChangeSetEvent,
    ChangeSetEventKind,
    CreativeTheme,
    ExecutionManifestEntry,
    ManifestLaunch,
    Recommendation,
    SeasonalChange,
    Signal,
    TrackHold,
)
from optimization.selectors import (
    change_set_log,
    entry_daily_budget,
    manifest_entries_for_track,
    manifest_entries_for_version,
    manifest_links_past_for_version,
)
from optimization.services.change_sets import SUBJECT_TYPE
from plans.models import Track

HISTORY_PER_ENTRY = 10
HUNDRED = Decimal("100")


@dataclass(frozen=True)
class ItemRow:
    """One item as people read it: what was asked, what an approver approved, what applied."""

    entity_id: str
    channel: str
    field: str
    before: Any
    asked: Any
    approved: Any  # None: no smaller move was approved
    applied: Any  # None: nothing applied (yet)
    applied_at: datetime | None  # None: not applied

    @property
    def was_applied(self) -> bool:
        return self.applied_at is not None

    @property
    def is_budget(self) -> bool:
        return self.field == DAILY_BUDGET

    @property
    def field_words(self) -> str:
        return self.field.replace("_", " ")


def log_queryset(*, track: Track) -> QuerySet[ChangeSet]:
    """The track's log with everything its rows show, newest first: items, applied values and
    the approvers' smaller moves, each prefetched once per page."""
    return change_set_log(track=track).prefetch_related(
        Prefetch("applied", queryset=AppliedChange.objects.order_by("id")),
        Prefetch(
            "events",
            queryset=ChangeSetEvent.objects.filter(kind=ChangeSetEventKind.EDITED).order_by(
                "at", "id"
            ),
            to_attr="edit_events",
        ),
    )


def _edits(change_set: ChangeSet) -> dict[int, Any]:
    """The smaller moves by item position (the latest edit wins), from the prefetched events
    when the log prefetched them."""
    events = getattr(change_set, "edit_events", None)
    if events is None:
        events = list(change_set.events.filter(kind=ChangeSetEventKind.EDITED).order_by("at", "id"))
    edits: dict[int, Any] = {}
    for event in events:
        edits = {int(p): v for p, v in event.data.get("approved", {}).items()}
    return edits


def item_rows(change_set: ChangeSet) -> list[ItemRow]:
    edits = _edits(change_set)
    applied = {row.item_id: row for row in change_set.applied.all()}
    return [
        ItemRow(
            entity_id=item.entity_id,
            channel=item.channel,
            field=item.field,
            before=item.before,
            asked=item.after,
            approved=edits.get(item.position),
            applied=applied[item.pk].after if item.pk in applied else None,
            applied_at=applied[item.pk].applied_at if item.pk in applied else None,
        )
        for item in change_set.items.all()
    ]


@dataclass(frozen=True)
class LogRow:
    change_set: ChangeSet
    items: list[ItemRow]


def log_rows(change_sets) -> list[LogRow]:
    return [LogRow(change_set, item_rows(change_set)) for change_set in change_sets]


def log_agents(*, track: Track) -> list[str]:
    """The agents that wrote to the track's log (the filter's choices)."""
    return list(
        ChangeSet.objects.filter(track=track)
        .order_by("agent")
        .values_list("agent", flat=True)
        .distinct()
    )


# --- One change set ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelCheckRow:
    """One channel's guardrail check as the change set page shows it."""

    channel: str
    live_daily_budget: Decimal | None
    delta: Decimal | None
    move_pct: Decimal | None
    planned_daily_budget: Decimal | None
    drift_before: Decimal | None
    drift_pct_after: Decimal | None
    move_ok: bool
    drift_ok: bool

    @property
    def ok(self) -> bool:
        return self.move_ok and self.drift_ok


def guardrail_rows(guardrails: dict | None) -> list[ChannelCheckRow]:
    """The guardrails JSON of a change set (or of an edit) as rows."""
    return [
        ChannelCheckRow(
            channel=str(check.get("channel", "")),
            live_daily_budget=to_decimal(check.get("live_daily_budget")),
            delta=to_decimal(check.get("delta")),
            move_pct=to_decimal(check.get("move_pct")),
            planned_daily_budget=to_decimal(check.get("planned_daily_budget")),
            drift_before=to_decimal(check.get("drift_before")),
            drift_pct_after=to_decimal(check.get("drift_pct_after")),
            move_ok=bool(check.get("move_ok")),
            drift_ok=bool(check.get("drift_ok")),
        )
        for check in (guardrails or {}).get("channels", [])
        if isinstance(check, dict)
    ]


def change_set_tickets(change_set: ChangeSet) -> list[Ticket]:
    return list(
        Ticket.objects.filter(
            tenant_id=change_set.tenant_id,
            subject_type=SUBJECT_TYPE,
            subject_id=change_set.change_set_id,
        ).order_by("created_at", "id")
    )


def open_a3(change_set: ChangeSet) -> Ticket | None:
    """The open A3 a change set waits on (what "approve a smaller move" decides), or None."""
    if not change_set.is_pending:
        return None
    return (
        subject_blocking_tickets(
            tenant=change_set.tenant_id,
            subject_type=SUBJECT_TYPE,
            subject_id=change_set.change_set_id,
        )
        .filter(type=TicketType.A3)
        .first()
    )


def change_set_page(change_set: ChangeSet) -> dict:
    """What the change set page shows: the request and its items (asked, approved, applied), the
    guardrail check per channel, the status history, its tickets and its rollback links."""
    events = list(change_set.events.order_by("at", "id"))
    edit_events = [e for e in events if e.kind == ChangeSetEventKind.EDITED]
    change_set.edit_events = edit_events
    return {
        "change_set": change_set,
        "items": item_rows(change_set),
        # With an approved smaller move, both checks come from the moment it was approved:
        # what was asked and what was approved against one plan and one drift.
        "checks": guardrail_rows(
            edit_events[-1].data.get("asked_guardrails") or change_set.guardrails
            if edit_events
            else change_set.guardrails
        ),
        "first_launches": (change_set.guardrails or {}).get("first_launches", []),
        "structural": (change_set.guardrails or {}).get("structural", []),
        "edit_checks": guardrail_rows(edit_events[-1].data.get("guardrails"))
        if edit_events
        else [],
        "events": events,
        "tickets": change_set_tickets(change_set),
        "reverted_by": list(change_set.reverted_by.order_by("created_at", "id")),
        "currency": change_set.track.currency,
    }


def budget_items(change_set: ChangeSet) -> list:
    """The daily-budget items an approver may approve for a smaller move."""
    return [item for item in change_set.items.all() if item.field == DAILY_BUDGET]


# --- The live manifest ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ManifestRow:
    entry: ExecutionManifestEntry
    history: list[AppliedChange] = field(default_factory=list)

    @property
    def status(self) -> str:
        return str((self.entry.state or {}).get("status", "—"))

    @property
    def is_live(self) -> bool:
        return str((self.entry.state or {}).get("status", "active")).lower() == "active"

    @property
    def daily_budget(self) -> Decimal | None:
        if "daily_budget" not in (self.entry.state or {}):
            return None
        return entry_daily_budget(self.entry.state)


def manifest_rows(*, track: Track) -> list[ManifestRow]:
    """Each live entry with its last HISTORY_PER_ENTRY applied changes: two queries, a window
    function keeping the latest few per entity."""
    entries = list(
        manifest_entries_for_track(track=track).order_by("channel", "platform", "entity_id")
    )
    ranked = (
        AppliedChange.objects.filter(track=track)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("manifest_entry_id")],
                order_by=[F("applied_at").desc(), F("id").desc()],
            )
        )
        .filter(rank__lte=HISTORY_PER_ENTRY)
        .select_related("change_set")
        .order_by("manifest_entry_id", "-applied_at", "-id")
    )
    history: dict[int, list[AppliedChange]] = defaultdict(list)
    for change in ranked:
        history[change.manifest_entry_id].append(change)
    return [ManifestRow(entry, history.get(entry.pk, [])) for entry in entries]


def track_hold(*, track: Track) -> TrackHold | None:
    return (
        TrackHold.objects.filter(track=track, ended_at__isnull=True).select_related("pause").first()
    )


def last_hold(*, track: Track) -> TrackHold | None:
    return (
        TrackHold.objects.filter(track=track, ended_at__isnull=False)
        .select_related("pause", "resume")
        .order_by("-ended_at")
        .first()
    )


# --- A recommendation's evidence ---------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    label: str
    value: str
    num: bool = True  # right-aligned, tabular


def _money(evidence: dict, key: str, currency: str) -> str:
    return money(evidence.get(key), currency)


def evidence_figures(recommendation: Recommendation, currency: str) -> list[Figure]:
    """The numbers behind the signal, each with its words and its unit."""
    e = recommendation.evidence or {}
    signal = recommendation.signal
    if signal == Signal.DRIFT:
        return [
            Figure("Channel", str(e.get("channel", "—")), num=False),
            Figure("Cumulative drift", percent(e.get("drift_pct"))),
            Figure("Threshold", percent(e.get("threshold_pct"))),
            Figure("Window", f"{number(e.get('window_days'))} days"),
            Figure("Planned daily budget", _money(e, "planned_daily_budget", currency)),
            Figure("Net applied change", money_change(e.get("net_applied_change"), currency)),
            Figure("Live daily budget", _money(e, "live_daily_budget", currency)),
        ]
    if signal == Signal.GUARDRAIL_APPROVALS:
        return [
            Figure("Approved A3 in the window", number(e.get("approved_a3"))),
            Figure("Threshold", f"more than {number(e.get('threshold'))}"),
            Figure("Window", f"{number(e.get('window_days'))} days"),
            *[
                Figure(f"Live daily budget · {channel}", money(value, currency))
                for channel, value in sorted((e.get("live_daily_budgets") or {}).items())
            ],
        ]
    if signal == Signal.KPI_MISS:
        days = e.get("days") or []
        return [
            Figure("KPI", str(e.get("kpi", "—")), num=False),
            Figure("Target", number(e.get("target"))),
            Figure("Average achieved", number(e.get("average"))),
            Figure("Days missed in a row", number(len(days))),
            Figure("Source", str(e.get("source", "—")), num=False),
        ]
    if signal == Signal.STRUCTURAL_BLOCK:
        return [
            Figure("Blocked change sets", number(len(e.get("blocked_change_sets") or []))),
            Figure("Threshold", number(e.get("threshold"))),
            *[
                Figure(f"Blocked: {c.get('field')}", str(c.get("after")), num=False)
                for c in (e.get("changes") or [])[:10]
                if isinstance(c, dict)
            ],
        ]
    if signal == Signal.SEASONALITY:
        return [
            Figure("Channel", str(e.get("channel", "—")), num=False),
            Figure(
                "Flight",
                f"{date_text(e.get('starts_on'))} – {date_text(e.get('ends_on'))}",
                num=False,
            ),
            Figure("Budget", _money(e, "budget", currency)),
        ]
    return []


def evidence_change_set_ids(recommendation: Recommendation) -> list[str]:
    e = recommendation.evidence or {}
    ids = e.get("change_sets") or e.get("blocked_change_sets") or []
    return [str(i) for i in ids if isinstance(i, str | int)]


def recommendation_for_ticket(ticket) -> Recommendation | None:
    if not str(ticket.subject_id).isdigit():
        return None
    return (
        Recommendation.objects.filter(tenant_id=ticket.tenant_id, pk=int(ticket.subject_id))
        .select_related("track", "track__current_version", "tenant", "tenant__policy")
        .first()
    )


def change_set_for_ticket(ticket) -> ChangeSet | None:
    return (
        ChangeSet.objects.filter(tenant_id=ticket.tenant_id, change_set_id=ticket.subject_id)
        .select_related("track")
        .first()
    )


def theme_for_ticket(ticket) -> CreativeTheme | None:
    return (
        CreativeTheme.objects.filter(tenant_id=ticket.tenant_id, theme_id=ticket.subject_id)
        .select_related("track")
        .first()
    )


def themes_of_track(track: Track) -> list[CreativeTheme]:
    return list(CreativeTheme.objects.filter(track=track).order_by("-created_at", "-pk"))


def launch_for_ticket(ticket) -> ManifestLaunch | None:
    return (
        ManifestLaunch.objects.filter(tenant_id=ticket.tenant_id, launch_id=ticket.subject_id)
        .select_related("track")
        .first()
    )


def launch_rows(launch: ManifestLaunch) -> list[dict]:
    """The entities of a first launch as they stand now, for its A2's panel."""
    entries = ExecutionManifestEntry.objects.filter(
        tenant_id=launch.tenant_id, track_id=launch.track_id
    ).order_by("platform", "entity_id")
    by_id = {entry.audit_id: entry for entry in entries}
    rows = []
    for name in launch.entities:
        entry = by_id.get(name)
        if entry is None:
            continue
        budget = (entry.state or {}).get("daily_budget")
        rows.append(
            {
                "entity": name,
                "channel": entry.channel,
                "daily_budget": money(budget, launch.track.currency) if budget is not None else "—",
                "status": str((entry.state or {}).get("status", "—")),
                "waiting": entry.waiting_launch_id == launch.pk,
            }
        )
    return rows


# --- The seasonality calendar -------------------------------------------------------------------
@dataclass(frozen=True)
class CalendarRow:
    entry: SeasonalChange
    recommendation: Recommendation | None  # the one that carried it, once the scan saw it


def seasonal_rows(*, track: Track) -> list[CalendarRow]:
    """The calendar's entries, each with the recommendation that carried it: two queries."""
    carried = {
        r.subject_key: r
        for r in Recommendation.objects.filter(track=track, signal=Signal.SEASONALITY).order_by(
            "created_at"
        )
    }
    return [
        CalendarRow(entry, carried.get(str(entry.pk)))
        for entry in SeasonalChange.objects.filter(track=track).order_by("starts_on", "id")
    ]


def plan_channels(track: Track) -> list[str]:
    version = track.current_version
    if version is None:
        return []
    return [c["channel"] for c in version.payload.get("channels", [])]


# --- For the plan pages (registered in plans.live) -----------------------------------------------
def version_entries_as_dicts(version) -> list[dict]:
    """The entries that implement plan version `version` today, then those that implemented it
    and moved on (`until` set: from the manifest's history), for its page: two queries."""
    live = [
        {
            **entry.as_dict(),
            "track": entry.track.key,
            "anchor": f"entity-{entry.pk}",
            "since": None,
            "until": None,
        }
        for entry in manifest_entries_for_version(tenant=version.tenant_id, number=version.number)
        .select_related("track")
        .order_by("channel", "platform", "entity_id")
    ]
    past = [
        {
            **link.entry.as_dict(),
            "plan_version": link.plan_version,
            "track": link.entry.track.key,
            "anchor": f"entity-{link.entry_id}",
            "since": link.since,
            "until": link.until,
        }
        for link in manifest_links_past_for_version(tenant=version.tenant_id, number=version.number)
    ]
    return live + past
