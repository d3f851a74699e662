"""Reads behind the System Ops pages (the runs list, a run's page, the CSV export) and the QC
alerts panel of the dashboard. Reads only: every write goes through agents/services."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet, Window
from django.db.models.functions import Coalesce, RowNumber
from django.utils import timezone

from agents import cost_chart
from agents.models import (
    COUNTER_NAMES,
    AgentRun,
    GateCall,
    QcAlert,
    QcLoop,
    QcResult,
    Reservation,
    RunState,
    SpendReport,
)
from agents.selectors import run_block_reason, run_ceilings, run_tickets
from approvals.presentation import run_change_sets
from approvals.types import RED_FLAG_TYPES, TicketType
from audit.actions import AuditAction
from audit.selectors import audit_trail
from config.csv_export import csv_lines
from tenants.models import TenantPolicy

TIMELINE_LIMIT = 100
SPEND_TABLE_LIMIT = 20
QC_RESULTS_LIMIT = 50
RECOVERED_DAYS = 7
PANEL_LIMIT = 10

# The state a person filters by, as a condition on the columns the state is derived from
# (AgentRun.state): ended wins over blocked, blocked over running.
STATE_CONDITIONS = {
    RunState.RUNNING: Q(ended=False, loop_block="", cost_block=False),
    RunState.BLOCKED: Q(ended=False) & (~Q(loop_block="") | Q(cost_block=True)),
    RunState.ENDED: Q(ended=True),
}

# The counters of a run in the order people read them, with their words.
COUNTER_LABELS = {
    "global_steps": "Global steps",
    "tool_rounds": "Tool rounds",
    "qc_corrections": "QC corrections",
    "orchestrator_retries": "Orchestrator retries",
    "steps": "Steps",
}


def reason_words(reason: str) -> str:
    """A gate reason as a person reads it: "loop_limit:tool_round" → "tool round limit"."""
    if reason.startswith("loop_limit:"):
        return f"{reason.removeprefix('loop_limit:').replace('_', ' ')} limit"
    if reason == "cost_guard":
        return "Cost Guard"
    return reason.replace("_", " ")


# --- The runs list -------------------------------------------------------------------------------
def runs_for_tenant(*, tenant) -> QuerySet[AgentRun]:
    """The tenant's runs, newest first (the agent_run_list index)."""
    return AgentRun.objects.filter(tenant=tenant).order_by("-created_at", "-id")


def runs_in_state(qs: QuerySet[AgentRun], state: str) -> QuerySet[AgentRun]:
    return qs.filter(STATE_CONDITIONS[state])


def run_filter_choices(*, tenant) -> tuple[list[str], list[str]]:
    """The agents and models the tenant's runs name, for the filter menus (one query)."""
    pairs = (
        AgentRun.objects.filter(tenant=tenant)
        .order_by()  # the default ordering would make DISTINCT keep every row
        .values_list("agent", "model")
        .distinct()
    )
    agents, models = set(), set()
    for agent, model in pairs:
        agents.add(agent)
        models.add(model)
    return sorted(agents), sorted(models)


@dataclass(frozen=True)
class RedFlag:
    type: str
    ticket: str
    reason: str


def open_red_flags(run: AgentRun) -> list[RedFlag]:
    """The run's open A8/A9, read from the run itself: its block columns are set and cleared in
    the same transaction as the ticket opens and resolves, so a list needs no ticket query."""
    flags = []
    if not run.ended and run.loop_block and run.loop_ticket:
        name = COUNTER_NAMES[run.loop_block]
        flags.append(RedFlag(TicketType.A8, run.loop_ticket, reason_words(f"loop_limit:{name}")))
    if not run.ended and run.cost_block and run.cost_ticket:
        flags.append(RedFlag(TicketType.A9, run.cost_ticket, reason_words("cost_guard")))
    return flags


@dataclass(frozen=True)
class RunCounter:
    column: str
    label: str
    count: int
    ceiling: int | None

    @property
    def at_limit(self) -> bool:
        return self.ceiling is not None and self.count >= self.ceiling

    @property
    def share(self) -> int:
        """How much of the ceiling is used, 0–100, for a meter."""
        if not self.ceiling:
            return 0
        return min(100, round(self.count * 100 / self.ceiling))


def run_counters(run: AgentRun, ceilings: dict[str, int]) -> list[RunCounter]:
    return [
        RunCounter(column, label, getattr(run, column), ceilings.get(COUNTER_NAMES[column]))
        for column, label in COUNTER_LABELS.items()
    ]


