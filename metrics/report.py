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
from zoneinfo import ZoneInfo

from django.db.models import (
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from approvals.models import Ticket, TicketStatus
from approvals.views_portal import portal_kind
from config.formatting import money, percent, percent_change
from metrics.periods import Period
from optimization.models import (
    PRIMARY_SOURCE,
    AppliedChange,
    ChangeSet,
    PerformanceRow,
    Recommendation,
    RecommendationStatus,
)
from optimization.services.recommendations import RECOMMENDATION_SUBJECT
from optimization.views_queries import TrackDrift, track_drift
from plans.diff import planned_daily_budget
from plans.models import PlanStatus, PlanVersion, Track
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


@dataclass(frozen=True)
class SummaryLine:
    number: int
    kind: str
    status: str
    status_label: str
    when: datetime | None
    summary: dict

    @property
    def is_approved(self) -> bool:
        return self.status in (PlanStatus.APPROVED, PlanStatus.SUPERSEDED)


@dataclass(frozen=True)
class WeeklyReport:
    tenant: object
    track: Track
    week: Period
    client_safe: bool
    version: PlanVersion | None
    currency: str = ""
    spend: list[ChannelSpend] = field(default_factory=list)
    kpi: KpiLine | None = None
    applied: list[AppliedLine] = field(default_factory=list)
    drift: TrackDrift | None = None
    pending: list[PendingLine] = field(default_factory=list)
    recommendations: list[Recommendation] = field(default_factory=list)
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


def _spend(track: Track, payload, week: Period) -> list[ChannelSpend]:
    preferred = (
        PerformanceRow.objects.filter(
            track=OuterRef("track"), date=OuterRef("date"), channel=OuterRef("channel")
        )
        .annotate(rank=Case(When(source=PRIMARY_SOURCE, then=Value(0)), default=Value(1)))
        .order_by("rank", "source")
        .values("source")[:1]
    )
    spent = dict(
        PerformanceRow.objects.filter(track=track, date__gte=week.first, date__lte=week.last)
        .filter(source=Subquery(preferred))
        .values("channel")
        .annotate(total=Sum("spend"))
        .values_list("channel", "total")
    )
    days = [week.first + timedelta(days=i) for i in range(7)]
    channels = [channel.channel for channel in payload.channels]
    channels += sorted(set(spent) - set(channels))
    return [
        ChannelSpend(
            channel=name,
            label=channel_label(name),
            planned=sum((planned_daily_budget(payload, name, day) for day in days), Decimal(0)),
            spent=spent[name].quantize(CENT) if name in spent else None,
        )
        for name in channels
    ]


def _kpi(track: Track, payload, week: Period) -> KpiLine | None:
    kpi = payload.primary_kpi
    target = payload.kpi_targets.get(kpi)
    money_field = DecimalField(max_digits=24, decimal_places=6)
    totals = PerformanceRow.objects.filter(
        track=track, date__gte=week.first, date__lte=week.last, source=PRIMARY_SOURCE
    ).aggregate(
        spend_total=Sum("spend"),
        conversions_total=Sum("conversions"),
        weighted=Sum(
            ExpressionWrapper(F("kpi_value") * F("spend"), output_field=money_field),
            filter=Q(kpi_value__isnull=False),
        ),
        weighted_spend=Sum("spend", filter=Q(kpi_value__isnull=False)),
    )
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


def _applied(track: Track, week: Period) -> list[AppliedLine]:
    rows = (
        AppliedChange.objects.filter(
            track=track, applied_at__gte=week.start, applied_at__lt=week.end
        )
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
    return [
        AppliedLine(
            applied_at=at,
            channel=channel,
            channel_text=channel_label(channel),
            entity_id=entity,
            field=field_name,
            before=before,
            after=after,
            by_person=bool(ticket),
            change_set_id=change_set_id,
            agent=agent,
            ticket=ticket,
        )
        for at, channel, entity, field_name, before, after, ticket, change_set_id, agent in rows
    ]


def _track_tickets(track: Track):
    numbers = PlanVersion.objects.filter(track=track).values("number")
    change_sets = ChangeSet.objects.filter(track=track).values("change_set_id")
    recommendations = Recommendation.objects.filter(track=track).values_list("pk", flat=True)
    return Ticket.objects.filter(tenant_id=track.tenant_id).filter(
        Q(plan_version__in=numbers)
        | Q(change_set_id__in=change_sets)
        | Q(
            subject_type=RECOMMENDATION_SUBJECT,
            subject_id__in=[str(pk) for pk in recommendations],
        )
    )


def _pending(track: Track, *, client_safe: bool) -> list[PendingLine]:
    tickets = _track_tickets(track).filter(status=TicketStatus.OPEN).order_by("created_at", "id")
    if client_safe:
        tickets = tickets.filter(client_visible=True)
    return [
        PendingLine(
            public_id=ticket.public_id,
            type=ticket.type,
            kind=portal_kind(ticket),
            title=ticket.title,
            opened_at=ticket.created_at,
            sla_due_at=ticket.sla_due_at,
            client_visible=ticket.client_visible,
        )
        for ticket in tickets.only(
            "public_id", "type", "title", "created_at", "sla_due_at", "client_visible", "diff"
        )
    ]


def _recommendations(track: Track, week: Period) -> list[Recommendation]:
    return list(
        Recommendation.objects.filter(track=track)
        .filter(
            Q(status=RecommendationStatus.OPEN)
            | Q(created_at__gte=week.start, created_at__lt=week.end)
        )
        .order_by("created_at", "id")
    )


def _summaries(track: Track, week: Period, *, client_safe: bool) -> list[SummaryLine]:
    approved = Q(approved_at__gte=week.start, approved_at__lt=week.end)
    submitted = Q(
        status=PlanStatus.PENDING_APPROVAL,
        submitted_at__gte=week.start,
        submitted_at__lt=week.end,
    )
    versions = (
        PlanVersion.objects.filter(track=track)
        .filter(approved if client_safe else approved | submitted)
        .select_related("parent")
        .order_by("number")
    )
    lines = []
    for version in versions:
        lines.append(
            SummaryLine(
                number=version.number,
                kind=version.get_kind_display(),
                status=version.status,
                status_label=version.get_status_display(),
                when=version.approved_at or version.submitted_at,
                summary=plan_revise_summary(
                    version.parent.payload if version.parent_id else None, version.payload
                ),
            )
        )
    return lines


def weekly_report(
    *, track: Track, week_start: date, client_safe: bool, now: datetime | None = None
) -> WeeklyReport:
    """The report of `track` for the week starting `week_start` (a Monday) in the tenant's zone."""
    tenant = track.tenant
    zone = ZoneInfo(tenant.time_zone)
    week = week_period(week_start, zone)
    version = track.current_version
    if version is None:
        return WeeklyReport(
            tenant=tenant, track=track, week=week, client_safe=client_safe, version=None
        )
    payload = parse_payload(version.payload)
    now = now or timezone.now()
    drift = track_drift(track=track, now=min(now, week.end))
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
        recommendations=[] if client_safe else _recommendations(track, week),
        summaries=_summaries(track, week, client_safe=client_safe),
    )


def reported_tracks(tenant) -> list[Track]:
    """The tenant's tracks that have an approved version to anchor a report to."""
    return list(
        Track.objects.filter(tenant=tenant, current_version__isnull=False)
        .select_related("current_version", "tenant", "tenant__policy")
        .order_by("key")
    )


# --- CSV and mail --------------------------------------------------------------------------------
CSV_HEADER = ("section", "item", "value", "compared_with", "detail")


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
    for line in report.applied:
        approval = "approved by a person" if line.by_person else "within the guardrails"
        if report.client_safe:
            rows.append(("applied", line.channel, line.after, line.before, line.field))
        else:
            rows.append(
                (
                    "applied",
                    f"{line.entity_id}.{line.field}",
                    line.after,
                    line.before,
                    f"{line.applied_at.isoformat()} {line.change_set_id} {approval}",
                )
            )
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
