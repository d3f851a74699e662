"""ticket_decide: the approver matrix of seed 003 and the multi-party rules of docs/rules.md."""

from __future__ import annotations

import threading

import pytest

from approvals.models import Ticket, TicketDecision, TicketStatus
from approvals.services import (
    TicketConflict,
    TicketError,
    TicketNotAllowed,
    ticket_decide,
    ticket_open,
)
from audit.actors import Actor
from audit.models import AuditEvent
from audit.verify import audit_chains_verify
from tenants.models import Role
from tests.approvals.factories import SYSTEM, open_ticket, stand_in_subject

ROLES = [Role.PLANNER, Role.OPERATOR, Role.ADMIN, Role.LEGAL, Role.CLIENT]


@pytest.fixture
def people(acme, make_member):
    return {role: make_member(f"acme-{role}", acme, role) for role in ROLES}


@pytest.fixture
def resolved_calls(monkeypatch):
    """Register a handler for subject_type "widget" and record what it is told."""
    calls = []

    def on_resolved(ticket, outcome, actor):
        calls.append((ticket.public_id, outcome, actor.label))

    stand_in_subject(monkeypatch, "widget", on_resolved)
    return calls


def decide(ticket, user, verdict="approve", **kwargs):
    return ticket_decide(ticket=ticket, actor=Actor.for_user(user), verdict=verdict, **kwargs)


# One approval by each role on a fresh ticket of each type (default roles and visibility):
# "approved" when that single approval completes it, "open" when it counts but another role must
# still approve, "refused" when the role may not approve that type.
APPROVER_MATRIX = {
    "A1": {"planner": "approved"},
    "A2": {"operator": "approved", "planner": "approved"},
    "A3": {"operator": "approved"},
    "A4": {"admin": "approved"},  # client only on a client-visible A4, below
    "A5": {"planner": "approved"},
    "A6": {"admin": "approved"},
    "A7": {"planner": "open", "legal": "open"},
    "A8": {"operator": "approved", "admin": "approved"},
    "A9": {"operator": "approved", "admin": "approved"},
}
MATRIX_CASES = [
    pytest.param(type_id, role, outcomes.get(role, "refused"), id=f"{type_id}-{role}")
    for type_id, outcomes in APPROVER_MATRIX.items()
    for role in ROLES
]


@pytest.mark.parametrize(("type_id", "role", "expected"), MATRIX_CASES)
def test_the_approver_matrix_decides_who_may_approve_each_type(
    acme, people, type_id, role, expected
):
    ticket = open_ticket(acme, type_id)
    if expected == "refused":
        with pytest.raises(TicketNotAllowed):
            decide(ticket, people[role])
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.OPEN
        assert not ticket.decisions.exists()
        return
    decide(ticket, people[role])
    ticket.refresh_from_db()
    assert ticket.status == expected
    assert list(ticket.decisions.values_list("role", "verdict")) == [(role, "approve")]


def test_a_client_approves_an_access_request_shown_to_them(acme, people):
    ticket = open_ticket(acme, "A4", client_visible=True, title="Grant BM access to agency")
    decide(ticket, people["client"])
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.APPROVED


def test_compliance_needs_planner_and_legal(acme, people):
    ticket = open_ticket(acme, "A7")
    decide(ticket, people["legal"])
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.OPEN
    decide(ticket, people["planner"])
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.APPROVED
    assert ticket.resolved_by == people["planner"]


BUDGET_UP = ["planner", "client"]


@pytest.mark.parametrize(
    "order",
    [
        pytest.param(["planner", "client"], id="planner-first"),
        pytest.param(["client", "planner"], id="client-first"),
    ],
)
def test_a_budget_increase_needs_planner_and_client_in_any_order(acme, people, order):
    ticket = open_ticket(acme, "A5", required_roles=BUDGET_UP)
    assert ticket.client_visible is True
    decide(ticket, people[order[0]])
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.OPEN
    decide(ticket, people[order[1]])
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.APPROVED


