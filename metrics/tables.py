"""The rows of each ops metric (metrics/board.py's SPECS): a metric's grouped rows
(metrics/selectors.py) turned into the table's rows, the chart's bars and a headline.

Only aggregate rows pass through here (a few per ticket type, track or code); the arithmetic on
them is ratios and sums of those aggregates, never a walk over tickets or results.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from approvals.types import TICKET_TYPES, slot_label
from config.formatting import NOTHING, date_text, money, number, percent
from metrics import charts, selectors
from metrics.periods import Ranges, bucket_for, bucket_starts
from metrics.selectors import CURRENT, PREVIOUS, Scope

HUNDRED = Decimal(100)
ROLLBACK_DAYS_DEFAULT = 7
ROLLBACK_DAYS_MAX = 90


# --- Cells ----------------------------------------------------------------------------------------
def ratio_pct(part, whole) -> Decimal | None:
    """part / whole as a percentage (2 places), None when there is nothing to divide by."""
    if not whole:
        return None
    return (Decimal(part or 0) * HUNDRED / Decimal(whole)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


def duration_text(seconds) -> str:
    """3h 12m, 2d 4h, 45m; "—" for nothing."""
    if seconds is None:
        return NOTHING
    minutes = int(round(float(seconds) / 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


def hours(seconds) -> Decimal | None:
    if seconds is None:
        return None
    return (Decimal(str(seconds)) / Decimal(3600)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def points_text(value) -> str:
    """A change of a percentage, in points: +4.5 pts, −2 pts, 0 pts."""
    if value is None:
        return NOTHING
    text = number(Decimal(value).quantize(Decimal("0.1"), ROUND_HALF_UP).normalize())
    return f"+{text} pts" if value > 0 else f"{text} pts"


def points(current, previous) -> Decimal | None:
    if current is None or previous is None:
        return None
    return current - previous


def count_text(value) -> str:
    return number(value or 0)


def pct_text(value) -> str:
    return percent(value) if value is not None else NOTHING


@dataclass(frozen=True)
class Options:
    by: str = "main_task_id"  # QC first pass by main task, agent or model
    days: int = ROLLBACK_DAYS_DEFAULT  # rolled back within
    many_tenants: bool = False  # rows name each track's tenant
    current_pcts: tuple[Decimal, ...] = ()  # the tenants' auto-approve thresholds


@dataclass(frozen=True)
class Table:
    """What a spec's function computes: the rows, what the chart draws (BarInputs, or (label,
    value) columns; empty: no chart), and the words that fill the spec's {placeholders}."""

    rows: list[tuple]
    chart: list
    headline: str = ""
    words: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


def _by_period(rows: list[dict], key: str | Callable[[dict], object]) -> dict:
    """{key: {"current": row, "previous": row}} of grouped rows."""
    grouped: dict = {}
    for row in rows:
        name = key(row) if callable(key) else row[key]
        grouped.setdefault(name, {})[row["period"]] = row
    return grouped


def _get(pair: dict, period: str, name: str, default=None):
    row = pair.get(period)
    return row[name] if row is not None and row[name] is not None else default


# --- 1. Time to approve ---------------------------------------------------------------------------
def _type_label(type_id: str) -> str:
    return TICKET_TYPES[type_id].label if type_id in TICKET_TYPES else type_id