@dataclass(frozen=True)
class RunRow:
    run: AgentRun
    counters: list[RunCounter]
    red_flags: list[RedFlag]
    trip_line: Decimal

    @property
    def ratio(self) -> Decimal:
        return self.run.actual_cost_usd / self.run.estimated_cost_usd

    @property
    def over_estimate(self) -> bool:
        return self.run.actual_cost_usd > self.run.estimated_cost_usd

    @property
    def counter(self) -> dict[str, RunCounter]:
        return {c.column: c for c in self.counters}


def run_rows(runs: Iterable[AgentRun], policy: TenantPolicy) -> list[RunRow]:
    ceilings = run_ceilings(policy)
    return [
        RunRow(
            run=run,
            counters=run_counters(run, ceilings),
            red_flags=open_red_flags(run),
            trip_line=run.estimated_cost_usd * policy.trip_multiplier,
        )
        for run in runs
    ]


# --- CSV -----------------------------------------------------------------------------------------
CSV_COLUMNS = (
    "run_id",
    "state",
    "block_reason",
    "main_task_id",
    "agent",
    "model",
    "steps",
    "tool_rounds",
    "qc_corrections",
    "orchestrator_retries",
    "global_steps",
    "llm_calls",
    "input_tokens",
    "output_tokens",
    "estimated_cost_usd",
    "actual_cost_usd",
    "reserved_usd",
    "open_red_flags",
    "created_at",
    "ended_at",
)


def _utc(moment) -> str:
    return moment.astimezone(ZoneInfo("UTC")).isoformat() if moment else ""


def runs_csv_lines(runs: QuerySet[AgentRun]) -> Iterator[str]:
    """The runs as CSV, streamed in chunks (any number of runs, flat memory); times in UTC."""
    yield from csv_lines(CSV_COLUMNS, (_csv_row(run) for run in runs.iterator(chunk_size=2000)))


def _csv_row(run: AgentRun) -> list:
    flags = " ".join(f"{flag.type}:{flag.ticket}" for flag in open_red_flags(run))
    return [
        run.run_id,
        run.state,
        run_block_reason(run),
        run.main_task_id,
        run.agent,
        run.model,
        run.steps,
        run.tool_rounds,
        run.qc_corrections,
        run.orchestrator_retries,
        run.global_steps,
        run.llm_calls,
        run.input_tokens,
        run.output_tokens,
        run.estimated_cost_usd,
        run.actual_cost_usd,
        run.reserved_usd,
        flags,
        _utc(run.created_at),
        _utc(run.ended_at),
    ]


# --- One run -------------------------------------------------------------------------------------
def run_for_tenant(*, tenant, run_id: str) -> AgentRun | None:
    return AgentRun.objects.filter(tenant=tenant, run_id=run_id).first()


def run_timeline(run: AgentRun, limit: int = TIMELINE_LIMIT) -> tuple[list[GateCall], int]:
    """The run's latest gate calls, newest first, and how many it has in all."""
    calls = list(run.gate_calls.order_by("-at", "-id")[:limit])
    total = len(calls) if len(calls) < limit else run.gate_calls.count()
    return calls, total


def estimate_history(run: AgentRun) -> list[cost_chart.EstimateStep]:
    """The run's estimate over time: as created, then each raise (from its audit trail)."""
    raises = list(
        audit_trail(tenant=run.tenant_id, resource_type="agentrun", resource_id=run.run_id)
        .filter(action=AuditAction.RUN_ESTIMATE_RAISED)
        .order_by("seq")
        .values_list("created_at", "data")
    )
    first = Decimal(str(raises[0][1]["before"])) if raises else run.estimated_cost_usd
    steps = [cost_chart.EstimateStep(run.created_at, first)]
    steps += [cost_chart.EstimateStep(at, Decimal(str(data["after"]))) for at, data in raises]
    return steps


@dataclass(frozen=True)
class CostView:
    wide: cost_chart.Chart | None
    narrow: cost_chart.Chart | None
    reports: list[SpendReport]  # the latest, newest first
    report_count: int
    estimate: Decimal
    trip_multiplier: Decimal
    trip_line: Decimal
    actual: Decimal
    reserved: Decimal
    headroom: Decimal  # to the trip line, counting open reservations (negative: past it)
    ratio: Decimal
    raised: bool