# Multi-party sequences: (type, required_roles, client_visible, steps, final status).
# A step is (role, verdict); the last step ends the ticket.
MULTI_PARTY = [
    pytest.param(
        "A5",
        BUDGET_UP,
        None,
        [("planner", "approve"), ("client", "reject")],
        "rejected",
        id="A5-one-rejection-rejects-after-an-approval",
    ),
    pytest.param(
        "A5",
        BUDGET_UP,
        None,
        [("client", "approve"), ("planner", "request_changes")],
        "changes_requested",
        id="A5-planner-returns-the-draft-after-client-approved",
    ),
    pytest.param(
        "A5",
        None,
        True,
        [("client", "reject")],
        "rejected",
        id="A5-client-rejects-a-proposed-replan-shown-to-them",
    ),
    pytest.param(
        "A7",
        None,
        None,
        [("planner", "approve"), ("admin", "reject")],
        "rejected",
        id="A7-admin-vetoes-compliance",
    ),
    pytest.param(
        "A7",
        None,
        None,
        [("planner", "approve"), ("legal", "reject")],
        "rejected",
        id="A7-legal-rejects-after-the-planner-approved",
    ),
    pytest.param(
        "A7",
        ["planner", "legal", "client"],
        None,
        [("client", "approve"), ("planner", "approve"), ("legal", "reject")],
        "rejected",
        id="A7-legal-vetoes-a-creative-theme-the-client-approved",
    ),
    pytest.param(
        "A7",
        ["planner", "legal", "client"],
        None,
        [("client", "approve"), ("admin", "request_changes")],
        "changes_requested",
        id="A7-admin-returns-a-creative-theme-the-client-approved",
    ),
    pytest.param(
        "A7",
        ["planner", "legal", "client"],
        None,
        [("client", "approve"), ("legal", "approve"), ("planner", "approve")],
        "approved",
        id="A7-all-three-approve",
    ),
    pytest.param(
        "A3",
        ["operator", "client"],
        None,
        [("operator", "approve"), ("client", "approve")],
        "approved",
        id="A3-operator-plus-optional-client",
    ),
]


@pytest.mark.parametrize(("type_id", "roles", "visible", "steps", "final"), MULTI_PARTY)
def test_multi_party_decisions(acme, people, type_id, roles, visible, steps, final):
    ticket = open_ticket(acme, type_id, required_roles=roles, client_visible=visible)
    for index, (role, verdict) in enumerate(steps):
        decide(ticket, people[role], verdict, comment="because")
        status = Ticket.objects.get(pk=ticket.pk).status
        assert status == (final if index == len(steps) - 1 else TicketStatus.OPEN)
    assert ticket.decisions.count() == len(steps)


@pytest.mark.parametrize(
    ("type_id", "roles", "role", "verdict"),
    [
        pytest.param("A7", None, "admin", "approve", id="A7-admin-vetoes-but-does-not-approve"),
        pytest.param("A7", None, "operator", "reject", id="A7-operator-has-no-say"),
        pytest.param("A5", None, "client", "reject", id="A5-client-not-shown-an-internal-replan"),
        pytest.param("A5", BUDGET_UP, "operator", "reject", id="A5-operator-has-no-say"),
        pytest.param("A1", None, "legal", "request_changes", id="A1-legal-has-no-say"),
        pytest.param("A8", None, "planner", "reject", id="A8-only-ops-clear-red-flags"),
    ],
)
def test_a_role_without_a_say_is_refused_and_nothing_is_written(
    acme, people, type_id, roles, role, verdict
):
    ticket = open_ticket(acme, type_id, required_roles=roles)
    events = AuditEvent.objects.count()
    with pytest.raises(TicketNotAllowed):
        decide(ticket, people[role], verdict, comment="no")
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.OPEN
    assert not TicketDecision.objects.exists()
    assert AuditEvent.objects.count() == events


def test_a_person_can_only_act_in_the_role_they_hold(acme, people):
    ticket = open_ticket(acme, "A7")
    with pytest.raises(TicketNotAllowed, match="planner role here and can't act as legal"):
        decide(ticket, people["planner"], role="legal")
    assert not ticket.decisions.exists()


def test_someone_of_another_tenant_is_refused(acme, bob):
    ticket = open_ticket(acme, "A1")
    with pytest.raises(TicketNotAllowed, match="not a member"):
        decide(ticket, bob)
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.OPEN


def test_a_second_approval_in_the_same_role_is_a_clear_error(acme, people, make_member):
    other_planner = make_member("carol", acme, Role.PLANNER)
    ticket = open_ticket(acme, "A7")
    decide(ticket, people["planner"])
    with pytest.raises(TicketConflict, match="planner approval is already given"):
        decide(ticket, other_planner)
    assert ticket.decisions.count() == 1


def test_approving_twice_is_a_no_op(acme, people):
    ticket = open_ticket(acme, "A7")
    decide(ticket, people["planner"])
    decide(ticket, people["planner"])
    assert ticket.decisions.count() == 1
    assert AuditEvent.objects.filter(action="ticket.decided").count() == 1


def test_deciding_a_closed_ticket_is_a_conflict(acme, people, make_member):
    other_operator = make_member("olga", acme, Role.OPERATOR)
    ticket = open_ticket(acme, "A3")
    decide(ticket, people["operator"])
    with pytest.raises(TicketConflict, match="already approved"):
        decide(ticket, other_operator, "reject", comment="too late")
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.APPROVED


