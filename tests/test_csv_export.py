"""The one CSV writer of every export: formulas written as text, JSON for structures."""

import pytest

from config.csv_export import csv_lines, spreadsheet_safe


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1", "'+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("plain", "plain"),
        (None, ""),
        (12, 12),
        ({"b": 1, "a": [True]}, '{"a": [true], "b": 1}'),
        (False, "false"),
    ],
)
def test_cells(value, cell):
    assert spreadsheet_safe(value) == cell


def test_lines_stream_the_header_then_the_rows():
    assert list(csv_lines(["a", "b"], [[1, "=x"], [None, "y,z"]])) == [
        "a,b\r\n",
        "1,'=x\r\n",
        ',"y,z"\r\n',
    ]