def run_cost(run: AgentRun, policy: TenantPolicy, *, tz: ZoneInfo) -> CostView:
    reports = list(
        run.spend_reports.order_by("at", "id").values_list(
            "at", "actual_after_usd", "input_tokens", "output_tokens"
        )
    )
    points = [
        cost_chart.Report(at, actual_after, input_tokens + output_tokens)
        for at, actual_after, input_tokens, output_tokens in reports
    ]
    estimates = estimate_history(run)
    multiplier = policy.trip_multiplier
    charts = {}
    if points:
        end = run.ended_at or points[-1].at
        for name, layout in (("wide", cost_chart.WIDE), ("narrow", cost_chart.NARROW)):
            charts[name] = cost_chart.cost_chart(
                reports=points,
                estimates=estimates,
                trip_multiplier=multiplier,
                start=run.created_at,
                end=end,
                tz=tz,
                layout=layout,
            )
    latest = list(run.spend_reports.select_related("reservation").order_by("-at", "-id"))[
        :SPEND_TABLE_LIMIT
    ]
    trip_line = run.estimated_cost_usd * multiplier
    return CostView(
        wide=charts.get("wide"),
        narrow=charts.get("narrow"),
        reports=latest,
        report_count=len(reports),
        estimate=run.estimated_cost_usd,
        trip_multiplier=multiplier,
        trip_line=trip_line,
        actual=run.actual_cost_usd,
        reserved=run.reserved_usd,
        headroom=trip_line - run.actual_cost_usd - run.reserved_usd,
        ratio=run.actual_cost_usd / run.estimated_cost_usd,
        raised=len(estimates) > 1,
    )


def run_reservations(run: AgentRun) -> list[Reservation]:
    return list(run.reservations.order_by("-created_at", "-id"))


@dataclass(frozen=True)
class QcView:
    loops: list[QcLoop]
    results: list[QcResult]  # the latest, newest first
    result_count: int
    failure_codes: list[tuple[str, int]]  # most frequent first
    first_pass: int  # subtasks whose first attempt passed


def run_qc(run: AgentRun) -> QcView:
    loops = list(run.qc_loops.order_by("subtask_id"))
    results = list(run.qc_results.order_by("-created_at", "-id")[:QC_RESULTS_LIMIT])
    count = len(results) if len(results) < QC_RESULTS_LIMIT else run.qc_results.count()
    codes: Counter[str] = Counter()
    first_pass = 0
    for passed, failure_codes, attempt in run.qc_results.values_list(
        "passed", "failure_codes", "attempt"
    ):
        codes.update(failure_codes or [])
        first_pass += bool(passed and attempt == 1)
    return QcView(loops, results, count, codes.most_common(), first_pass)


def run_red_flag_tickets(run: AgentRun):
    return list(run_tickets(run).filter(type__in=RED_FLAG_TYPES).order_by("-created_at"))


def run_change_set_rows(run: AgentRun) -> list[dict]:
    """The change sets carrying the run's id, from the app that owns them."""
    return run_change_sets(tenant=run.tenant, run_id=run.run_id)


def open_ticket_of(run: AgentRun, type_: str):
    """The run's open A8 or A9 (what the page's actions decide), or None."""
    number = run.loop_ticket if type_ == TicketType.A8 else run.cost_ticket
    blocked = run.loop_block if type_ == TicketType.A8 else run.cost_block
    if run.ended or not blocked or not number:
        return None
    return run_tickets(run).filter(public_id=number, type=type_).first()


# --- The dashboard's QC alerts panel -------------------------------------------------------------
def qc_alerts(*, tenant_ids: list[int], now=None) -> tuple[list[QcAlert], list[QcAlert]]:
    """Open QC alerts of these tenants, newest first, and those that recovered in the last
    week, latest recovery first: at most PANEL_LIMIT + 1 of each (the one more says "more"),
    in one query — the dashboard is the page people keep open all day."""
    now = now or timezone.now()
    latest_first = [Coalesce("recovered_at", "opened_at").desc(), F("id").desc()]
    rows = list(
        QcAlert.objects.filter(tenant_id__in=tenant_ids)
        .filter(
            Q(recovered_at__isnull=True) | Q(recovered_at__gte=now - timedelta(days=RECOVERED_DAYS))
        )
        .annotate(
            open=ExpressionWrapper(Q(recovered_at__isnull=True), output_field=BooleanField()),
            rank=Window(RowNumber(), partition_by=[F("open")], order_by=latest_first),
        )
        .filter(rank__lte=PANEL_LIMIT + 1)
        .select_related("tenant")
        .order_by(*latest_first)
    )
    return [a for a in rows if a.is_open], [a for a in rows if not a.is_open]


def qc_alerts_panel(user, memberships) -> tuple[str, dict] | None:
    """The dashboard panel (approvals.presentation.register_dashboard_panel): QC alerts beside the
    red flags, distinct from them — a grain under its floor is a pattern across runs, not a
    blocked run."""
    tenant_ids = [m.tenant_id for m in memberships]
    if not tenant_ids:
        return None
    open_alerts, recovered = qc_alerts(tenant_ids=tenant_ids)
    return (
        "agents/_qc_alerts.html",
        {
            "open_alerts": open_alerts[:PANEL_LIMIT],
            "more_open": len(open_alerts) > PANEL_LIMIT,
            "recovered": recovered[:PANEL_LIMIT],
            "recovered_days": RECOVERED_DAYS,
            "many_tenants": len(tenant_ids) > 1,
        },
    )
