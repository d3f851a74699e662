"""The weekly report of one track (seed 000 "Outputs" and "Client communication"), anchored to
the track's current approved version: spend against the plan per channel, the primary KPI
against its target, the optimizations applied in the week, drift, what waits for approval, the
revise recommendations and every plan_revise_summary of the week.

Two versions of one report: the internal one (planners, the Monday mail, the CSV) and the
client-safe one for the portal, built from the same reads but holding no internal ticket, no
agent or person's name, no change-set or run id — only what the client could already see, in
the words plan_revise_summary and the portal use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from approvals import selectors as approvals
from approvals.types import SubjectKind
from config.formatting import money, percent, percent_change
from metrics.periods import Period
from optimization import drift as drift_selector
from optimization import selectors as optimization
from optimization.drift import TrackDrift
from plans import selectors as plans
from plans.diff import planned_budget_between
from plans.schema import parse_payload
from plans.summary import COST_KPIS, channel_label, plan_revise_summary

HUNDRED = Decimal(100)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class ChannelSpend:
    channel: str
    label: str
    planned: Decimal
    spent: Decimal | None  # None: no performance row this week

    @property
    def pct_of_plan(self) -> Decimal | None:
        if self.spent is None or not self.planned:
            return None
        return (self.spent * HUNDRED / self.planned).quantize(CENT, ROUND_HALF_UP)


@dataclass(frozen=True)
class KpiLine:
    kpi: str
    label: str
    target: Decimal | None
    actual: Decimal | None
    lower_is_better: bool

    @property
    def met(self) -> bool | None:
        if self.target is None or self.actual is None:
            return None
        return self.actual <= self.target if self.lower_is_better else self.actual >= self.target


@dataclass(frozen=True)
class AppliedLine:
    applied_at: datetime
    channel: str
    channel_text: str
    entity_id: str
    field: str
    before: object
    after: object
    by_person: bool
    change_set_id: str
    agent: str
    ticket: str

    @property
    def change_pct(self) -> Decimal | None:
        try:
            before, after = Decimal(str(self.before)), Decimal(str(self.after))
        except ArithmeticError:
            return None
        if not before:
            return None
        return ((after - before) * HUNDRED / before).quantize(CENT, ROUND_HALF_UP)

    @property
    def is_budget(self) -> bool:
        return self.field == "daily_budget"


@dataclass(frozen=True)
class PendingLine:
    public_id: str
    type: str
    kind: str  # the client's word for it (the portal's)
    title: str
    opened_at: datetime
    sla_due_at: datetime | None
    client_visible: bool
    waits_for_client: bool = False  # the portal's "Waiting for you"


@dataclass(frozen=True)
class BudgetLine:
    label: str
    planned: Decimal | None
    live: Decimal


@dataclass(frozen=True)
class SummaryLine:
    number: int
    kind: str
    status: str
    status_label: str
    when: datetime | None
    summary: dict
    is_approved: bool  # approved, or approved and superseded since


@dataclass(frozen=True)
class WeeklyReport:
    tenant: Any
    track: Any  # plans' Track
    week: Period
    client_safe: bool
    version: Any  # the track's current PlanVersion, or None
    currency: str = ""
    spend: list[ChannelSpend] = field(default_factory=list)
    kpi: KpiLine | None = None
    applied: list[AppliedLine] = field(default_factory=list)
    drift: TrackDrift | None = None
    pending: list[PendingLine] = field(default_factory=list)
    recommendations: list[Any] = field(default_factory=list)  # optimization's Recommendations
    summaries: list[SummaryLine] = field(default_factory=list)

    @property
    def time_zone(self) -> str:
        return self.tenant.time_zone

    @property
    def planned_total(self) -> Decimal:
        return sum((row.planned for row in self.spend), Decimal(0))

    @property
    def spent_total(self) -> Decimal | None:
        spent = [row.spent for row in self.spend if row.spent is not None]
        return sum(spent, Decimal(0)) if spent else None

    @property
    def pct_of_plan(self) -> Decimal | None:
        total = self.spent_total
        if total is None or not self.planned_total:
            return None
        return (total * HUNDRED / self.planned_total).quantize(CENT, ROUND_HALF_UP)

    @property
    def waiting_for_client(self) -> list[PendingLine]:
        """What the portal lists under "Waiting for you"."""
        return [line for line in self.pending if line.waits_for_client]

    @property
    def with_the_team(self) -> list[PendingLine]:
        return [line for line in self.pending if not line.waits_for_client]

    @property
    def budget_lines(self) -> list[BudgetLine]:
        """Each channel's planned and running daily budget at the week's end, in the client's
        words (the drift figures, without the internal measures)."""
        if self.drift is None:
            return []
        return [
            BudgetLine(channel_label(c.channel), c.planned, c.live) for c in self.drift.channels
        ]

    @property
    def auto_applied(self) -> int:
        return sum(1 for line in self.applied if not line.by_person)

    def applied_sentence(self, line: AppliedLine) -> str:
        """An applied change as the client reads it: "Search daily budget €300 → €330 (+10%)"."""
        if line.is_budget:
            change = percent_change(line.change_pct) if line.change_pct is not None else ""
            return (
                f"{line.channel_text} daily budget {money(line.before, self.currency)} → "
                f"{money(line.after, self.currency)}" + (f" ({change})" if change else "")
            )
        if line.field == "status":
            resumed = str(line.after).lower() == "active"
            return f"{line.channel_text}: {'resumed' if resumed else 'paused'}"
        return f"{line.channel_text}: {line.field.replace('_', ' ')} updated"


# --- Reads ---------------------------------------------------------------------------------------
def week_period(week_start: date, zone: ZoneInfo) -> Period:
    return Period(week_start, week_start + timedelta(days=6), zone)


def _spend(track, payload, week: Period) -> list[ChannelSpend]:
    spent = optimization.spend_by_channel(track=track, first=week.first, last=week.last)
    channels = [channel.channel for channel in payload.channels]
    channels += sorted(set(spent) - set(channels))
    return [
        ChannelSpend(
            channel=name,
            label=channel_label(name),
            planned=planned_budget_between(payload, name, week.first, week.last),
            spent=spent[name].quantize(CENT) if name in spent else None,
        )
        for name in channels
    ]


def _kpi(track, payload, week: Period) -> KpiLine | None:
    kpi = payload.primary_kpi
    target = payload.kpi_targets.get(kpi)
    totals = optimization.kpi_totals(track=track, first=week.first, last=week.last)
    actual = None
    if kpi == "cpa":
        if totals["conversions_total"]:
            actual = (totals["spend_total"] / totals["conversions_total"]).quantize(
                CENT, ROUND_HALF_UP
            )
    elif totals["weighted_spend"]:
        actual = (totals["weighted"] / totals["weighted_spend"]).quantize(CENT, ROUND_HALF_UP)
    return KpiLine(
        kpi=kpi,
        label=kpi.upper() if len(kpi) <= 4 else kpi.replace("_", " "),
        target=Decimal(str(target)) if target is not None else None,
        actual=actual,
        lower_is_better=kpi in COST_KPIS,
    )


def _applied(track, week: Period) -> list[AppliedLine]:
    return [
        AppliedLine(
            applied_at=row["applied_at"],
            channel=row["channel"],
            channel_text=channel_label(row["channel"]),
            entity_id=row["entity_id"],
            field=row["field"],
            before=row["before"],
            after=row["after"],
            by_person=bool(row["ticket"]),
            change_set_id=row["change_set_id"],
            agent=row["agent"],
            ticket=row["ticket"],
        )
        for row in optimization.applied_changes(track=track, start=week.start, end=week.end)
    ]


def _pending(track, *, client_safe: bool) -> list[PendingLine]:
    """The open tickets about the track: its versions, its change sets, its recommendations."""
    tickets = approvals.open_tickets_about(
        tenant_id=track.tenant_id,
        plan_versions=plans.track_version_numbers(track=track),
        change_set_ids=optimization.track_change_set_ids(track=track),
        subjects={SubjectKind.RECOMMENDATION: optimization.track_recommendation_ids(track=track)},
        client_visible_only=client_safe,
    )
    return [
        PendingLine(
            public_id=ticket.public_id,
            type=ticket.type,
            kind=ticket.client_kind,
            title=ticket.client_title if client_safe else ticket.title,
            waits_for_client=ticket.waits_for_client,
            opened_at=ticket.opened_at,
            sla_due_at=ticket.sla_due_at,
            client_visible=ticket.client_visible,
        )
        for ticket in tickets
    ]


def _summaries(track, week: Period, *, client_safe: bool) -> list[SummaryLine]:
    return [
        SummaryLine(
            number=version.number,
            kind=version.kind_label,
            status=version.status,
            status_label=version.status_label,
            when=version.when,
            summary=plan_revise_summary(version.parent_payload, version.payload),
            is_approved=version.approved,
        )
        for version in plans.versions_of_week(
            track=track, start=week.start, end=week.end, approved_only=client_safe
        )
    ]


def weekly_report(
    *, track, week_start: date, client_safe: bool, now: datetime | None = None
) -> WeeklyReport:
    """The report of `track` for the week starting `week_start` (a Monday) in the tenant's zone."""
    tenant = track.tenant
    zone = ZoneInfo(tenant.time_zone)
    week = week_period(week_start, zone)
    now = now or timezone.now()
    # Anchored in time: the version in force at the week's end (or now, for this week) and the
    # drift the drift page showed then — not today's version or today's drift.
    drift = drift_selector.track_drift(track=track, now=min(now, week.end))
    version = drift.version
    if version is None:
        return WeeklyReport(
            tenant=tenant, track=track, week=week, client_safe=client_safe, version=None
        )
    payload = parse_payload(version.payload)
    return WeeklyReport(
        tenant=tenant,
        track=track,
        week=week,
        client_safe=client_safe,
        version=version,
        currency=payload.currency,
        spend=_spend(track, payload, week),
        kpi=_kpi(track, payload, week),
        applied=_applied(track, week),
        drift=drift,
        pending=_pending(track, client_safe=client_safe),
        recommendations=(
            []
            if client_safe
            else optimization.recommendations_of_week(track=track, start=week.start, end=week.end)
        ),
        summaries=_summaries(track, week, client_safe=client_safe),
    )


