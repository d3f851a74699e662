"""The metrics page's cards: each metric's grouped rows (metrics/selectors.py) turned into one
table, one chart and a headline, in one shape that the page, the CSV export and the tests share.

Each metric is one row of SPECS: what it is called and asks, its columns, how its chart reads,
and the function that turns its grouped rows into the table's rows and the chart's bars (the one
part that differs from metric to metric). `build` makes a Metric of a spec.

The rows themselves are metrics/tables.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal

from config.formatting import number
from metrics import charts, tables_alignment
from metrics import tables as t
from metrics.selectors import Scope
from metrics.tables import (  # noqa: F401 (the page's and the exports' names for them)
    ROLLBACK_DAYS_DEFAULT,
    ROLLBACK_DAYS_MAX,
    Options,
    Table,
    count_text,
    duration_text,
    hours,
    pct_text,
    points_text,
)


@dataclass(frozen=True)
class Column:
    label: str
    kind: str = "text"  # text | count | pct | points | duration | money | date | days
    numeric: bool = True

    @property
    def is_text(self) -> bool:
        return self.kind == "text"


TEXT = "text"


def col(label: str, kind: str = "count") -> Column:
    return Column(label, kind, kind != TEXT)


@dataclass(frozen=True)
class Metric:
    key: str
    title: str
    question: str  # what it tells, in one line
    columns: tuple[Column, ...]
    rows: list[tuple]
    chart: charts.BarChart | charts.ColumnChart | None
    chart_title: str
    headline: str = ""
    note: str = ""
    currency_column: int | None = None  # money cells take the currency in this column
    legend: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not self.rows


# --- The table of metrics -------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricSpec:
    """One metric: its words and columns ({placeholders} filled from its Table's words), how its
    chart reads, and the function that computes its Table."""

    title: str
    question: str
    columns: tuple[Column, ...]
    chart_title: str
    table: Callable[[Scope, Options], Table]
    value_text: Callable[[object], str] = t.pct_text  # a chart value as text
    scale_max: float | None = None  # 100: bars of percentages run to 100 %
    columns_chart: bool = False  # counts over time instead of bars
    note: str = ""
    currency_column: int | None = None
    legend: bool = True


def _budget_days_text(value) -> str:
    return number(t.money_decimal(value) or 0)


SPECS: dict[str, MetricSpec] = {
    "time-to-approve": MetricSpec(
        title="Time to approve",
        question="How long a ticket waits from opened to approved, by type.",
        columns=(
            col("Type", TEXT),
            col("Approved"),
            col("Mean", "duration"),
            col("Median", "duration"),
            col("p90", "duration"),
            col("Approved before"),
            col("Mean before", "duration"),
        ),
        chart_title="Mean time to approve by type",
        table=t.time_to_approve,
        value_text=t.duration_text,
    ),
    "auto-approved": MetricSpec(
        title="Changes auto-approved",
        question="Agent change sets that applied within the guardrails, with no ticket.",
        columns=(
            col("Track", TEXT),
            col("Changes"),
            col("Auto-applied"),
            col("Share", "pct"),
            col("Share before", "pct"),
            col("Change", "points"),
        ),
        chart_title="Share of changes applied without a person",
        table=t.auto_approved,
        scale_max=100,
    ),
    "qc-first-pass": MetricSpec(
        title="QC first-pass rate by {dimension}",
        question="First attempts of a subtask that passed QC (agent_qc_results).",
        columns=(
            col("{Dimension}", TEXT),
            col("First attempts"),
            col("Passed"),
            col("First-pass rate", "pct"),
            col("First attempts before"),
            col("Rate before", "pct"),
            col("Change", "points"),
        ),
        chart_title="First-pass rate by {dimension}",
        table=t.qc_first_pass,
        scale_max=100,
    ),
    "failure-codes": MetricSpec(
        title="Top QC failure codes",
        question="Correction loops (agent_qc_loops) that met each failure code, most met first.",
        columns=(
            col("Failure code", TEXT),
            col("Loops"),
            col("Mean depth", "decimal"),
            col("Ended passing", "pct"),
            col("Loops before"),
        ),
        chart_title="Loops per failure code",
        table=t.failure_codes,
        value_text=t.count_text,
    ),
    "loop-depth": MetricSpec(
        title="Correction-loop depth",
        question="How many attempts a subtask's QC loop took, and whether it ended passing.",
        columns=(
            col("Depth", TEXT),
            col("Loops"),
            col("Share", "pct"),
            col("Ended passing", "pct"),
            col("Loops before"),
        ),
        chart_title="Loops by depth",
        table=t.loop_depth,
        value_text=t.count_text,
    ),
    "a8-by-qc-pattern": MetricSpec(
        title="A8 rate next to QC fail patterns",
        question="Runs that hit a loop limit (A8), by the QC failure codes met on the same run_id.",
        columns=(
            col("Runs that met", TEXT),
            col("Runs"),
            col("With an A8"),
            col("A8 rate", "pct"),
            col("A8 rate before", "pct"),
        ),
        chart_title="A8 rate by QC failure code on the run",
        table=t.a8_by_qc_pattern,
    ),
    "grains-under-floor": MetricSpec(
        title="Grains under the success floor",
        question=(
            "Task and subtask grains whose QC pass rate over the range is under the tenant's "
            "success floor (with at least min_sample_global results), alerts and recovery."
        ),
        columns=(
            col("Grain", TEXT),
            col("With results"),
            col("Enough to judge"),
            col("Under floor"),
            col("Share under", "pct"),
            col("Share before", "pct"),
            col("Alerts opened"),
            col("Alert rate", "pct"),
            col("Recovered"),
            col("Mean recovery", "duration"),
            col("Median recovery", "duration"),
            col("Mean recovery before", "duration"),
            col("Still open"),
        ),
        chart_title="Share of judged grains under the floor",
        table=t.grains_under_floor,
    ),
    "rollbacks": MetricSpec(
        title="Rollback rate after approval",
        question=(
            "Applied change sets rolled back, and approved versions superseded by a revert "
            "to the payload they replaced, within {days} days."
        ),
        columns=(
            col("What", TEXT),
            col("Approved"),
            col("Rolled back"),
            col("Rate", "pct"),
            col("Rate before", "pct"),
        ),
        chart_title="Rolled back within {days} days",
        table=t.rollbacks,
        note="Approvals of the last {days} days may still be rolled back.",
    ),
    "overrides": MetricSpec(
        title="Manual overrides over time",
        question="A6 manual overrides by admins (the count should fall).",
        columns=(col("{Bucket}", TEXT), col("Overrides")),
        chart_title="A6 overrides per {bucket}",
        table=t.overrides,
        value_text=t.count_text,
        columns_chart=True,
        legend=False,
    ),
    "sla-by-type": MetricSpec(
        title="SLA breach rate by ticket type",
        question=(
            "Tickets opened in the range that were decided after their due time, or are still "
            "open past it."
        ),
        columns=(
            col("Type", TEXT),
            col("With a due time"),
            col("Breached"),
            col("Breach rate", "pct"),
            col("Rate before", "pct"),
            col("Change", "points"),
        ),
        chart_title="Breach rate by type",
        table=t.sla_by_type,
    ),
    "sla-by-role": MetricSpec(
        title="Where approvals stall: SLA breaches by approving role",
        question=(
            "Of the tickets needing each approval slot, those past due with that slot still "
            "unfilled at the due time."
        ),
        columns=(
            col("Approving role", TEXT),
            col("Tickets needing it"),
            col("Not approved in time"),
            col("Stall rate", "pct"),
            col("Rate before", "pct"),
        ),
        chart_title="Stall rate by approving role",
        table=t.sla_by_role,
    ),
    "spend-at-risk": MetricSpec(
        title="Spend at risk",
        question=(
            "The daily budget held by change sets waiting for a person, and for how long "
            "(budget-days: daily budget × days waited)."
        ),
        columns=(
            col("Track", TEXT),
            col("Currency", TEXT),
            col("Waiting now"),
            col("Daily budget held now", "money"),
            col("Oldest waiting since", "moment"),
            col("Sent for approval"),
            col("Mean wait", "duration"),
            col("Budget-days held", "money"),
            col("Sent before"),
            col("Budget-days before", "money"),
        ),
        chart_title="Budget-days held waiting for approval",
        table=t.spend_at_risk,
        value_text=_budget_days_text,
        currency_column=1,
    ),
    "alignment": MetricSpec(
        title="Alignment with approved versions",
        question=(
            "Tracks whose live entities must still move to their approved version, due "
            "alignment_sla_hours business hours after its approval ({overdue} overdue now)."
        ),
        columns=(
            col("Track", TEXT),
            col("Version", TEXT),
            col("Entities to align"),
            col("Due", "moment"),
            col("SLA", TEXT),
        ),
        chart_title="Entities to align by track",
        table=tables_alignment.alignment,
        value_text=t.count_text,
        legend=False,
    ),
    "a3-what-if": MetricSpec(
        title="A3s a looser guardrail would have let through",
        question=(
            "Of the {a3s} A3 spend-guardrail tickets opened in the range (auto-approve now "
            "under {current}), those that a higher auto_approve_optimization_under_pct would "
            "have applied with no person — and how many of them people rejected."
        ),
        columns=(
            col("Auto-approve threshold", TEXT),
            col("Would have applied alone"),
            col("Share of A3s", "pct"),
            col("Of which people rejected"),
            col("Would have applied before"),
            col("Share before", "pct"),
        ),
        chart_title="Share of A3s that would have applied alone",
        table=t.a3_what_if,
        scale_max=100,
    ),
}
METRIC_KEYS = tuple(SPECS)


def _chart(spec: MetricSpec, drawn: list) -> charts.BarChart | charts.ColumnChart | None:
    if spec.columns_chart:
        return charts.column_chart(drawn, text=spec.value_text)
    return charts.bar_chart(drawn, text=spec.value_text, scale_max=spec.scale_max)


def metric_build(key: str, scope: Scope, options: Options) -> Metric:
    """The metric `key` of SPECS over `scope`."""
    spec = SPECS[key]
    table = spec.table(scope, options)
    words = table.words
    return Metric(
        key=key,
        title=spec.title.format(**words),
        question=spec.question.format(**words),
        columns=tuple(replace(c, label=c.label.format(**words)) for c in spec.columns),
        rows=table.rows,
        chart=_chart(spec, table.chart) if table.chart else None,
        chart_title=spec.chart_title.format(**words),
        headline=table.headline,
        note=spec.note.format(**words),
        currency_column=spec.currency_column,
        legend=spec.legend,
        extra=table.extra,
    )


def build(
    key: str,
    scope: Scope,
    *,
    options: Options,
    many_tenants: bool,
    current_pcts: list[Decimal],
) -> Metric:
    return metric_build(
        key,
        scope,
        replace(options, many_tenants=many_tenants, current_pcts=tuple(current_pcts)),
    )


def build_all(scope: Scope, **kwargs) -> list[Metric]:
    return [build(key, scope, **kwargs) for key in METRIC_KEYS]


# One name per metric, for callers that want one card (the tests read them this way).
def time_to_approve(scope: Scope) -> Metric:
    return metric_build("time-to-approve", scope, Options())


def auto_approved(scope: Scope, *, many_tenants: bool) -> Metric:
    return metric_build("auto-approved", scope, Options(many_tenants=many_tenants))


def qc_first_pass(scope: Scope, *, by: str) -> Metric:
    return metric_build("qc-first-pass", scope, Options(by=by))


def failure_codes(scope: Scope) -> Metric:
    return metric_build("failure-codes", scope, Options())


def loop_depth(scope: Scope) -> Metric:
    return metric_build("loop-depth", scope, Options())


def a8_by_qc_pattern(scope: Scope) -> Metric:
    return metric_build("a8-by-qc-pattern", scope, Options())


def grains_under_floor(scope: Scope) -> Metric:
    return metric_build("grains-under-floor", scope, Options())


def rollbacks(scope: Scope, *, days: int) -> Metric:
    return metric_build("rollbacks", scope, Options(days=days))


def overrides(scope: Scope) -> Metric:
    return metric_build("overrides", scope, Options())


def sla_by_type(scope: Scope) -> Metric:
    return metric_build("sla-by-type", scope, Options())


def sla_by_role(scope: Scope) -> Metric:
    return metric_build("sla-by-role", scope, Options())


def spend_at_risk(scope: Scope, *, many_tenants: bool) -> Metric:
    return metric_build("spend-at-risk", scope, Options(many_tenants=many_tenants))


def a3_what_if(scope: Scope, *, current_pcts: list[Decimal]) -> Metric:
    return metric_build("a3-what-if", scope, Options(current_pcts=tuple(current_pcts)))


def alignment(scope: Scope) -> Metric:
    return metric_build("alignment", scope, Options())
