"""CSV exports, streamed: one writer for every export of the product (the audit log, the
optimization log, runs, metrics tables).

A cell that a spreadsheet would run as a formula (=, +, -, @, tab, carriage return) is written as
text — agents name runs, entities and reasons, and an export must never execute what they wrote.

Imports no app of the project.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator, Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class _Line:
    """csv.writer's file: hands back each written line instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def spreadsheet_safe(value: object) -> object:
    """`value` as a cell: None empty, JSON for lists, dicts and booleans, formulas as text."""
    if value is None:
        return ""
    if isinstance(value, list | dict | bool):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_lines(header: Sequence[str], rows: Iterable[Sequence[object]]) -> Iterator[str]:
    """The header, then each row, as CSV lines (for a StreamingHttpResponse)."""
    writer = csv.writer(_Line())
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([spreadsheet_safe(cell) for cell in row])