def reported_tracks(tenant) -> list:
    """The tenant's tracks that have an approved version to anchor a report to."""
    return plans.tracks_with_current_version(tenant=tenant)


# --- CSV and mail --------------------------------------------------------------------------------
CSV_HEADER = ("section", "item", "value", "compared_with", "detail")


def _applied_row(line: AppliedLine, *, client_safe: bool) -> tuple:
    if client_safe:
        return ("applied", line.channel, line.after, line.before, line.field)
    approval = "approved by a person" if line.by_person else "within the guardrails"
    return (
        "applied",
        f"{line.entity_id}.{line.field}",
        line.after,
        line.before,
        f"{line.applied_at.isoformat()} {line.change_set_id} {approval}",
    )


def report_rows(report: WeeklyReport) -> list[tuple]:
    """The report as CSV rows (section, item, value, compared with, detail)."""
    rows: list[tuple] = []
    if report.version is None:
        return [("plan", report.track.key, "", "", "no approved version")]
    rows.append(
        (
            "plan",
            f"v{report.version.number}",
            report.track.key,
            "",
            f"approved {report.version.approved_at.isoformat()}",
        )
    )
    for line in report.spend:
        rows.append(("spend", line.channel, line.spent, line.planned, line.pct_of_plan))
    rows.append(("spend", "total", report.spent_total, report.planned_total, report.pct_of_plan))
    if report.kpi is not None:
        met = {True: "met", False: "missed", None: ""}[report.kpi.met]
        rows.append(("kpi", report.kpi.kpi, report.kpi.actual, report.kpi.target, met))
    rows += [_applied_row(line, client_safe=report.client_safe) for line in report.applied]
    if report.drift is not None:
        for channel in report.drift.channels:
            rows.append(
                (
                    "drift",
                    channel.channel,
                    channel.pct,
                    report.drift.threshold,
                    "within" if channel.within else "beyond",
                )
            )
    for pending in report.pending:
        item = pending.kind if report.client_safe else f"{pending.public_id} {pending.type}"
        rows.append(("pending", item, pending.title, "", pending.opened_at.isoformat()))
    for recommendation in report.recommendations:
        rows.append(
            (
                "recommendation",
                recommendation.get_signal_display(),
                recommendation.reason,
                recommendation.get_path_display(),
                recommendation.get_status_display(),
            )
        )
    for summary in report.summaries:
        for sentence in summary.summary["summary"]:
            rows.append(("summary", f"v{summary.number}", sentence, "", summary.status_label))
    return rows