def time_to_approve(scope: Scope, options: Options) -> Table:
    grouped = _by_period(selectors.time_to_approve(scope), "type")
    rows, bars = [], []
    total_n = total_seconds = previous_n = previous_seconds = 0
    for type_id in sorted(grouped):
        pair = grouped[type_id]
        n = _get(pair, CURRENT, "n", 0)
        mean = _get(pair, CURRENT, "mean")
        before = _get(pair, PREVIOUS, "mean")
        label = _type_label(type_id)
        rows.append(
            (
                label,
                n,
                mean,
                _get(pair, CURRENT, "median"),
                _get(pair, CURRENT, "p90"),
                _get(pair, PREVIOUS, "n", 0),
                before,
            )
        )
        bars.append(charts.BarInput(label, mean, before))
        total_n += n
        total_seconds += (mean or 0) * n
        previous_n += _get(pair, PREVIOUS, "n", 0)
        previous_seconds += (before or 0) * _get(pair, PREVIOUS, "n", 0)
    headline = ""
    if total_n or previous_n:
        now = duration_text(total_seconds / total_n) if total_n else NOTHING
        was = duration_text(previous_seconds / previous_n) if previous_n else NOTHING
        headline = f"{count_text(total_n)} approvals, {now} on average (before: {was})"
    return Table(rows, bars, headline)


# --- 2. Auto-approved -----------------------------------------------------------------------------
def _track_label(tenant: str, track: str, many: bool) -> str:
    return f"{tenant} · {track}" if many else track


def auto_approved(scope: Scope, options: Options) -> Table:
    grouped = _by_period(
        selectors.auto_approved(scope), lambda row: (row["tenant__slug"], row["track__key"])
    )
    rows, bars = [], []
    sums = {CURRENT: [0, 0], PREVIOUS: [0, 0]}
    for tenant, track in sorted(grouped):
        pair = grouped[(tenant, track)]
        for period in (CURRENT, PREVIOUS):
            sums[period][0] += _get(pair, period, "total", 0)
            sums[period][1] += _get(pair, period, "auto", 0)
        now = ratio_pct(_get(pair, CURRENT, "auto", 0), _get(pair, CURRENT, "total", 0))
        was = ratio_pct(_get(pair, PREVIOUS, "auto", 0), _get(pair, PREVIOUS, "total", 0))
        label = _track_label(tenant, track, options.many_tenants)
        rows.append(
            (
                label,
                _get(pair, CURRENT, "total", 0),
                _get(pair, CURRENT, "auto", 0),
                now,
                was,
                points(now, was),
            )
        )
        bars.append(charts.BarInput(label, now, was))
    now = ratio_pct(sums[CURRENT][1], sums[CURRENT][0])
    was = ratio_pct(sums[PREVIOUS][1], sums[PREVIOUS][0])
    if len(rows) > 1:
        rows.insert(0, ("All tracks", *sums[CURRENT][:2], now, was, points(now, was)))
        bars.insert(0, charts.BarInput("All tracks", now, was))
    headline = (
        f"{pct_text(now)} of {count_text(sums[CURRENT][0])} changes applied without a person "
        f"(before: {pct_text(was)})"
        if rows
        else ""
    )
    return Table(rows, bars, headline)


# --- 3. QC first pass -----------------------------------------------------------------------------
def qc_first_pass(scope: Scope, options: Options) -> Table:
    grouped = _by_period(selectors.qc_first_pass(scope, by=options.by), "key")
    ordered = sorted(grouped, key=lambda k: (-_get(grouped[k], CURRENT, "n", 0), k))
    rows, bars = [], []
    for key in ordered:
        pair = grouped[key]
        n, passed = _get(pair, CURRENT, "n", 0), _get(pair, CURRENT, "passed", 0)
        now = ratio_pct(passed, n)
        was = ratio_pct(_get(pair, PREVIOUS, "passed", 0), _get(pair, PREVIOUS, "n", 0))
        rows.append((key, n, passed, now, _get(pair, PREVIOUS, "n", 0), was, points(now, was)))
        bars.append(charts.BarInput(key, now, was))
    dimension = selectors.QC_DIMENSIONS[options.by]
    words = {"Dimension": dimension, "dimension": dimension.lower()}
    return Table(rows, bars, words=words, extra={"by": options.by})


