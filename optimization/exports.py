"""The filtered optimization log of a track as CSV, one line per item, streamed (flat memory):
who, what was asked, approved and applied, when, the outcome and the ticket. Agents write the
ids and values, so cells a spreadsheet would run as a formula are defused."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from config.csv_export import csv_lines
from optimization.views_queries import item_rows

COLUMNS = (
    "change_set_id",
    "created_at",
    "agent",
    "kind",
    "status",
    "path",
    "ticket",
    "entity_id",
    "channel",
    "field",
    "before",
    "asked",
    "approved",
    "applied",
    "applied_at",
    "reverts",
    "reason",
)


def _rows(change_sets: QuerySet, tz: ZoneInfo) -> Iterator[list]:
    for change_set in change_sets.iterator(chunk_size=500):
        for item in item_rows(change_set):
            yield [
                change_set.change_set_id,
                change_set.created_at.astimezone(tz).isoformat(),
                change_set.agent,
                change_set.kind,
                change_set.status,
                change_set.path,
                change_set.ticket,
                item.entity_id,
                item.channel,
                item.field,
                item.before,
                item.asked,
                item.approved,
                item.applied,
                item.applied_at.astimezone(tz).isoformat() if item.was_applied else "",
                change_set.reverts.change_set_id if change_set.reverts_id else "",
                change_set.reason,
            ]


def log_csv_lines(change_sets: QuerySet, *, tz_name: str) -> Iterable[str]:
    return csv_lines(COLUMNS, _rows(change_sets, ZoneInfo(tz_name)))