def report_text(report: WeeklyReport) -> str:
    """A few lines for the Monday mail."""
    track = report.track.key
    if report.version is None:
        return f"{track}: no approved version to report on."
    lines = [f"{track} (v{report.version.number})"]
    spent = report.spent_total
    lines.append(
        f"  Spend {money(spent, report.currency) if spent is not None else 'not reported'} of "
        f"{money(report.planned_total, report.currency)} planned"
        + (f" ({percent(report.pct_of_plan)})" if report.pct_of_plan is not None else "")
    )
    if report.kpi is not None and report.kpi.target is not None:
        actual = report.kpi.actual
        shown = money(actual, report.currency) if report.kpi.lower_is_better else actual
        state = {True: "on target", False: "off target", None: "no data"}[report.kpi.met]
        lines.append(
            f"  {report.kpi.label} {shown if actual is not None else '—'} "
            f"against {report.kpi.target} ({state})"
        )
    lines.append(
        f"  {len(report.applied)} optimization(s) applied, "
        f"{report.auto_applied} within the guardrails"
    )
    if report.drift is not None and report.drift.beyond:
        lines.append(
            "  Drift beyond the bound: " + ", ".join(c.channel for c in report.drift.beyond)
        )
    lines.append(
        f"  {len(report.pending)} waiting for approval, "
        f"{len(report.recommendations)} recommendation(s)"
    )
    for summary in report.summaries:
        lines.append(
            f"  v{summary.number} ({summary.status_label}): " + " ".join(summary.summary["summary"])
        )
    return "\n".join(lines)
