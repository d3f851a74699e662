"""Inputs a fuzzer found that once became a 500: text no database keeps and numbers too large."""

import pytest
from django.test import RequestFactory

from config.api import StrictJsonParser
from config.text import storable_text


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("bad\x00name", "NUL"),
        ("lone \ud800 surrogate", "lone surrogates"),
    ],
    ids=["nul", "lone-surrogate"],
)
def test_text_no_database_keeps_is_refused_with_the_reason(value, reason):
    with pytest.raises(ValueError, match=reason):
        storable_text(value)


def test_other_unicode_text_is_kept_as_it_is():
    assert storable_text("Zürich 🚀 ß") == "Zürich 🚀 ß"


@pytest.mark.parametrize("number", ["1e999", "-1e999"], ids=["huge", "huge-negative"])
def test_the_body_parser_refuses_a_number_python_would_read_as_infinity(number):
    request = RequestFactory().post(
        "/api/v1/tickets", data=f'{{"amount": {number}}}', content_type="application/json"
    )
    with pytest.raises(ValueError, match="too large"):
        StrictJsonParser().parse_body(request)


def test_the_body_parser_keeps_ordinary_floats():
    request = RequestFactory().post(
        "/api/v1/tickets", data='{"amount": 1.5e300}', content_type="application/json"
    )
    assert StrictJsonParser().parse_body(request) == {"amount": 1.5e300}
