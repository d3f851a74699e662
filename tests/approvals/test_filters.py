"""approvals/filters.py: the inbox's free-text search (every word, in any case, anywhere in the
searched fields), and on PostgreSQL the trigram index that serves it."""

from __future__ import annotations

import pytest
from django.db import connection

from approvals.filters import InboxFilter
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
def test_on_postgresql_a_search_is_served_by_the_trigram_index_of_search_text(acme, make_ticket):
    make_ticket(acme, "A3", title="Spring launch", change_set_id="cs-77")
    qs = InboxFilter(
        {"q": "launch"}, queryset=Ticket.objects.all(), tenants=Tenant.objects.all()
    ).qs
    with connection.cursor() as cursor:
        # A handful of rows: the planner would read the table whatever the indexes. Forbid that,
        # and a search it can't serve from the index still shows up as a scan.
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = qs.explain()

    assert "Bitmap Index Scan on ticket_search_text" in plan, plan
    assert "Seq Scan on approvals_ticket" not in plan


@pytest.mark.postgres
def test_on_postgresql_a_short_word_is_matched_among_the_rows_a_longer_one_found(acme, make_ticket):
    """A word under three characters has no trigram: asked through the index it would read all
    of it. It filters the rows the index found for the longer word instead."""
    make_ticket(acme, "A3", title="Spring launch 42")
    qs = InboxFilter(
        {"q": "launch 42"}, queryset=Ticket.objects.all(), tenants=Tenant.objects.all()
    ).qs
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = qs.explain()

    index_condition = plan[plan.index("Bitmap Index Scan on ticket_search_text") :]
    assert "%LAUNCH%" in plan and "strpos" in plan, plan
    assert "42" not in index_condition.split("\n")[1], plan
