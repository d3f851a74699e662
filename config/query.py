"""The one parser for what a filter page reads from its query string: page numbers and dates,
each within bounds.

Anyone can type a URL. `?page=99999999999999999999` once became an OFFSET no bigint holds and
`?date_to=9999-12-31` a date Python can't add the next day to — a 500 each, on a dozen pages.
Every filter page reads page numbers with `page_number` and dates with `FilterDateField` (forms)
or `FilterDate` (django-filter): a date outside DATE_MIN..DATE_MAX is a form error the page
shows in words, and an export refuses it with a 400 rather than export something else.

Imports no app of the project: every app may import it.
"""

from __future__ import annotations

from datetime import date

import django_filters
from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.http import HttpResponse

from config.formatting import date_text

# A page past the last shows the last (Paginator.get_page); no list is this long, and anything
# beyond would only reach the database as a huge OFFSET.
PAGE_MAX = 100_000
# Far enough either way for any record or plan of the product, and far enough from the ends of
# Python's calendar (1–9999) that a range, the week before or the day after is still a date.
DATE_MIN = date(2000, 1, 1)
DATE_MAX = date(2999, 12, 31)
DATE_OUT_OF_RANGE = f"Enter a date between {date_text(DATE_MIN)} and {date_text(DATE_MAX)}."


def page_number(value: object) -> int:
    """The page asked for, read as Paginator.get_page reads it, within bounds: 1 for what is not
    a whole number; 0 — a page no list has, which get_page answers with the last — for a whole
    number below 1 or above PAGE_MAX."""
    text = str(value or "").strip()
    digits = text.removeprefix("-").removeprefix("+")
    if not digits.isascii() or not digits.isdigit():
        return 1
    if text.startswith("-") or len(digits) > len(str(PAGE_MAX)):
        return 0
    number = int(digits)
    return number if 1 <= number <= PAGE_MAX else 0


class FilterDateField(forms.DateField):
    """A filter's date (YYYY-MM-DD, a date picker's value) from DATE_MIN to DATE_MAX."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        super().__init__(**kwargs)
        self.validators.extend(
            [
                MinValueValidator(DATE_MIN, message=DATE_OUT_OF_RANGE),
                MaxValueValidator(DATE_MAX, message=DATE_OUT_OF_RANGE),
            ]
        )
        self.widget.attrs.update(min=DATE_MIN.isoformat(), max=DATE_MAX.isoformat())


class FilterDate(django_filters.DateFilter):
    """The same date as a django-filter filter."""

    field_class = FilterDateField


def filters_refused(form: forms.Form) -> HttpResponse | None:
    """An export's answer to filters it can't read: 400 naming each problem — never export more
    (or other) rows than asked for because one filter could not be read. None when they read."""
    if not form.is_bound or form.is_valid():
        return None
    problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
    return HttpResponse(
        f"Nothing exported; fix the filters first. {problems}",
        status=400,
        content_type="text/plain; charset=utf-8",
    )


def query_without(request, *names: str) -> str:
    """The page's query string without the parameters `names` (a filter page's links to its
    other pages and views keep the filters, not the page number)."""
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()
