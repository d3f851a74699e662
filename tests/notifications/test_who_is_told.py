"""Who is told when a ticket starts waiting, by type and policy (issue 19.1)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from approvals.services import ticket_decide
from approvals.types import Verdict
from audit.actors import Actor
from notifications.models import Notification
from tenants.services import tenant_policy_update
from tests.conftest import TEST_ACTOR
from tests.notifications.conftest import told

PLANNERS = {"alice", "peter"}
OPERATORS = {"paul", "pia"}


@pytest.mark.parametrize(
    ("type_id", "extra", "waiting"),
    [
        ("A1", {}, PLANNERS),
        ("A2", {}, PLANNERS | OPERATORS),
        ("A3", {}, OPERATORS),
        ("A4", {"client_visible": False}, {"olga"}),
        ("A5", {}, PLANNERS),
        ("A7", {}, PLANNERS | {"lena"}),
    ],
)
def test_a_ticket_that_starts_waiting_tells_the_people_holding_its_roles(
    acme, team, make_ticket, type_id, extra, waiting
):
    make_ticket(acme, type_id, **extra)

    assert told() == dict.fromkeys(sorted(waiting), "waiting")


def test_a_client_slot_tells_the_client_in_the_portals_words(acme, team, make_ticket):
    ticket = make_ticket(
        acme,
        "A3",
        required_roles=["operator", "client"],
        diff={"summary": ["Search budget up 12% (€40,000 → €44,800) from 1 Dec"]},
    )

    assert told() == {"paul": "waiting", "pia": "waiting", "carol": "client_waiting"}
    carol = Notification.objects.get(user=team["carol"])
    assert carol.url == f"/portal/items/{ticket.public_id}/"
    assert "Search budget up 12%" in carol.body


def test_a_client_visible_access_request_waits_for_admins_and_the_client(acme, team, make_ticket):
    make_ticket(acme, "A4", client_visible=True)

    assert told() == {"olga": "waiting", "carol": "client_waiting"}


@pytest.mark.parametrize("type_id", ["A8", "A9"])
def test_a_red_flag_tells_every_operator_and_admin_and_nobody_else(
    acme, team, make_ticket, type_id
):
    make_ticket(acme, type_id, run_id="run-7")

    assert told() == {"olga": "red_flag", "paul": "red_flag", "pia": "red_flag"}
    assert "Run run-7 is blocked" in Notification.objects.filter(user=team["paul"]).get().body


def test_four_eyes_the_person_who_asked_is_not_told_it_waits_for_them(acme, team, make_ticket):
    make_ticket(acme, "A1", actor=Actor.for_user(team["alice"]))

    assert told() == {"peter": "waiting"}


@pytest.mark.parametrize(("separation", "waiting"), [(True, {"peter"}), (False, PLANNERS)])
def test_the_author_of_the_subject_is_told_only_when_they_may_approve_it(
    acme, team, make_ticket, monkeypatch, separation, waiting
):
    from approvals import subjects
    from tests.approvals.factories import stand_in_subject

    stand_in_subject(monkeypatch, "widget", lambda *args: None)
    monkeypatch.setattr(
        subjects._subjects["widget"], "authors", lambda ticket: {team["alice"].pk: "you drafted"}
    )
    tenant_policy_update(
        tenant=acme, actor=TEST_ACTOR, changes={"separation_of_duties": separation}
    )
    make_ticket(acme, "A1", subject_type="widget", subject_id="w-1")

    assert told() == dict.fromkeys(sorted(waiting), "waiting")


def test_the_person_who_asked_hears_the_decision_and_the_decider_hears_nothing(
    acme, team, make_ticket
):
    ticket = make_ticket(acme, "A1", actor=Actor.for_user(team["alice"]))
    told()
    Notification.objects.all().delete()

    ticket_decide(
        ticket=ticket,
        actor=Actor.for_user(team["peter"]),
        verdict=Verdict.REJECT,
        comment="Wrong geo.",
    )

    assert told() == {"alice": "decided"}
    note = Notification.objects.get(user=team["alice"])
    assert note.title.startswith(f"{ticket.public_id} was rejected by peter")
    assert note.body == "Wrong geo."


def test_a_partial_approval_tells_the_asker_what_it_still_waits_for(acme, team, make_ticket):
    ticket = make_ticket(acme, "A7", actor=Actor.for_user(team["peter"]))  # planner and legal
    told()
    Notification.objects.all().delete()

    ticket_decide(ticket=ticket, actor=Actor.for_user(team["alice"]), verdict=Verdict.APPROVE)

    assert told() == {"peter": "decided"}
    assert Notification.objects.get().body == "It still waits for legal."


def test_a_ticket_decided_before_the_fan_out_tells_nobody_it_waits(acme, team, make_ticket):
    ticket = make_ticket(acme, "A3")
    ticket_decide(ticket=ticket, actor=Actor.for_user(team["paul"]), verdict=Verdict.APPROVE)

    assert told() == {}


def test_another_tenant_hears_nothing(acme, globex, team, make_member, make_ticket):
    make_member("gus", globex, "operator", email="gus@globex.test")
    make_ticket(acme, "A3")

    assert "gus" not in told()


def test_a_qc_alert_tells_operators_and_admins(acme, team):
    from approvals.events import LifecycleEvent, LifecycleKind, lifecycle_emit

    lifecycle_emit(
        [
            LifecycleEvent(
                kind=LifecycleKind.QC_ALERT_OPENED,
                tenant_id=acme.pk,
                data={"main_task_id": "t1", "success_rate": "0.7", "sample": 25, "floor": "0.8"},
            )
        ]
    )

    assert told() == {"olga": "qc_alert", "paul": "qc_alert", "pia": "qc_alert"}


def test_an_overdue_ticket_tells_the_people_it_waits_for(acme, team, make_ticket, time_machine):
    from approvals.sweep import ticket_sla_sweep

    ticket = make_ticket(acme, "A3")
    told()
    Notification.objects.all().delete()
    time_machine.move_to(ticket.sla_due_at + timedelta(hours=1))

    ticket_sla_sweep()

    assert told() == {"paul": "sla", "pia": "sla"}
    assert Notification.objects.filter(title__contains="is overdue").count() == 2


def test_fanning_an_event_out_twice_tells_nobody_twice(acme, team, make_ticket):
    from notifications.fanout import fan_out
    from notifications.models import OutboxEvent

    make_ticket(acme, "A3")
    told()
    fan_out(OutboxEvent.objects.get())

    assert Notification.objects.count() == 2


def test_a_ticket_turning_amber_tells_the_people_it_waits_for_once(
    acme, team, make_ticket, time_machine
):
    from notifications.services import sla_warnings_scan

    ticket = make_ticket(acme, "A3")
    told()
    Notification.objects.all().delete()
    time_machine.move_to(ticket.sla_due_at - timedelta(hours=2))

    sla_warnings_scan()
    sla_warnings_scan()  # once per due time

    assert told() == {"paul": "sla", "pia": "sla"}
    assert Notification.objects.count() == 2
    assert Notification.objects.first().title.startswith(f"{ticket.public_id} is due soon")