def test_an_agent_can_not_decide(acme, people):
    ticket = open_ticket(acme, "A1")
    with pytest.raises(TicketNotAllowed, match="Only a person"):
        ticket_decide(ticket=ticket, actor=SYSTEM, verdict="approve")


def test_an_unknown_verdict_is_refused(acme, people):
    ticket = open_ticket(acme, "A1")
    with pytest.raises(TicketError, match="Unknown verdict"):
        decide(ticket, people["planner"], "maybe")
    assert not ticket.decisions.exists()


def test_a_client_must_give_a_reason_to_reject(acme, people):
    ticket = open_ticket(acme, "A5", required_roles=BUDGET_UP)
    with pytest.raises(TicketError, match="reason"):
        decide(ticket, people["client"], "reject")
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.OPEN


def test_every_decision_is_audited_with_the_ticket_and_plan_version(acme, people):
    ticket = open_ticket(acme, "A5", plan_version=12, required_roles=BUDGET_UP)
    decide(ticket, people["planner"], comment="numbers check out")
    decide(ticket, people["client"])
    events = list(
        AuditEvent.objects.filter(resource_type="ticket", resource_id=ticket.public_id).values_list(
            "action", "actor_label", "plan_version"
        )
    )
    assert events == [
        ("ticket.opened", "tests", 12),
        ("ticket.decided", "acme-planner", 12),
        ("ticket.decided", "acme-client", 12),
        ("ticket.approved", "acme-client", 12),
    ]
    decided = AuditEvent.objects.filter(action="ticket.decided").first()
    assert decided.data == {
        "verdict": "approve",
        "role": "planner",
        "slot": "planner",
        "comment": "numbers check out",
    }


@pytest.mark.parametrize(
    ("verdict", "outcome"),
    [("approve", "approved"), ("reject", "rejected"), ("request_changes", "changes_requested")],
)
def test_the_subject_handler_hears_the_outcome_once(acme, people, resolved_calls, verdict, outcome):
    ticket = open_ticket(acme, "A1", subject_type="widget", subject_id="7")
    decide(ticket, people["planner"], verdict, comment="see notes")
    assert resolved_calls == [(ticket.public_id, outcome, "acme-planner")]


def test_a_partial_approval_does_not_call_the_handler(acme, people, resolved_calls):
    ticket = open_ticket(acme, "A7", subject_type="widget", subject_id="7")
    decide(ticket, people["planner"])
    assert resolved_calls == []


def test_a_failing_handler_rolls_the_decision_back(acme, people, monkeypatch):
    def on_resolved(ticket, outcome, actor):
        assert Ticket.objects.get(pk=ticket.pk).status == outcome  # row already updated
        raise RuntimeError("subject refused")

    stand_in_subject(monkeypatch, "widget", on_resolved)
    ticket = open_ticket(acme, "A1", subject_type="widget", subject_id="7")
    events = AuditEvent.objects.count()
    with pytest.raises(RuntimeError):
        decide(ticket, people["planner"])
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.OPEN
    assert not TicketDecision.objects.exists()
    assert AuditEvent.objects.count() == events


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_people_deciding_at_once_produce_exactly_one_outcome(acme, make_member, resolved_calls):
    from django.db import connection

    planner = make_member("pia", acme, Role.PLANNER)
    other = make_member("paul", acme, Role.PLANNER)
    ticket = ticket_open(
        tenant=acme,
        type="A1",
        actor=SYSTEM,
        title="Approve v3",
        subject_type="widget",
        subject_id="3",
    )
    barrier = threading.Barrier(2)
    results: dict[str, str] = {}

    def act(user, verdict):
        try:
            barrier.wait()
            ticket_decide(ticket=ticket, actor=Actor.for_user(user), verdict=verdict, comment="x")
            results[user.username] = "done"
        except TicketConflict:
            results[user.username] = "conflict"
        finally:
            connection.close()

    threads = [
        threading.Thread(target=act, args=(planner, "approve")),
        threading.Thread(target=act, args=(other, "reject")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results.values()) == ["conflict", "done"]
    winner = next(name for name, result in results.items() if result == "done")
    ticket.refresh_from_db()
    assert ticket.status == ("approved" if winner == "pia" else "rejected")
    assert ticket.decisions.count() == 1
    assert len(resolved_calls) == 1
    assert resolved_calls[0][1] == ticket.status
    trail = list(
        AuditEvent.objects.filter(resource_id=ticket.public_id).values_list("action", flat=True)
    )
    assert trail == ["ticket.opened", "ticket.decided", f"ticket.{ticket.status}"]
    assert audit_chains_verify().ok