# --- 4. Failure codes and loop depth --------------------------------------------------------------
def failure_codes(scope: Scope, options: Options) -> Table:
    grouped = _by_period(selectors.failure_codes(scope), "code")
    ordered = sorted(grouped, key=lambda k: (-_get(grouped[k], CURRENT, "loops", 0), k))
    rows, bars = [], []
    for code in ordered:
        pair = grouped[code]
        loops = _get(pair, CURRENT, "loops", 0)
        depth = _get(pair, CURRENT, "depth")
        rows.append(
            (
                code,
                loops,
                Decimal(str(depth)).quantize(Decimal("0.01")) if depth is not None else None,
                ratio_pct(_get(pair, CURRENT, "passed", 0), loops),
                _get(pair, PREVIOUS, "loops", 0),
            )
        )
        bars.append(charts.BarInput(code, loops, _get(pair, PREVIOUS, "loops", 0)))
    return Table(rows, bars)


def _depth_label(depth: int) -> str:
    if depth >= selectors.DEPTH_CAP:
        return f"{depth}+ attempts"
    return "1 attempt" if depth == 1 else f"{depth} attempts"


def loop_depth(scope: Scope, options: Options) -> Table:
    grouped = _by_period(selectors.loop_depth(scope), "depth")
    total = sum(_get(pair, CURRENT, "n", 0) for pair in grouped.values())
    rows, bars = [], []
    for depth in sorted(grouped):
        pair = grouped[depth]
        n = _get(pair, CURRENT, "n", 0)
        label = _depth_label(depth)
        rows.append(
            (
                label,
                n,
                ratio_pct(n, total),
                ratio_pct(_get(pair, CURRENT, "passed", 0), n),
                _get(pair, PREVIOUS, "n", 0),
            )
        )
        bars.append(charts.BarInput(label, n, _get(pair, PREVIOUS, "n", 0)))
    return Table(rows, bars)


# --- 5. A8 rate by QC pattern ---------------------------------------------------------------------
def a8_by_qc_pattern(scope: Scope, options: Options) -> Table:
    grouped = _by_period(selectors.a8_by_qc_pattern(scope), "code")
    special = {selectors.ALL_RUNS: "All runs", selectors.NO_FAILURE: "No QC failure code"}
    codes = sorted(
        (code for code in grouped if code not in special),
        key=lambda k: (-_get(grouped[k], CURRENT, "runs", 0), k),
    )
    rows, bars = [], []
    for code in [c for c in special if c in grouped] + codes:
        pair = grouped[code]
        runs, a8 = _get(pair, CURRENT, "runs", 0), _get(pair, CURRENT, "a8", 0)
        now = ratio_pct(a8, runs)
        was = ratio_pct(_get(pair, PREVIOUS, "a8", 0), _get(pair, PREVIOUS, "runs", 0))
        label = special.get(code, code)
        rows.append((label, runs, a8, now, was))
        bars.append(charts.BarInput(label, now, was))
    return Table(rows, bars)


# --- 6. Grains under the floor --------------------------------------------------------------------
GRAIN_LABELS = {"task": "Tasks (main_task_id)", "subtask": "Subtasks"}


def grains_under_floor(scope: Scope, options: Options) -> Table:
    grains = _by_period(selectors.grains_under_floor(scope), "grain")
    opened = _by_period(selectors.qc_alerts_opened(scope), "grain")
    recovered = _by_period(selectors.qc_recoveries(scope), "grain")
    rows, bars = [], []
    for grain in ("task", "subtask"):
        pair = grains.get(grain, {})
        if not pair and grain not in opened and grain not in recovered:
            continue
        measured = _get(pair, CURRENT, "measured", 0)
        under = ratio_pct(_get(pair, CURRENT, "under", 0), measured)
        under_before = ratio_pct(
            _get(pair, PREVIOUS, "under", 0), _get(pair, PREVIOUS, "measured", 0)
        )
        alerts, recoveries = opened.get(grain, {}), recovered.get(grain, {})
        opened_now = _get(alerts, CURRENT, "n", 0)
        rows.append(
            (
                GRAIN_LABELS[grain],
                _get(pair, CURRENT, "grains", 0),
                measured,
                _get(pair, CURRENT, "under", 0),
                under,
                under_before,
                opened_now,
                ratio_pct(opened_now, measured),
                _get(recoveries, CURRENT, "n", 0),
                _get(recoveries, CURRENT, "mean"),
                _get(recoveries, CURRENT, "median"),
                _get(recoveries, PREVIOUS, "mean"),
                _get(alerts, CURRENT, "open", 0),
            )
        )
        bars.append(charts.BarInput(GRAIN_LABELS[grain], under, under_before))
    return Table(rows, bars)


