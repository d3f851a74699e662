"""Page numbers and dates typed into a filter page's URL (config/query.py): one parser with bounds
for every filter page. A date outside them is a clear message on the page, or a 400 for a CSV
export that would otherwise export something else; a page number far past the last page shows
the last page. Each once reached a 500: "bigint out of range" for ?page=99999999999999999999
and an OverflowError for date_to=9999-12-31 (issue 14)."""

from __future__ import annotations

import pytest

from config.query import DATE_MAX, DATE_MIN, page_number
from tenants.models import Role

pytestmark = pytest.mark.django_db

TRACK = "/t/acme/plans/tracks/always_on"
OUT_OF_RANGE = "Enter a date between 1 Jan 2000 and 31 Dec 2999."

# (url, the date parameter, what it is labelled on the page)
PAGES = [
    ("/t/acme/audit/", "date_to", "To"),
    ("/t/acme/audit/", "date_from", "From"),
    (f"{TRACK}/optimization/", "date_to", "To"),
    (f"{TRACK}/optimization/", "date_from", "From"),
    ("/t/acme/metrics/", "start", "From"),
    ("/t/acme/metrics/", "end", "To"),
    ("/metrics/", "start", "From"),
    ("/metrics/", "end", "To"),
    (f"{TRACK}/weekly/", "week", "Week of"),
    (f"{TRACK}/weekly/?print=1", "week", "Week of"),
]
EXPORTS = [
    ("/t/acme/audit/export.csv", "date_to"),
    ("/t/acme/audit/export.jsonl", "date_to"),
    (f"{TRACK}/optimization/export.csv", "date_to"),
    (f"{TRACK}/optimization/export.csv", "date_from"),
    ("/t/acme/metrics/rollbacks.csv", "start"),
    ("/t/acme/metrics/rollbacks.csv", "end"),
    ("/metrics/rollbacks.csv", "start"),
    ("/metrics/rollbacks.csv", "end"),
    (f"{TRACK}/weekly.csv", "week"),
]
DATES = ["9999-12-31", "0001-01-01", "1999-12-31", "3000-01-01"]


@pytest.fixture
def operator(client, acme, acme_v1, make_member):
    user = make_member("otto", acme, Role.OPERATOR)
    client.force_login(user)
    return user


def with_query(url: str, name: str, value: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{name}={value}"


@pytest.mark.parametrize("day", DATES)
@pytest.mark.parametrize(("url", "name", "label"), PAGES, ids=lambda v: str(v))
def test_a_date_out_of_bounds_is_a_message_on_the_page(client, operator, url, name, label, day):
    response = client.get(with_query(url, name, day))

    assert response.status_code == 200
    assert f"{label}: {OUT_OF_RANGE}" in response.content.decode()


@pytest.mark.parametrize("day", DATES)
@pytest.mark.parametrize(("url", "name"), EXPORTS, ids=lambda v: str(v))
def test_a_date_out_of_bounds_exports_nothing_and_says_why(client, operator, url, name, day):
    response = client.get(with_query(url, name, day))

    assert response.status_code == 400
    body = response.content.decode()
    assert body.startswith("Nothing exported; fix the filters first.")
    assert f"{name}: {OUT_OF_RANGE}" in body


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_the_portal_report_says_a_week_out_of_bounds_on_the_page(
    client, acme, acme_v1, make_member, day
):
    client.force_login(make_member("carla", acme, Role.CLIENT))

    response = client.get(f"/portal/reports/acme/always_on/?week={day}")

    assert response.status_code == 200
    assert f"Week of: {OUT_OF_RANGE}" in response.content.decode()


@pytest.mark.parametrize("day", [DATE_MIN.isoformat(), DATE_MAX.isoformat()])
@pytest.mark.parametrize(("url", "name", "label"), PAGES, ids=lambda v: str(v))
def test_the_bounds_themselves_are_dates_a_filter_takes(client, operator, url, name, label, day):
    response = client.get(with_query(url, name, day))

    assert response.status_code == 200
    assert OUT_OF_RANGE not in response.content.decode()


@pytest.mark.parametrize(
    "url",
    ["/", "/t/acme/audit/", f"{TRACK}/optimization/", "/t/acme/runs/"],
    ids=["inbox", "audit", "optimization-log", "runs"],
)
@pytest.mark.parametrize("page", ["99999999999999999999", "100001", "-5", "abc", "1e3"])
def test_a_page_number_past_any_page_shows_a_page(client, operator, url, page):
    response = client.get(f"{url}?page={page}")

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (None, 1),
        ("", 1),
        ("abc", 1),
        ("1.5", 1),
        ("2", 2),
        (" 7 ", 7),
        ("+3", 3),
        ("100000", 100_000),
        # A page no list has: get_page shows the last.
        ("0", 0),
        ("-3", 0),
        ("100001", 0),
        ("99999999999999999999", 0),
        ("1" * 5000, 0),
    ],
)
def test_a_page_number_is_read_within_bounds(value, number):
    assert page_number(value) == number
