"""`{% load metrics_ui %}`: a metrics table row written cell by cell by each column's kind, and
an applied change in the client's words."""

from __future__ import annotations

from django import template

from config.formatting import NOTHING, local_time, money, number, percent
from metrics.board import duration_text, points_text
from plans.summary import track_label

register = template.Library()


def metric_cell(metric, row, index: int, time_zone: str = "UTC") -> str:
    value = row[index]
    kind = metric.columns[index].kind
    if value is None:
        return NOTHING
    if kind == "count":
        return number(value)
    if kind == "decimal":
        return number(value)
    if kind == "pct":
        return percent(value)
    if kind == "points":
        return points_text(value)
    if kind == "duration":
        return duration_text(value)
    if kind == "money":
        currency = row[metric.currency_column] if metric.currency_column is not None else ""
        return money(value, currency)
    if kind == "moment":
        return local_time(value, time_zone)
    return str(value)


@register.filter
def applied_sentence(report, line) -> str:
    return report.applied_sentence(line)


@register.simple_tag
def metric_row(metric, row, time_zone: str = "UTC") -> list[tuple[str, bool]]:
    """(text, numeric) for each cell of `row`: one tag call per row, not per cell."""
    return [
        (metric_cell(metric, row, index, time_zone), column.numeric)
        for index, column in enumerate(metric.columns)
    ]


@register.filter
def track_words(key: str) -> str:
    """A track as the client reads it ("Always-on plan"), never its key."""
    return track_label(key)
