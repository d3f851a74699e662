"""Bulk decisions (issue 19.6): each ticket decided alone by ticket_decide, with its own checks,
lock and audit event; what was refused is listed with why; red flags never in bulk."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.urls import reverse

from approvals.bulk import BulkRefused, tickets_decide_bulk
from approvals.fingerprint import ticket_shown_hash
from approvals.models import Ticket, TicketDecision, TicketStatus
from approvals.services import ticket_decide
from approvals.types import Verdict
from audit.actors import Actor
from audit.models import AuditEvent
from tenants.models import Role


@pytest.fixture
def operators(acme, make_member):
    return make_member("paul", acme, Role.OPERATOR), make_member("pia", acme, Role.OPERATOR)


def _shown(tickets):
    return {t.public_id: ticket_shown_hash(t) for t in tickets}


def test_allowed_and_refused_tickets_mixed_each_decided_or_refused_with_why(
    acme, operators, make_ticket
):
    paul, pia = operators
    ok = [make_ticket(acme, "A3", title=f"ok {n}") for n in range(3)]
    own = make_ticket(acme, "A3", title="paul asked", actor=Actor.for_user(paul))
    gone = make_ticket(acme, "A3", title="decided already")
    ticket_decide(ticket=gone, actor=Actor.for_user(pia), verdict=Verdict.APPROVE)
    stale = make_ticket(acme, "A3", title="changed")
    tickets = [*ok, own, gone, stale]
    shown = {**_shown(tickets), stale.public_id: "not-what-it-is-now"}

    outcomes = tickets_decide_bulk(
        tickets=tickets,
        actor=Actor.for_user(paul),
        verdict=Verdict.APPROVE,
        comment="Within the Q4 envelope.",
        shown=shown,
    )

    result = {o.public_id: (o.done, o.why) for o in outcomes}
    assert [result[t.public_id][0] for t in ok] == [True, True, True]
    assert result[own.public_id][0] is False
    assert "You asked for" in result[own.public_id][1]
    assert "already approved" in result[gone.public_id][1]
    assert "changed since you saw it" in result[stale.public_id][1]
    for ticket in ok:
        decision = TicketDecision.objects.get(ticket=ticket)
        assert (decision.user, decision.comment) == (paul, "Within the Q4 envelope.")
    decided = AuditEvent.objects.filter(action="ticket.decided", actor_label="paul")
    assert sorted(decided.values_list("resource_id", flat=True)) == sorted(t.public_id for t in ok)
    assert Ticket.objects.get(pk=own.pk).status == TicketStatus.OPEN
    assert Ticket.objects.get(pk=stale.pk).status == TicketStatus.OPEN


def test_red_flags_are_never_cleared_in_bulk(acme, operators, make_ticket):
    flags = [make_ticket(acme, "A8", run_id=f"run-{n}") for n in range(2)]

    with pytest.raises(BulkRefused, match="never cleared in bulk"):
        tickets_decide_bulk(
            tickets=flags, actor=Actor.for_user(operators[0]), verdict=Verdict.APPROVE
        )
    assert not TicketDecision.objects.exists()


def test_one_type_at_a_time_and_a_rejection_needs_its_reason(acme, operators, make_ticket):
    actor = Actor.for_user(operators[0])
    with pytest.raises(BulkRefused, match="one type at a time"):
        tickets_decide_bulk(
            tickets=[make_ticket(acme, "A3"), make_ticket(acme, "A2")],
            actor=actor,
            verdict=Verdict.APPROVE,
        )
    with pytest.raises(BulkRefused, match="Say why you reject them"):
        tickets_decide_bulk(tickets=[make_ticket(acme, "A3")], actor=actor, verdict="reject")
    assert not TicketDecision.objects.exists()


def test_reject_in_bulk_gives_each_ticket_the_one_reason(acme, operators, make_ticket):
    tickets = [make_ticket(acme, "A3") for _ in range(3)]

    tickets_decide_bulk(
        tickets=tickets,
        actor=Actor.for_user(operators[0]),
        verdict=Verdict.REJECT,
        comment="Budget frozen until January.",
        shown=_shown(tickets),
    )

    assert set(Ticket.objects.values_list("status", flat=True)) == {TicketStatus.REJECTED}
    assert set(TicketDecision.objects.values_list("comment", flat=True)) == {
        "Budget frozen until January."
    }


def test_the_inbox_selection_goes_through_a_confirmation_to_a_result_page(
    client, acme, operators, make_ticket
):
    paul, _pia = operators
    tickets = [make_ticket(acme, "A3", title=f"Breach {n}") for n in range(5)]
    own = make_ticket(acme, "A3", title="mine", actor=Actor.for_user(paul))
    client.force_login(paul)

    inbox = client.get(reverse("dashboard") + "?type=A3").content.decode()
    assert f'name="t" value="{tickets[0].public_id}"' in inbox
    assert "All 6 matching this filter" in inbox
    confirm = client.post(
        reverse("bulk_confirm"),
        {"verdict": "approve", "all": "1", "query": "type=A3&status=open"},
    ).content.decode()
    assert "Approve 6 A3 tickets" in confirm
    assert confirm.count('data-testid="bulk-row"') == 6

    data = {"verdict": "approve", "comment": "Fine for the sale.", "t": [], **{}}
    for ticket in [*tickets, own]:
        data["t"].append(ticket.public_id)
        data[f"h_{ticket.public_id}"] = ticket_shown_hash(ticket)
    result = client.post(reverse("bulk_decide"), data).content.decode()

    assert "Approve: 5 done, 1 refused" in result
    assert "You asked for" in result
    assert Ticket.objects.filter(status=TicketStatus.APPROVED).count() == 5


def test_a_selection_of_another_tenants_tickets_decides_nothing(
    client, acme, globex, operators, make_ticket
):
    theirs = make_ticket(globex, "A3")
    client.force_login(operators[0])

    client.post(
        reverse("bulk_decide"),
        {"verdict": "approve", "t": [theirs.public_id], f"h_{theirs.public_id}": "x"},
    )

    assert not TicketDecision.objects.exists()


@pytest.mark.parametrize("url", ["bulk_confirm", "bulk_decide"])
@pytest.mark.parametrize("data", [{}, {"verdict": "approve", "comment": "ok"}])
def test_a_client_is_refused_bulk_decisions_before_anything_is_read(
    client, acme, make_member, make_ticket, url, data
):
    ticket = make_ticket(acme, "A3")
    client.force_login(make_member("carla", acme, Role.CLIENT))
    sent = {**data, "t": [ticket.public_id], f"h_{ticket.public_id}": ticket_shown_hash(ticket)}
    for body in (data, sent):
        assert client.post(reverse(url), body).status_code == 404
    assert not TicketDecision.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_people_bulk_approving_overlapping_selections_at_once_decide_each_ticket_once(
    acme, make_member
):
    from tests.approvals.factories import open_ticket

    paul = make_member("paul", acme, Role.OPERATOR)
    pia = make_member("pia", acme, Role.OPERATOR)
    tickets = [open_ticket(acme, "A3", title=f"t{n}") for n in range(30)]
    selections = {paul: tickets[:20], pia: tickets[10:]}
    start = threading.Barrier(2)
    results = {}

    def run(person):
        start.wait()
        try:
            results[person.username] = tickets_decide_bulk(
                tickets=selections[person],
                actor=Actor.for_user(person),
                verdict=Verdict.APPROVE,
                shown=_shown(selections[person]),
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(p,)) for p in (paul, pia)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert TicketDecision.objects.count() == 30
    for ticket in tickets:
        assert TicketDecision.objects.filter(ticket=ticket).count() == 1
    assert AuditEvent.objects.filter(action="ticket.decided").count() == 30
    done = sum(o.done for outcomes in results.values() for o in outcomes)
    refused = [o for outcomes in results.values() for o in outcomes if not o.done]
    assert done == 30 and len(refused) == 10
    assert all("already approved" in o.why for o in refused)
