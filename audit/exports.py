"""The filtered audit log as CSV or JSON Lines, streamed row by row (any size, flat memory).

Both carry every stored field of the chain, so an auditor can recompute the hashes; JSON Lines
is the exact form, CSV defuses cells a spreadsheet would run as a formula.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

from audit.chain import EVENT_FIELDS, canonical_json, utc_iso
from audit.models import AuditEvent
from config.csv_export import csv_lines as export_lines

COLUMNS = EVENT_FIELDS


def _rows(events: QuerySet[AuditEvent]) -> Iterator[tuple]:
    for row in events.order_by("seq").values_list(*COLUMNS).iterator(chunk_size=2000):
        yield (row[0], utc_iso(row[1]), *row[2:])


def csv_lines(events: QuerySet[AuditEvent]) -> Iterable[str]:
    data_at = COLUMNS.index("data")

    def cells(row: tuple) -> list:
        cells = list(row)
        cells[data_at] = canonical_json(cells[data_at])
        return cells

    return export_lines(COLUMNS, (cells(row) for row in _rows(events)))


def jsonl_lines(events: QuerySet[AuditEvent]) -> Iterable[str]:
    for row in _rows(events):
        yield json.dumps(dict(zip(COLUMNS, row, strict=True)), ensure_ascii=False) + "\n"
