"""TicketWaitingRole: the "my queue" rows approvals/services.py keeps beside every open ticket.

One row per (ticket, role that may still fill an open slot), written in the transaction that opens,
decides, cancels or overrides the ticket; none once the ticket is no longer open. The data
migration and `ticket_waiting_roles_rebuild` derive the same rows from tickets and approvals.
"""

from __future__ import annotations

import importlib
import threading

import pytest
from django.apps import apps as django_apps

from approvals.models import Ticket, TicketStatus, TicketWaitingRole
from approvals.services import (
    TicketNotAllowed,
    ticket_cancel,
    ticket_decide,
    ticket_open,
    ticket_override,
    ticket_waiting_roles_rebuild,
)
from audit.actors import Actor
from tenants.models import Role
from tests.approvals.factories import SYSTEM, open_ticket


def waiting(ticket) -> set[str]:
    return set(TicketWaitingRole.objects.filter(ticket=ticket).values_list("role", flat=True))


def all_rows() -> set[tuple]:
    return set(
        TicketWaitingRole.objects.values_list("ticket_id", "tenant_id", "role", "ticket_created_at")
    )


@pytest.fixture
def people(acme, make_member):
    return {
        role: make_member(f"acme-{role}", acme, role)
        for role in (Role.PLANNER, Role.LEGAL, Role.OPERATOR, Role.ADMIN, Role.CLIENT)
    }


def decide(ticket, user, verdict="approve", comment="ok"):
    return ticket_decide(
        ticket=ticket, actor=Actor.for_user(user), verdict=verdict, comment=comment
    )


@pytest.mark.parametrize(
    ("type_id", "extra", "roles"),
    [
        pytest.param("A1", {}, {"planner"}, id="A1-planner"),
        pytest.param("A2", {}, {"operator", "planner"}, id="A2-either-operator-or-planner"),
        pytest.param(
            "A4", {"client_visible": True}, {"admin", "client"}, id="A4-either-admin-or-client"
        ),
        pytest.param("A4", {}, {"admin"}, id="internal-A4-never-waits-for-the-client"),
        pytest.param(
            "A5", {"required_roles": ["planner", "client"]}, {"planner", "client"}, id="A5-client"
        ),
        pytest.param("A7", {}, {"planner", "legal"}, id="A7-both-planner-and-legal"),
        pytest.param("A8", {"run_id": "r-8"}, {"operator", "admin"}, id="A8-operator-or-admin"),
    ],
)
def test_an_opened_ticket_waits_for_every_role_that_may_fill_a_slot(acme, type_id, extra, roles):
    ticket = open_ticket(acme, type_id, **extra)

    assert waiting(ticket) == roles
    assert all_rows() == {(ticket.pk, acme.pk, role, ticket.created_at) for role in roles}


def test_reopening_with_the_same_dedupe_key_adds_no_rows(acme):
    first = open_ticket(acme, "A7", dedupe_key="scan:7")
    again = open_ticket(acme, "A7", dedupe_key="scan:7")

    assert again == first
    assert TicketWaitingRole.objects.count() == 2


def test_a_partial_approval_stops_only_the_filled_slots_roles_then_the_last_ends_them(acme, people):
    ticket = open_ticket(acme, "A7")  # planner and legal

    decide(ticket, people[Role.PLANNER])
    assert waiting(ticket) == {"legal"}

    decide(ticket, people[Role.LEGAL])
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.APPROVED
    assert waiting(ticket) == set()


def test_a_role_still_waits_while_another_open_slot_accepts_it(acme, people):
    # "operator/admin" then "admin": an admin fills the first slot, and still the second.
    ticket = open_ticket(acme, "A8", run_id="r-1", required_roles=["operator/admin", "admin"])
    assert waiting(ticket) == {"operator", "admin"}

    decide(ticket, people[Role.ADMIN])

    assert waiting(ticket) == {"admin"}
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.OPEN


def _reject(ticket, people):
    decide(ticket, people[Role.LEGAL], verdict="reject", comment="Claims unproven")


