"""The SLA sweep: overdue open tickets are marked, escalated once per breach and mailed."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django_q.models import Schedule

from approvals import tasks
from approvals.models import Ticket
from approvals.services import ticket_cancel
from approvals.sweep import ticket_sla_sweep
from audit.models import AuditEvent
from audit.verify import audit_chains_verify
from tenants.models import Role
from tests.approvals.factories import SYSTEM, open_ticket

BERLIN = ZoneInfo("Europe/Berlin")
OPENED = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)  # Monday; approval SLA 2 days → Wed 10:00
AFTER_DUE = datetime(2026, 11, 25, 10, 1, tzinfo=BERLIN)


@pytest.fixture
def acme_admin(acme, make_member):
    return make_member("adam", acme, Role.ADMIN, email="adam@acme.test")


def open_at(when, tenant, type_id="A1", **kwargs):
    with time_machine.travel(when, tick=False):
        return open_ticket(tenant, type_id, **kwargs)


def sweep_at(when, capture):
    with time_machine.travel(when, tick=False), capture(execute=True):
        return ticket_sla_sweep()


def test_an_overdue_ticket_is_marked_escalated_and_mailed_once(
    acme, acme_admin, django_capture_on_commit_callbacks
):
    ticket = open_at(OPENED, acme, title="Approve v7 for always_on", plan_version=7)
    assert ticket.sla_due_at == datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)

    first = sweep_at(AFTER_DUE, django_capture_on_commit_callbacks)
    second = sweep_at(AFTER_DUE + timedelta(minutes=5), django_capture_on_commit_callbacks)

    assert (first.escalated, first.mails, second.escalated, second.mails) == (1, 1, 0, 0)
    ticket.refresh_from_db()
    assert ticket.escalation_level == 1
    assert ticket.overdue_at == AFTER_DUE
    assert ticket.escalated_at == AFTER_DUE
    assert ticket.escalated_for_due_at == ticket.sla_due_at
    assert ticket.status == "open"
    events = AuditEvent.objects.filter(action="ticket.escalated")
    assert [(e.resource_id, e.plan_version, e.actor_id) for e in events] == [
        (ticket.public_id, 7, "sweep_sla")
    ]
    assert events[0].data["escalated_to"] == "admin"
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["adam@acme.test"]
    assert "1 overdue ticket(s) escalated" in message.subject
    assert ticket.public_id in message.body
    assert "Wed 25 Nov 2026 10:00 CET" in message.body  # due time in the tenant's zone
    assert audit_chains_verify().ok


def test_tickets_not_yet_due_or_closed_are_left_alone(
    acme, acme_admin, django_capture_on_commit_callbacks
):
    due_later = open_at(OPENED + timedelta(days=1), acme)
    closed = open_at(OPENED, acme)
    ticket_cancel(ticket=closed, actor=SYSTEM, reason="withdrawn")

    result = sweep_at(AFTER_DUE, django_capture_on_commit_callbacks)

    assert result.escalated == 0
    assert set(Ticket.objects.values_list("escalation_level", flat=True)) == {0}
    assert due_later.pk and not mail.outbox


def test_one_mail_per_tenant_lists_all_its_escalations(
    acme, globex, acme_admin, make_member, django_capture_on_commit_callbacks
):
    make_member("gina", globex, Role.ADMIN, email="gina@globex.test")
    make_member("nomail", acme, Role.ADMIN)  # no address: not mailed
    ours = [open_at(OPENED, acme, title=f"Ticket {n}") for n in range(3)]
    theirs = open_at(OPENED, globex)

    result = sweep_at(AFTER_DUE + timedelta(days=1), django_capture_on_commit_callbacks)

    assert (result.escalated, result.tenants, result.mails) == (4, 2, 2)
    by_recipient = {tuple(m.to): m for m in mail.outbox}
    assert set(by_recipient) == {("adam@acme.test",), ("gina@globex.test",)}
    assert all(t.public_id in by_recipient[("adam@acme.test",)].body for t in ours)
    assert theirs.public_id in by_recipient[("gina@globex.test",)].body
    assert AuditEvent.objects.filter(action="ticket.escalated").count() == 4
    assert audit_chains_verify().ok


def test_a_tenant_without_admins_is_escalated_but_not_mailed(
    acme, django_capture_on_commit_callbacks
):
    open_at(OPENED, acme)
    result = sweep_at(AFTER_DUE, django_capture_on_commit_callbacks)
    assert (result.escalated, result.mails) == (1, 0)
    assert not mail.outbox


def test_the_command_prints_counts(acme, acme_admin):
    open_at(OPENED, acme)
    out = StringIO()
    with time_machine.travel(AFTER_DUE, tick=False):
        call_command("sweep_sla", stdout=out)
    assert out.getvalue().splitlines() == ["escalated: 1", "tenants: 1", "mails: 1"]


def test_the_schedule_runs_the_sweep_every_five_minutes(acme):
    # The app's other schedule (approvals.ticket_rollups) is tested with the rollups.
    sweeps = [entry for entry in tasks.SCHEDULES if entry["func"] == "approvals.tasks.sweep_sla"]
    assert sweeps == [
        {
            "name": "approvals.sweep_sla",
            "func": "approvals.tasks.sweep_sla",
            "schedule_type": Schedule.MINUTES,
            "minutes": 5,
        }
    ]
    call_command("setup_schedules", stdout=StringIO())
    call_command("setup_schedules", stdout=StringIO())
    assert Schedule.objects.filter(func="approvals.tasks.sweep_sla").count() == 1


def test_the_task_calls_the_sweep(acme):
    ticket = open_at(OPENED, acme)
    with time_machine.travel(AFTER_DUE, tick=False):
        assert tasks.sweep_sla() == "escalated 1 ticket(s) in 1 tenant(s)"
    ticket.refresh_from_db()
    assert ticket.escalation_level == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_sweeps_escalate_each_ticket_once(acme, globex, make_member):
    from django.db import connection

    make_member("adam", acme, Role.ADMIN, email="adam@acme.test")
    tickets = [open_at(OPENED, tenant) for tenant in (acme, globex) for _ in range(30)]
    barrier = threading.Barrier(3)
    results = []

    def sweep():
        try:
            barrier.wait()
            with time_machine.travel(AFTER_DUE + timedelta(days=2), tick=False):
                results.append(ticket_sla_sweep().escalated)
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(results) == len(tickets)
    assert set(Ticket.objects.values_list("escalation_level", flat=True)) == {1}
    assert AuditEvent.objects.filter(action="ticket.escalated").count() == len(tickets)
    assert audit_chains_verify().ok


def test_one_failing_tenant_does_not_stop_the_others(
    acme, globex, acme_admin, monkeypatch, django_capture_on_commit_callbacks
):
    from django.db import DatabaseError

    from approvals import sweep

    real_append = sweep.audit_events_append_many

    def append_failing_for_acme(*, tenant, **kwargs):
        if tenant == acme.pk:
            raise DatabaseError("chain head unavailable")
        return real_append(tenant=tenant, **kwargs)

    monkeypatch.setattr(sweep, "audit_events_append_many", append_failing_for_acme)
    ours = open_at(OPENED, acme)
    theirs = open_at(OPENED, globex)

    result = sweep_at(AFTER_DUE + timedelta(days=1), django_capture_on_commit_callbacks)

    assert (result.escalated, result.failed_tenants) == (1, 1)
    assert Ticket.objects.get(pk=ours.pk).escalation_level == 0  # rolled back, retried later
    assert Ticket.objects.get(pk=theirs.pk).escalation_level == 1
    assert not mail.outbox  # acme's admin is not mailed for a sweep that did not commit


def test_a_new_due_time_is_a_new_breach(acme, acme_admin, django_capture_on_commit_callbacks):
    ticket = open_at(OPENED, acme)
    sweep_at(AFTER_DUE, django_capture_on_commit_callbacks)
    # The due time moves (e.g. the SLA was restarted); missing it again is a second breach.
    new_due = AFTER_DUE + timedelta(days=1)
    Ticket.objects.filter(pk=ticket.pk).update(sla_due_at=new_due)
    sweep_at(new_due - timedelta(minutes=1), django_capture_on_commit_callbacks)
    assert Ticket.objects.get(pk=ticket.pk).escalation_level == 1
    sweep_at(new_due + timedelta(minutes=1), django_capture_on_commit_callbacks)
    ticket.refresh_from_db()
    assert (ticket.escalation_level, ticket.escalated_for_due_at) == (2, new_due)
    assert ticket.overdue_at == AFTER_DUE  # first seen overdue then
    assert AuditEvent.objects.filter(action="ticket.escalated").count() == 2
    assert len(mail.outbox) == 2


def test_a_long_escalation_mail_lists_fifty_and_counts_the_rest(
    acme, acme_admin, django_capture_on_commit_callbacks
):
    tickets = [open_at(OPENED, acme, title=f"Ticket {n:02}") for n in range(53)]
    result = sweep_at(AFTER_DUE, django_capture_on_commit_callbacks)
    assert (result.escalated, result.mails) == (53, 1)
    body = mail.outbox[0].body
    assert body.count("(due ") == 50
    assert "… and 3 more in the dashboard." in body
    assert tickets[0].public_id in body
