"""approvals/filters.py: the inbox's free-text search (every word, in any case, anywhere in the
searched fields), and on PostgreSQL the trigram indexes that serve it."""

from __future__ import annotations

import pytest
from django.db import connection

from approvals.filters import SEARCH_FIELDS, InboxFilter
from approvals.models import Ticket
from tenants.models import Tenant


def search(value: str) -> set[Ticket]:
    return set(
        InboxFilter({"q": value}, queryset=Ticket.objects.all(), tenants=Tenant.objects.all()).qs
    )


@pytest.mark.parametrize(
    ("field", "value", "query"),
    [
        pytest.param("title", "Winter clearance plan", "CLEARANCE", id="title"),
        pytest.param("summary", "Holiday push for Weihnachten", "weihnacht", id="summary"),
        pytest.param("run_id", "run-7f3a9c", "7F3A9", id="run-id"),
        pytest.param("change_set_id", "cs-0042-boost", "CS-0042", id="change-set"),
        pytest.param("subject_id", "cmp-991", "Cmp-99", id="subject-id"),
    ],
)
def test_a_search_finds_a_word_in_any_searched_field_in_any_case(
    acme, make_ticket, field, value, query
):
    found = make_ticket(acme, "A3", **{field: value})
    make_ticket(acme, "A3", title="Something else entirely")

    assert search(query) == {found}


def test_a_search_finds_a_ticket_by_a_piece_of_its_public_id_in_lower_case(acme, make_ticket):
    found = make_ticket(acme, "A1", title="Spring plan")
    make_ticket(acme, "A1", title="Summer plan")

    assert search(found.public_id[3:].lower()) == {found}


def test_every_word_must_match_but_each_may_match_another_field(acme, make_ticket):
    found = make_ticket(acme, "A3", title="Spring launch", change_set_id="cs-77")
    make_ticket(acme, "A3", title="Spring launch", change_set_id="cs-78")

    assert search("launch cs-77") == {found}
    assert search("launch cs-79") == set()


def test_percent_and_underscore_are_searched_as_themselves(acme, make_ticket):
    percent = make_ticket(acme, "A3", title="Budget up 12%")
    make_ticket(acme, "A3", title="Budget up 12 points")
    underscore = make_ticket(acme, "A8", run_id="run_a")
    make_ticket(acme, "A8", run_id="runXa")

    assert search("12%") == {percent}
    assert search("n_a") == {underscore}


@pytest.mark.postgres
def test_on_postgresql_each_searched_field_is_served_by_its_trigram_index(acme, make_ticket):
    make_ticket(acme, "A3", title="Spring launch", change_set_id="cs-77")
    qs = InboxFilter(
        {"q": "launch"}, queryset=Ticket.objects.all(), tenants=Tenant.objects.all()
    ).qs
    with connection.cursor() as cursor:
        # A handful of rows: the planner would read the table whatever the indexes. Forbid that,
        # and a search it can't serve from the indexes alone still shows up as a scan.
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = qs.explain()

    assert "BitmapOr" in plan
    assert "Seq Scan on approvals_ticket" not in plan
    for field in SEARCH_FIELDS:
        assert f"ticket_search_{field}" in plan, plan