def _request_changes(ticket, people):
    decide(ticket, people[Role.PLANNER], verdict="request_changes", comment="Split by region")


def _cancel(ticket, people):
    ticket_cancel(ticket=ticket, actor=SYSTEM, reason="Draft withdrawn")


def _override(ticket, people):
    override = ticket_override(
        ticket=ticket, actor=Actor.for_user(people[Role.ADMIN]), reason="Legal cleared by phone"
    )
    assert waiting(override) == set()  # the A6 record is approved on the spot


@pytest.mark.parametrize(
    ("close", "status"),
    [
        pytest.param(_reject, TicketStatus.REJECTED, id="rejected"),
        pytest.param(_request_changes, TicketStatus.CHANGES_REQUESTED, id="changes-requested"),
        pytest.param(_cancel, TicketStatus.CANCELLED, id="cancelled"),
        pytest.param(_override, TicketStatus.APPROVED, id="overridden"),
    ],
)
def test_a_ticket_that_leaves_open_waits_for_nobody(acme, people, close, status):
    ticket = open_ticket(acme, "A7")
    decide(ticket, people[Role.PLANNER])  # partly approved first
    assert waiting(ticket) == {"legal"}

    close(ticket, people)

    assert Ticket.objects.get(pk=ticket.pk).status == status
    assert not TicketWaitingRole.objects.exists()


def test_a_refused_decision_leaves_the_rows_as_they_were(acme, people):
    ticket = open_ticket(acme, "A7")

    with pytest.raises(TicketNotAllowed):
        decide(ticket, people[Role.OPERATOR])  # an operator fills no A7 slot

    assert waiting(ticket) == {"planner", "legal"}


def _world(acme, globex, people):
    a7 = open_ticket(acme, "A7")
    decide(a7, people[Role.PLANNER])
    open_ticket(acme, "A2")
    open_ticket(acme, "A8", run_id="r-2", required_roles=["operator/admin", "admin"])
    decide(open_ticket(acme, "A1"), people[Role.PLANNER])  # approved: no rows
    open_ticket(globex, "A4")
    open_ticket(globex, "A5", required_roles=["planner", "client"])


def test_the_rebuild_derives_the_rows_the_services_keep(acme, globex, people):
    _world(acme, globex, people)
    kept = all_rows()
    assert len(kept) == 8  # the internal A4 waits for the admin alone

    TicketWaitingRole.objects.all().delete()
    assert ticket_waiting_roles_rebuild() == 8

    assert all_rows() == kept


def test_the_rebuild_of_some_tenants_leaves_the_others_alone(acme, globex, people):
    _world(acme, globex, people)
    kept = all_rows()
    TicketWaitingRole.objects.filter(tenant=globex).delete()

    ticket_waiting_roles_rebuild(tenant_ids=[globex.pk])

    assert all_rows() == kept


def test_the_data_migration_fills_the_rows_of_existing_open_tickets(acme, globex, people):
    _world(acme, globex, people)
    kept = all_rows()
    TicketWaitingRole.objects.all().delete()
    migration = importlib.import_module("approvals.migrations.0006_ticket_waiting_role")
    # 0009: a ticket the client can't see never waits for the client.
    correction = importlib.import_module(
        "approvals.migrations.0009_internal_tickets_never_wait_for_the_client"
    )

    migration.fill_waiting_roles(django_apps, None)
    correction.drop_client_rows_of_internal_tickets(django_apps, None)

    assert all_rows() == kept


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_two_approvals_of_an_a7_given_at_once_leave_no_row(acme, make_member):
    from django.db import connection

    planner = make_member("pia", acme, Role.PLANNER)
    legal = make_member("lea", acme, Role.LEGAL)
    ticket = ticket_open(tenant=acme, type="A7", actor=SYSTEM, title="Claims check")
    barrier = threading.Barrier(2)

    def approve(user):
        try:
            barrier.wait()
            decide(ticket, user)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(user,)) for user in (planner, legal)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.APPROVED
    assert not TicketWaitingRole.objects.exists()
