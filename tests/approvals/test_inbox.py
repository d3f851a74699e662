"""approvals/inbox.py: SLA states and texts, the SLA filter, "my queue", the red-flag lane, the
page of tickets, and the inbox rendering with a constant number of queries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals.inbox import (
    inbox_tickets,
    page_of_tickets,
    red_flags,
    sla_state,
    sla_text,
    waiting_for,
    with_sla_state,
)
from approvals.rules import decision_refusal
from approvals.services import ticket_decide
from approvals.types import TICKET_TYPES
from audit.actors import Actor
from tenants.models import INTERNAL_ROLES, Membership, Role
from tenants.services import membership_set
from tests.conftest import TEST_ACTOR

OPENED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("window", "left", "expected"),
    [
        pytest.param(timedelta(hours=24), timedelta(hours=20), "ok", id="plenty-left"),
        pytest.param(
            timedelta(hours=24), timedelta(hours=6, minutes=1), "ok", id="just-over-a-quarter"
        ),
        pytest.param(
            timedelta(hours=24), timedelta(hours=5, minutes=59), "amber", id="under-a-quarter"
        ),
        pytest.param(
            timedelta(hours=72), timedelta(hours=17), "amber", id="weekend-window-quarter"
        ),
        pytest.param(timedelta(hours=8), timedelta(hours=3, minutes=59), "amber", id="under-4h"),
        pytest.param(
            timedelta(hours=8), timedelta(hours=4, minutes=1), "ok", id="over-4h-over-a-quarter"
        ),
        pytest.param(timedelta(hours=8), timedelta(0), "overdue", id="due-now"),
        pytest.param(timedelta(hours=8), -timedelta(hours=2), "overdue", id="two-hours-late"),
    ],
)
def test_the_sla_state_turns_amber_then_overdue(window, left, expected):
    due = OPENED + window
    assert sla_state(due_at=due, opened_at=OPENED, now=due - left) == expected


@pytest.mark.parametrize(
    ("left", "text"),
    [
        pytest.param(timedelta(hours=4, minutes=12, seconds=30), "4h 12m left", id="hours-minutes"),
        pytest.param(timedelta(hours=3), "3h left", id="whole-hours"),
        pytest.param(timedelta(minutes=9), "9m left", id="minutes"),
        pytest.param(timedelta(days=2, hours=3, minutes=5), "2d 3h left", id="days"),
        pytest.param(-timedelta(hours=2), "overdue 2h", id="overdue-hours"),
        pytest.param(-timedelta(minutes=35), "overdue 35m", id="overdue-minutes"),
        pytest.param(-timedelta(days=1, hours=4), "overdue 1d 4h", id="overdue-days"),
    ],
)
def test_the_sla_text_reads_at_a_glance(left, text):
    due = OPENED + timedelta(days=5)
    assert sla_text(due_at=due, now=due - left) == text


@pytest.fixture
def staff(acme, globex, make_member):
    return {
        "planner": make_member("acme-planner", acme, Role.PLANNER),
        "planner2": make_member("acme-planner-2", acme, Role.PLANNER),
        "legal": make_member("acme-legal", acme, Role.LEGAL),
        "operator": make_member("acme-operator", acme, Role.OPERATOR),
        "globex-planner": make_member("globex-planner", globex, Role.PLANNER),
    }


@pytest.mark.parametrize(
    ("moment", "state"),
    [
        pytest.param(lambda t: t.created_at + timedelta(minutes=1), "ok", id="just-opened"),
        pytest.param(lambda t: t.sla_due_at - timedelta(hours=1), "amber", id="an-hour-left"),
        pytest.param(lambda t: t.sla_due_at + timedelta(minutes=1), "overdue", id="a-minute-late"),
    ],
)
def test_the_sla_filter_in_the_database_agrees_with_the_sla_state(
    acme, staff, make_ticket, moment, state
):
    ticket = make_ticket(acme, "A1")
    now = moment(ticket)
    assert sla_state(due_at=ticket.sla_due_at, opened_at=ticket.created_at, now=now) == state

    for candidate in ("ok", "amber", "overdue"):
        found = with_sla_state(inbox_tickets(user=staff["planner"]), candidate, now=now)
        assert list(found) == ([ticket] if candidate == state else [])


def test_my_queue_holds_what_waits_for_my_role_until_i_or_my_role_has_acted(
    acme, globex, staff, make_ticket
):
    compliance = make_ticket(acme, "A7", title="Claims check")  # planner and legal
    red_flag = make_ticket(acme, "A8", run_id="r-1")  # operator or admin
    make_ticket(globex, "A1", title="Another tenant's plan")

    def queue(who):
        return set(waiting_for(inbox_tickets(user=staff[who]), user=staff[who]))

    assert queue("planner") == {compliance}
    assert queue("legal") == {compliance}
    assert queue("operator") == {red_flag}

    ticket_decide(ticket=compliance, actor=Actor.for_user(staff["planner"]), verdict="approve")

    assert queue("planner") == set()  # I acted
    assert queue("planner2") == set()  # the planner slot is filled
    assert queue("legal") == {compliance}  # legal still has to decide


def test_the_red_flag_lane_holds_only_open_a8_and_a9(acme, staff, make_ticket):
    a8 = make_ticket(acme, "A8", run_id="r-8")
    a9 = make_ticket(acme, "A9", run_id="r-9")
    make_ticket(acme, "A3")
    cleared = make_ticket(acme, "A8", run_id="r-old")
    ticket_decide(ticket=cleared, actor=Actor.for_user(staff["operator"]), verdict="approve")

    assert set(red_flags(inbox_tickets(user=staff["operator"]))) == {a8, a9}


def test_the_red_flag_lane_cannot_be_filtered_away(client, acme, staff, make_ticket):
    a8 = make_ticket(acme, "A8", run_id="r-8")
    a9 = make_ticket(acme, "A9", run_id="r-9")
    make_ticket(acme, "A1", title="Winter plan")
    client.force_login(staff["operator"])

    response = client.get(reverse("dashboard"), {"type": "A1", "status": "approved", "q": "zzz"})

    page = response.content.decode()
    lane = page[page.index('data-testid="redflag-lane"') : page.index('id="inbox"')]
    assert a8.public_id in lane and a9.public_id in lane
    assert "tool_rounds" in lane and ">6<" in lane  # A8: loop type and attempt count
    assert "$1.20" in lane and "$3.60" in lane and "3.0×" in lane  # A9: estimated vs actual
    assert "0 tickets" in page  # the inbox itself took the filters


def _fill(acme, make_ticket, staff, n: int) -> None:
    for i in range(n):
        ticket = make_ticket(acme, ["A1", "A3", "A7", "A8", "A9"][i % 5], run_id=f"r-{i}")
        if i % 5 == 2:  # some carry an approval already
            ticket_decide(ticket=ticket, actor=Actor.for_user(staff["planner"]), verdict="approve")


@pytest.mark.parametrize("query", [{}, {"queue": "mine"}, {"sla": "amber"}, {"status": ""}])
def test_the_inbox_and_the_lane_render_with_a_constant_number_of_queries(
    client, acme, staff, make_ticket, django_assert_max_num_queries, query
):
    client.force_login(staff["operator"])
    _fill(acme, make_ticket, staff, 3)
    # 10: session, user, memberships (once per request: tenants.access.request_memberships), the
    # page's ids and count, its rows, their approvals, my-queue count, the red-flag lane with its
    # count, the QC alerts panel, and the alignment panel asking whether any track has work left.
    with django_assert_max_num_queries(10) as few:
        client.get(reverse("dashboard"), query)

    _fill(acme, make_ticket, staff, 40)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("dashboard"), query)

    assert response.status_code == 200


def test_my_queue_takes_the_role_i_hold_in_each_tenant(
    acme, globex, staff, make_member, make_ticket
):
    # Planner at acme, admin at globex: each tenant's tickets by the role held there.
    both = make_member("both", acme, Role.PLANNER)
    membership_set(tenant=globex, user=both, role=Role.ADMIN, actor=TEST_ACTOR)
    acme_plan = make_ticket(acme, "A1")
    make_ticket(acme, "A8", run_id="r-acme")  # operator or admin: not a planner's
    globex_flag = make_ticket(globex, "A8", run_id="r-globex")
    make_ticket(globex, "A1")  # a planner's, but `both` is no planner at globex
    globex_access = make_ticket(globex, "A4")  # admin or client

    queue = list(waiting_for(inbox_tickets(user=both), user=both))

    assert queue == [globex_access, globex_flag, acme_plan]  # newest first, as the inbox


def test_my_queue_keeps_a_ticket_for_a_role_with_a_second_open_slot_but_not_for_who_acted(
    acme, make_member, make_ticket
):
    first_admin = make_member("ada", acme, Role.ADMIN)
    second_admin = make_member("adam", acme, Role.ADMIN)
    operator = make_member("otto", acme, Role.OPERATOR)
    ticket = make_ticket(acme, "A8", run_id="r-1", required_roles=["operator/admin", "admin"])

    ticket_decide(ticket=ticket, actor=Actor.for_user(first_admin), verdict="approve")

    def queue(user):
        return list(waiting_for(inbox_tickets(user=user), user=user))

    assert queue(first_admin) == []  # acted
    assert queue(second_admin) == [ticket]  # the "admin" slot still waits
    assert queue(operator) == []  # the only slot an operator could fill is taken


def _may_approve(ticket, user, role) -> bool:
    """The rule ticket_decide enforces, for one person: what "my queue" must agree with."""
    decisions = list(ticket.decisions.all())
    if any(d.user_id == user.pk for d in decisions):
        return False
    refusal = decision_refusal(
        type_id=ticket.type,
        required_roles=ticket.required_roles,
        client_visible=ticket.client_visible,
        role=role,
        verdict="approve",
        approved_slots={d.slot for d in decisions if d.verdict == "approve"},
    )
    return refusal is None


def test_my_queue_is_exactly_what_each_person_may_still_approve(
    acme, globex, staff, make_member, make_ticket
):
    staff["admin"] = make_member("acme-admin", acme, Role.ADMIN)
    staff["globex-admin"] = make_member("globex-admin", globex, Role.ADMIN)
    for n, type_id in enumerate(TICKET_TYPES):
        for tenant in (acme, globex):
            ticket = make_ticket(tenant, type_id, run_id=f"r-{n}")
            if type_id == "A7" and tenant == acme:
                ticket_decide(
                    ticket=ticket, actor=Actor.for_user(staff["planner"]), verdict="approve"
                )
            if type_id == "A2" and tenant == globex:
                ticket_decide(
                    ticket=ticket, actor=Actor.for_user(staff["globex-planner"]), verdict="approve"
                )

    for who, user in staff.items():
        membership = Membership.objects.get(user=user)
        assert membership.role in INTERNAL_ROLES
        expected = [
            ticket
            for ticket in inbox_tickets(user=user).filter(status="open")
            if _may_approve(ticket, user, membership.role)
        ]
        assert expected, who
        assert list(waiting_for(inbox_tickets(user=user), user=user)) == expected, who


def test_my_queue_costs_the_same_queries_for_one_tenant_or_many(
    client, acme, make_tenant, make_member, make_ticket, django_assert_max_num_queries
):
    admin = make_member("multi-admin", acme, Role.ADMIN)
    make_ticket(acme, "A4")
    client.force_login(admin)
    # 10 (as above): the alignment panel asks once, whatever the number of tenants.
    with django_assert_max_num_queries(10) as one_tenant:
        response = client.get(reverse("dashboard"), {"queue": "mine"})
    assert response.context["my_queue_count"] == 1

    for n in range(5):
        tenant = make_tenant(f"more-{n}")
        membership_set(tenant=tenant, user=admin, role=Role.ADMIN, actor=TEST_ACTOR)
        make_ticket(tenant, "A4")
        make_ticket(tenant, "A8", run_id=f"r-{n}")
    with django_assert_max_num_queries(len(one_tenant.captured_queries)):
        response = client.get(reverse("dashboard"), {"queue": "mine"})

    assert response.context["my_queue_count"] == 11
    assert len(response.context["page"].object_list) == 11


def test_a_page_of_tickets_holds_its_rows_newest_first_and_counts_every_match(
    acme, staff, make_ticket, django_assert_num_queries
):
    tickets = [make_ticket(acme, "A1", title=f"Plan {i}") for i in range(7)]
    qs = inbox_tickets(user=staff["planner"])

    # The ids with their count in one query, then the rows and their approvals.
    with django_assert_num_queries(3):
        page = page_of_tickets(qs, number="2", per_page=3)

    assert page.object_list == [tickets[3], tickets[2], tickets[1]]
    assert page.paginator.count == 7
    assert (page.number, page.paginator.num_pages) == (2, 3)
    assert page.has_previous() and page.has_next()


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        pytest.param(None, 1, id="none"),
        pytest.param("abc", 1, id="not-a-number"),
        pytest.param("1.5", 1, id="not-whole"),
        pytest.param("3", 3, id="the-last"),
        pytest.param("9", 3, id="past-the-end"),
        pytest.param("0", 3, id="zero"),
        pytest.param("-2", 3, id="negative"),
    ],
)
def test_a_page_number_is_read_as_the_paginator_reads_it(
    acme, staff, make_ticket, number, expected
):
    tickets = [make_ticket(acme, "A1", title=f"Plan {i}") for i in range(7)]

    page = page_of_tickets(inbox_tickets(user=staff["planner"]), number=number, per_page=3)

    assert page.number == expected
    assert page.paginator.count == 7
    assert page.object_list == ([tickets[0]] if expected == 3 else tickets[:-4:-1])


def test_a_page_of_no_tickets_is_an_empty_first_page(acme, staff):
    page = page_of_tickets(inbox_tickets(user=staff["planner"]), number="4", per_page=3)

    assert (page.number, page.paginator.count, page.object_list) == (1, 0, [])


@pytest.mark.parametrize(
    ("kwargs", "label"),
    [
        ({"type": "A4", "title": "DNS record for acme-shop.de"}, "“DNS record for acme-shop.de”"),
        ({"type": "A3", "change_set_id": "cs-7f3a9c41d2"}, "change set cs-7f3a9c41d2"),
        ({"type": "A8", "run_id": "run-93ab"}, "run-93ab"),
        (
            {"type": "A7", "run_id": "run-5521", "title": "Compliance: 'clinically proven' claim"},
            "“Compliance: 'clinically proven' claim”",
        ),
    ],
    ids=["no-subject", "full-change-set-id", "run", "copy-claim-found-by-a-run"],
)
def test_buttons_name_the_subject_in_full_and_never_the_ticket(acme, kwargs, label):
    from approvals.inbox import ticket_subject_label
    from tests.approvals.factories import open_ticket

    extra = (
        {"red_flag": {"loop_type": "tool_round", "attempt_count": 6}}
        if kwargs["type"] == "A8"
        else {}
    )
    ticket = open_ticket(acme, kwargs.pop("type"), **kwargs, **extra)
    assert ticket_subject_label(ticket) == label
    assert ticket.public_id not in ticket_subject_label(ticket)


def test_the_lane_shows_ten_red_flags_and_counts_every_open_one(
    client, acme, globex, staff, make_ticket
):
    for n in range(12):
        make_ticket(acme, ["A8", "A9"][n % 2], run_id=f"r-{n}")
    make_ticket(globex, "A8", run_id="r-globex")  # another tenant's: neither shown nor counted
    client.force_login(staff["operator"])

    response = client.get(reverse("dashboard"))

    page = response.content.decode()
    lane = page[page.index('data-testid="redflag-lane"') : page.index('id="inbox"')]
    assert lane.count('class="redflag-item"') == 10
    assert "12 open" in lane and "(12 in all)" in lane
    newest = list(red_flags(inbox_tickets(user=staff["operator"])))[:10]
    assert [t.public_id for t in response.context["red_flags"]] == [t.public_id for t in newest]


def test_the_dashboard_reads_the_memberships_once(client, acme, globex, staff):
    membership_set(tenant=globex, user=staff["operator"], role=Role.ADMIN, actor=TEST_ACTOR)
    client.force_login(staff["operator"])

    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("dashboard"))

    # The middleware's current tenant, the switcher and the view share one read.
    reads = [q for q in queries.captured_queries if q["sql"].startswith('SELECT "tenants_member')]
    assert len(reads) == 1
    switcher = response.content.decode().split('id="tenant-switch"')[1].split("</select>")[0]
    assert "Acme Retail · Operator" in switcher and "Globex" in switcher
