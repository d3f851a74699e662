"""CSV exports: every metrics table (the page's filters kept), the inbox with its active filters
and the weekly track report. Streamed line by line; cells that a spreadsheet would run as a
formula are defused (ids, titles and codes come from agents), numbers are written plainly."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.http import StreamingHttpResponse

from config.csv_export import csv_lines as export_lines
from metrics.board import Metric, hours


def cell(value, tz: ZoneInfo | None = None) -> object:
    """A value as these tables show it — yes/no, times in the tenant's zone — before the one CSV
    writer (config/csv_export.py) defuses formulas."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(tz).isoformat() if tz else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def csv_lines(
    header: Iterable[str], rows: Iterable[Iterable], tz: ZoneInfo | None = None
) -> Iterator[str]:
    return export_lines(list(header), ([cell(value, tz) for value in row] for row in rows))


def csv_response(lines: Iterable[str], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- Metrics tables -------------------------------------------------------------------------------
def metric_header(metric: Metric) -> list[str]:
    return [
        f"{column.label} (hours)" if column.kind == "duration" else column.label
        for column in metric.columns
    ]


def metric_rows(metric: Metric) -> Iterator[list]:
    kinds = [column.kind for column in metric.columns]
    for row in metric.rows:
        yield [
            hours(value) if kind == "duration" else value
            for kind, value in zip(kinds, row, strict=True)
        ]


def metric_csv_lines(
    metric: Metric, *, tz: ZoneInfo, period_label: str, previous_label: str
) -> Iterator[str]:
    """The table as on the page, under two lines saying which ranges it compares."""
    yield from export_lines(
        ["# " + metric.title, f"range: {period_label}", f"before: {previous_label}"], []
    )
    yield from csv_lines(metric_header(metric), metric_rows(metric), tz)


# --- The inbox ------------------------------------------------------------------------------------
INBOX_COLUMNS = (
    ("public_id", "ticket"),
    ("tenant__slug", "tenant"),
    ("type", "type"),
    ("status", "status"),
    ("title", "title"),
    ("platform", "platform"),
    ("requesting_agent", "requested_by"),
    ("required_roles", "approval_slots"),
    ("created_at", "opened_at"),
    ("sla_due_at", "sla_due_at"),
    ("overdue_at", "overdue_at"),
    ("escalation_level", "escalation_level"),
    ("resolved_at", "resolved_at"),
    ("resolved_by_label", "resolved_by"),
    ("plan_version", "plan_version"),
    ("change_set_id", "change_set_id"),
    ("run_id", "run_id"),
)


def inbox_csv_lines(tickets: QuerySet, *, tz: ZoneInfo) -> Iterator[str]:
    fields = [name for name, _ in INBOX_COLUMNS]
    rows = tickets.prefetch_related(None).values_list(*fields).iterator(chunk_size=2000)
    return csv_lines(
        [label for _, label in INBOX_COLUMNS],
        ([*row[:7], " ".join(row[7] or []), *row[8:]] for row in rows),
        tz,
    )