# --- 7. Rollback after approval -------------------------------------------------------------------
def rollbacks(scope: Scope, options: Options) -> Table:
    days = options.days
    change_sets = _by_period(selectors.change_set_rollbacks(scope, days=days), "by_person")
    versions = _by_period(selectors.version_reverts(scope, days=days), lambda _row: "versions")
    rows, bars = [], []

    def add(label: str, pair: dict, total: str, done: str) -> None:
        n, rolled = _get(pair, CURRENT, total, 0), _get(pair, CURRENT, done, 0)
        now = ratio_pct(rolled, n)
        was = ratio_pct(_get(pair, PREVIOUS, done, 0), _get(pair, PREVIOUS, total, 0))
        rows.append((label, n, rolled, now, was))
        bars.append(charts.BarInput(label, now, was))

    if change_sets:
        add("Change sets approved by a person", change_sets.get(1, {}), "n", "rolled_back")
        add("Change sets within the guardrails", change_sets.get(0, {}), "n", "rolled_back")
    if versions:
        add("Plan versions", versions["versions"], "n", "reverted")
    return Table(rows, bars, words={"days": days}, extra={"days": days})


# --- 8. Manual overrides over time ----------------------------------------------------------------
def _bucket_label(day: date, bucket: str) -> str:
    if bucket == "month":
        return f"{day:%b %Y}"
    if bucket == "week":
        return f"w/c {date_text(day, year=False)}"
    return date_text(day, year=False)


def _local_day(value, zone) -> date:
    if isinstance(value, datetime):
        return value.astimezone(zone).date() if value.tzinfo else value.date()
    return value


def overrides(scope: Scope, options: Options) -> Table:
    ranges: Ranges = scope.ranges
    bucket = bucket_for(ranges.current)
    counts = {CURRENT: {}, PREVIOUS: {}}
    for row in selectors.overrides_over_time(scope, bucket=bucket):
        day = _local_day(row["bucket"], ranges.zone)
        counts[row["period"]][day] = counts[row["period"]].get(day, 0) + row["n"]
    starts = bucket_starts(ranges.current, bucket)
    rows = [(_bucket_label(day, bucket), counts[CURRENT].get(day, 0)) for day in starts]
    now, was = sum(counts[CURRENT].values()), sum(counts[PREVIOUS].values())
    trend = "fewer than" if now < was else "more than" if now > was else "as many as"
    return Table(
        rows=rows if now or was else [],
        chart=rows if now else [],
        headline=f"{count_text(now)} overrides, {trend} the {count_text(was)} of the range before",
        words={"bucket": bucket, "Bucket": bucket.capitalize()},
        extra={"total": now, "total_before": was, "bucket": bucket},
    )


# --- 9. SLA breaches ------------------------------------------------------------------------------
def sla_by_type(scope: Scope, options: Options) -> Table:
    grouped = _by_period(selectors.sla_breaches_by_type(scope), "type")
    rows, bars = [], []
    for type_id in sorted(grouped):
        pair = grouped[type_id]
        n, breached = _get(pair, CURRENT, "n", 0), _get(pair, CURRENT, "breached", 0)
        now = ratio_pct(breached, n)
        was = ratio_pct(_get(pair, PREVIOUS, "breached", 0), _get(pair, PREVIOUS, "n", 0))
        label = _type_label(type_id)
        rows.append((label, n, breached, now, was, points(now, was)))
        bars.append(charts.BarInput(label, now, was))
    return Table(rows, bars)


