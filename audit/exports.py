"""The filtered audit log as CSV or JSON Lines, streamed row by row (any size, flat memory).

Both carry every stored field of the chain, so an auditor can recompute the hashes; JSON Lines
is the exact form, CSV defuses cells a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator

from django.db.models import QuerySet

from audit.chain import EVENT_FIELDS, canonical_json, utc_iso
from audit.models import AuditEvent

COLUMNS = EVENT_FIELDS
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _rows(events: QuerySet[AuditEvent]) -> Iterator[tuple]:
    for row in events.order_by("seq").values_list(*COLUMNS).iterator(chunk_size=2000):
        yield (row[0], utc_iso(row[1]), *row[2:])


class _Line:
    """csv.writer's file: hands back each written line instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def _spreadsheet_safe(value) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_lines(events: QuerySet[AuditEvent]) -> Iterable[str]:
    writer = csv.writer(_Line())
    yield writer.writerow(COLUMNS)
    data_at = COLUMNS.index("data")
    for row in _rows(events):
        cells = list(row)
        cells[data_at] = canonical_json(cells[data_at])
        yield writer.writerow([_spreadsheet_safe(cell) for cell in cells])


def jsonl_lines(events: QuerySet[AuditEvent]) -> Iterable[str]:
    for row in _rows(events):
        yield json.dumps(dict(zip(COLUMNS, row, strict=True)), ensure_ascii=False) + "\n"
