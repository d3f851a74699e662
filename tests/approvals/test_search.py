"""The inbox search reads Ticket.search_text (one upper-cased column) and finds exactly what the
search over the six fields found: the same tickets, in the same order, with the same count, for
an admin of several tenants and an operator of one, and never a ticket of another tenant."""

from __future__ import annotations

import random

import pytest
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from approvals.filters import InboxFilter, search_tickets
from approvals.inbox import by_urgency, inbox_tickets, page_of_tickets
from approvals.models import SEARCH_FIELDS, Ticket, TicketStatus
from tenants.models import Role, Tenant

# Mixed case, accents and ß, digits, LIKE's own characters, a backslash, words inside words.
VOCABULARY = [
    "Budget",
    "budget",
    "BUDGETS",
    "Straße",
    "STRASSE",
    "café",
    "CAFÉ",
    "launch",
    "Relaunch",
    "12%",
    "12",
    "n_a",
    "nXa",
    "back\\slash",
    "42",
    "4",
    "x",
    "mañana",
    "Ünïcode",
    "cs-77",
    "cs-778",
]
# Words of one, two and more characters, several words, a public id's piece (added below), one
# word made of a title's end and a summary's start (no field holds it), more than five words.
QUERIES = [
    "budget",
    "BUDGET 42",
    "budget 4",
    "x",
    "42",
    "4 2",
    "12%",
    "%",
    "_",
    "n_a",
    "\\",
    "back\\slash",
    "straße",
    "STRASSE",
    "café",
    "É",
    "ñ",
    "cs-77",
    "CS-778",
    "launch relaunch",
    "run-",
    "cmp-9",
    "endstart",
    "budget launch 12 x 4 nothing-matches-this",
    "nothing-matches-this",
]


def field_by_field(queryset, value: str):
    """The search as it was (issue 21): each word OR'd over the six fields with icontains."""
    for word in value.split()[:5]:
        match = Q()
        for field in SEARCH_FIELDS:
            match |= Q(**{f"{field}__icontains": word})
        queryset = queryset.filter(match)
    return queryset


def words(rng: random.Random, count: int) -> str:
    return " ".join(rng.choice(VOCABULARY) for _ in range(count))


@pytest.fixture
def world(make_tenant, make_member, make_ticket):
    """Three tenants of tickets with the vocabulary spread over every searched field, some of
    them closed; an admin of all three, an operator of the first."""
    rng = random.Random(21)
    tenants = [make_tenant(slug) for slug in ("acme", "globex", "initech")]
    admin = make_member("admin", tenants[0], Role.ADMIN)
    for tenant in tenants[1:]:
        make_member("admin", tenant, Role.ADMIN)
    operator = make_member("operator", tenants[0], Role.OPERATOR)
    tickets = []
    for n in range(36):
        tenant = tenants[n % 3]
        fields = {
            "title": f"{words(rng, 2)} {n}",
            "summary": words(rng, rng.randint(0, 4)),
            "run_id": rng.choice(["", f"run-{n:03d}", f"RUN_{words(rng, 1)}"]),
            "change_set_id": rng.choice(["", f"cs-{70 + n}", words(rng, 1)]),
        }
        if n % 5 == 0:
            fields["subject_id"] = f"cmp-9{n}"
        tickets.append(make_ticket(tenant, rng.choice(["A1", "A2", "A3", "A8"]), **fields))
    # A title ending "…end" and a summary starting "start…": "endstart" is in no field.
    tickets.append(make_ticket(tenants[0], "A3", title="The end", summary="start here"))
    # Some closed ones (the search runs over any status), as a decision leaves them.
    Ticket.objects.filter(pk__in=[t.pk for t in tickets[::4]]).update(
        status=TicketStatus.APPROVED, resolved_at=timezone.now()
    )
    return {"tenants": tenants, "admin": admin, "operator": operator, "tickets": tickets}


def queries(world) -> list[str]:
    # Pieces of public ids, in lower case as people paste them, of the operator's tenant and not.
    return [*QUERIES, *(t.public_id[3:9].lower() for t in world["tickets"][:3])]


def test_the_search_finds_the_same_tickets_as_the_field_by_field_search(world):
    tickets = Ticket.objects.all()
    found_any = 0
    for value in queries(world):
        found = set(search_tickets(tickets, value))
        assert found == set(field_by_field(tickets, value)), value
        found_any += bool(found)
    # The data is varied enough that most searches find something, and some find nothing.
    assert len(queries(world)) - 4 <= found_any < len(queries(world))


def test_no_word_is_found_across_two_fields(world):
    assert Ticket.objects.filter(title="The end").exists()
    assert not search_tickets(Ticket.objects.all(), "endstart").exists()
    assert search_tickets(Ticket.objects.all(), "end start").count() == 1


@pytest.mark.parametrize("who", ["admin", "operator"])
def test_each_person_gets_the_same_pages_in_the_same_order_with_the_same_count(world, who):
    user = world[who]
    mine = inbox_tickets(user=user)
    now = timezone.now()
    for value in queries(world):
        for number in (1, 2):
            page = page_of_tickets(
                by_urgency(search_tickets(mine, value), now=now), number=number, per_page=4
            )
            before = page_of_tickets(
                by_urgency(field_by_field(mine, value), now=now), number=number, per_page=4
            )
            assert [t.pk for t in page.object_list] == [t.pk for t in before.object_list], value
            assert page.paginator.count == before.paginator.count, value
            assert page.number == before.number, value
            tenant_ids = {t.tenant_id for t in page.object_list}
            assert tenant_ids <= {m.tenant_id for m in user.memberships.all()}, value


def test_an_operator_never_finds_another_tenants_ticket(world):
    elsewhere = world["tickets"][1]  # in globex, where the operator has no role
    value = elsewhere.public_id[3:].lower()

    assert search_tickets(inbox_tickets(user=world["admin"]), value).get() == elsewhere
    assert not search_tickets(inbox_tickets(user=world["operator"]), value).exists()


@pytest.mark.parametrize("who", ["admin", "operator"])
def test_the_dashboard_lists_and_counts_what_the_field_by_field_search_finds(client, world, who):
    user = world[who]
    client.force_login(user)
    for value in ("budget", "budget 4", world["tickets"][0].public_id[3:9].lower()):
        response = client.get(reverse("dashboard"), {"q": value, "status": ""})

        before = page_of_tickets(
            by_urgency(field_by_field(inbox_tickets(user=user), value), now=timezone.now()),
            number=1,
            per_page=25,
        )
        page = response.context["page"]
        assert [t.public_id for t in page.object_list] == [t.public_id for t in before.object_list]
        assert f"{before.paginator.count} ticket" in response.content.decode()


def test_search_text_follows_every_write_of_a_searched_field(world):
    ticket = world["tickets"][0]
    Ticket.objects.filter(pk=ticket.pk).update(title="Renamed quarterly", summary="Zebra")

    assert set(search_tickets(Ticket.objects.all(), "QUARTERLY zebra")) == {ticket}
    assert Ticket.objects.values_list("search_text", flat=True).get(pk=ticket.pk) == (
        f"{ticket.public_id}\nRENAMED QUARTERLY\nZEBRA\n{ticket.run_id}\n"
        f"{ticket.change_set_id}\n{ticket.subject_id}".upper()
    )


def test_a_filter_form_search_is_the_same_search(world):
    form = InboxFilter({"q": "budget 4"}, queryset=Ticket.objects.all(), tenants=Tenant.objects)
    assert set(form.qs) == set(field_by_field(Ticket.objects.all(), "budget 4"))