def sla_by_role(scope: Scope, options: Options) -> Table:
    grouped = _by_period(selectors.sla_breaches_by_role(scope), "slot")
    rows, bars = [], []
    for slot in sorted(grouped):
        pair = grouped[slot]
        n, late = _get(pair, CURRENT, "n", 0), _get(pair, CURRENT, "breached", 0)
        now = ratio_pct(late, n)
        was = ratio_pct(_get(pair, PREVIOUS, "breached", 0), _get(pair, PREVIOUS, "n", 0))
        label = slot_label(slot)
        rows.append((label, n, late, now, was))
        bars.append(charts.BarInput(label, now, was))
    return Table(rows, bars)


# --- 10. Spend at risk ----------------------------------------------------------------------------
def money_decimal(value) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)


def spend_at_risk(scope: Scope, options: Options) -> Table:
    rows, bars = [], []
    held_by_currency: dict[str, Decimal] = {}
    waiting = 0
    for row in selectors.spend_at_risk(scope):
        currency = row["currency"] or ""
        label = _track_label(row["tenant"], row["track"], options.many_tenants)
        held = Decimal(str(row["held"] or 0)).quantize(Decimal("0.01"))
        budget_days = money_decimal(row["budget_days"])
        budget_days_before = money_decimal(row["budget_days_previous"])
        rows.append(
            (
                label,
                currency,
                row["waiting"] or 0,
                held,
                row["oldest"],
                row["sent"] or 0,
                row["mean_wait"],
                budget_days,
                row["sent_previous"] or 0,
                budget_days_before,
            )
        )
        waiting += row["waiting"] or 0
        held_by_currency[currency] = held_by_currency.get(currency, Decimal(0)) + held
        bars.append(
            charts.BarInput(
                f"{label} ({currency})" if currency else label, budget_days, budget_days_before
            )
        )
    held_text = ", ".join(money(v, c) for c, v in sorted(held_by_currency.items()) if v) or money(0)
    headline = (
        f"{count_text(waiting)} change set{'s' if waiting != 1 else ''} waiting now, "
        f"holding {held_text} a day"
    )
    return Table(rows, bars, headline)


# --- 11. A3 what-if -------------------------------------------------------------------------------
WHAT_IF_STEPS = (Decimal(5), Decimal(10), Decimal(15), Decimal(20), Decimal(40))


def what_if_thresholds(current_pcts: list[Decimal]) -> list[Decimal]:
    """Looser auto-approve thresholds to try: 5 to 40 points above the lowest current one."""
    base = min(current_pcts) if current_pcts else Decimal(10)
    return [base + step for step in WHAT_IF_STEPS]


def a3_what_if(scope: Scope, options: Options) -> Table:
    thresholds = what_if_thresholds(list(options.current_pcts))
    by_period = {row["period"]: row for row in selectors.a3_what_if(scope, thresholds=thresholds)}
    now, was = by_period.get(CURRENT), by_period.get(PREVIOUS)
    rows, bars = [], []
    if now or was:
        for index, threshold in enumerate(thresholds):
            through = now["through"][index] if now else 0
            before = was["through"][index] if was else 0
            share = ratio_pct(through, now["a3s"]) if now else None
            share_before = ratio_pct(before, was["a3s"]) if was else None
            label = f"Under {percent(threshold)}"
            rows.append(
                (label, through, share, now["rejected"][index] if now else 0, before, share_before)
            )
            bars.append(charts.BarInput(label, share, share_before))
    a3s = now["a3s"] if now else 0
    words = {
        "a3s": count_text(a3s),
        "current": ", ".join(sorted({percent(p) for p in options.current_pcts})) or "—",
    }
    return Table(rows, bars, words=words, extra={"a3s": a3s, "thresholds": thresholds})
