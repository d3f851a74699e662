"""Follow and mute (red flags never muted), named responders and stand-ins (issue 19.2, 19.3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals.assignment import AssignmentRefused, ticket_assign, ticket_responder
from approvals.models import Ticket
from approvals.services import ticket_decide
from approvals.types import Verdict
from audit.actors import Actor
from audit.models import AuditEvent
from notifications.models import Notification
from notifications.services import watch_set
from tenants.away import AwayInvalid, membership_away_set
from tenants.models import Membership
from tests.notifications.conftest import told


def _watch(team, name, acme, target_type, target_id, mode):
    return watch_set(
        user=team[name],
        tenant=acme,
        actor=Actor.for_user(team[name]),
        target_type=target_type,
        target_id=target_id,
        mode=mode,
    )


def test_a_muted_ticket_tells_nothing_more(acme, team, make_ticket, time_machine):
    from approvals.sweep import ticket_sla_sweep

    ticket = make_ticket(acme, "A3")
    told()
    _watch(team, "paul", acme, "ticket", ticket.public_id, "mute")
    Notification.objects.all().delete()
    time_machine.move_to(ticket.sla_due_at + timedelta(hours=1))

    ticket_sla_sweep()

    assert told() == {"pia": "sla"}


def test_muting_a_run_never_hides_its_red_flag(acme, team, make_ticket):
    _watch(team, "paul", acme, "run", "run-9", "mute")

    make_ticket(acme, "A8", run_id="run-9")

    assert told()["paul"] == "red_flag"


def test_following_a_track_tells_of_a_new_ticket_on_it(acme, acme_v1, team, make_ticket):
    _watch(team, "lena", acme, "track", "always_on", "follow")

    make_ticket(acme, "A3", plan_version=acme_v1.number)

    assert told()["lena"] == "followed"


def test_muting_a_track_silences_its_tickets(acme, acme_v1, team, make_ticket):
    _watch(team, "pia", acme, "track", "always_on", "mute")

    make_ticket(acme, "A3", plan_version=acme_v1.number)

    assert told() == {"paul": "waiting"}


def test_follow_and_mute_are_audited_and_forgotten_on_request(acme, team):
    _watch(team, "pia", acme, "run", "run-1", "follow")
    _watch(team, "pia", acme, "run", "run-1", "mute")
    _watch(team, "pia", acme, "run", "run-1", None)

    changes = [
        (e.data["from"], e.data["to"])
        for e in AuditEvent.objects.filter(action="watch.set").order_by("seq")
    ]
    assert changes == [(None, "follow"), ("follow", "mute"), ("mute", None)]


# --- Named responders and stand-ins ---------------------------------------------------------------
def _away(team, acme, name, stand_in, days=2):
    membership = Membership.objects.get(user=team[name], tenant=acme)
    today = acme.today()
    return membership_away_set(
        membership=membership,
        actor=Actor.for_user(team[name]),
        away_from=today - timedelta(days=1),
        away_until=today + timedelta(days=days),
        stand_in=team[stand_in] if stand_in else None,
    )


def test_an_assignee_is_told_and_shown(acme, team, make_ticket, client):
    ticket = make_ticket(acme, "A3")
    told()
    Notification.objects.all().delete()

    ticket_assign(ticket=ticket, actor=Actor.for_user(team["olga"]), assignee=team["paul"])

    assert told() == {"paul": "waiting"}
    assert Notification.objects.get().title.startswith(f"{ticket.public_id} is assigned to you")
    client.force_login(team["pia"])
    page = client.get(f"/tickets/{ticket.public_id}/").content.decode()
    assert "Assigned to <strong>paul</strong>" in page


def test_only_someone_holding_a_role_it_waits_for_can_be_assigned(acme, team, make_ticket):
    ticket = make_ticket(acme, "A3")

    with pytest.raises(AssignmentRefused, match="lena holds no role"):
        ticket_assign(ticket=ticket, actor=Actor.for_user(team["olga"]), assignee=team["lena"])
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


def test_a_stand_in_holds_the_same_role(acme, team):
    with pytest.raises(AwayInvalid, match="alice is not a operator"):
        _away(team, acme, "paul", "alice")
    with pytest.raises(AwayInvalid, match="Name a stand-in"):
        _away(team, acme, "paul", None)


def test_while_away_assignments_and_notifications_go_to_the_stand_in(acme, team, make_ticket):
    ticket = make_ticket(acme, "A3")
    told()
    Notification.objects.all().delete()
    _away(team, acme, "paul", "pia")
    due = Ticket.objects.get(pk=ticket.pk).sla_due_at

    ticket_assign(ticket=ticket, actor=Actor.for_user(team["olga"]), assignee=team["paul"])

    assert told() == {"pia": "waiting"}
    note = Notification.objects.get()
    assert note.for_user == team["paul"]
    responder = ticket_responder(Ticket.objects.get(pk=ticket.pk))
    assert responder.label == "pia for paul"
    assert Ticket.objects.get(pk=ticket.pk).sla_due_at == due  # the clock did not restart


def test_what_the_stand_in_decides_reads_pia_for_paul_in_the_audit(acme, team, make_ticket):
    ticket = make_ticket(acme, "A3")
    ticket_assign(ticket=ticket, actor=Actor.for_user(team["olga"]), assignee=team["paul"])
    _away(team, acme, "paul", "pia")

    ticket_decide(ticket=ticket, actor=Actor.for_user(team["pia"]), verdict=Verdict.APPROVE)

    decided = AuditEvent.objects.get(action="ticket.decided")
    assert decided.actor_label == "pia for paul"
    assert decided.actor_id == str(team["pia"].pk)
    assert AuditEvent.objects.get(action="membership.away_set").data["stand_in"] == "pia"


def test_after_the_away_days_paul_answers_again(acme, team, make_ticket, time_machine):
    ticket = make_ticket(acme, "A3")
    ticket_assign(ticket=ticket, actor=Actor.for_user(team["olga"]), assignee=team["paul"])
    _away(team, acme, "paul", "pia", days=1)
    time_machine.move_to(timezone.now() + timedelta(days=3))

    assert ticket_responder(Ticket.objects.get(pk=ticket.pk)).label == "paul"
