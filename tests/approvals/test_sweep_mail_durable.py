"""An SLA escalation mail is durable (issue 20 item 6): it is a row written in the sweep's
transaction, so a send that never happened — the worker died between the commit and the send,
the mail server refused — is done by the next sweep, once, with the Message-ID stored on the row;
two sweeps sending at once send each mail once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection
from django.utils import timezone

from approvals.models import EscalationMail
from approvals.sweep import ticket_sla_sweep
from audit.models import AuditEvent
from tenants.models import Role
from tests.approvals.factories import open_ticket


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("the mail server is down")


class SlowBackend(BaseEmailBackend):
    """Takes its time, as an SMTP server does, so two senders overlap."""

    def send_messages(self, email_messages):
        time.sleep(0.05)
        mail.outbox.extend(email_messages)
        return len(email_messages)


@pytest.fixture
def overdue(acme, make_member):
    make_member("adam", acme, Role.ADMIN, email="adam@acme.test")
    with time_machine.travel(timezone.now() - timedelta(days=10), tick=False):
        return open_ticket(acme, "A1", title="Approve v7 for always_on")


def sweep(capture, *, send=True):
    with capture(execute=send):
        return ticket_sla_sweep()


def test_a_mail_the_server_refused_is_sent_once_by_the_next_sweep(
    overdue, settings, caplog, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    first = sweep(django_capture_on_commit_callbacks)
    assert (first.escalated, first.mails) == (1, 1)
    assert "the mail server is down" in caplog.text
    row = EscalationMail.objects.get()
    assert row.sent_at is None and row.recipients == ["adam@acme.test"]

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    second = sweep(django_capture_on_commit_callbacks)
    third = sweep(django_capture_on_commit_callbacks)

    assert (second.escalated, second.mails, third.mails) == (0, 0, 0)
    assert [message.subject for message in mail.outbox] == [row.subject]
    assert overdue.public_id in mail.outbox[0].body
    assert EscalationMail.objects.get().sent_at is not None
    # Sending is not a change of the domain: the sweeps' trail holds the escalation only.
    by_sweep = AuditEvent.objects.filter(actor_id="sweep_sla").values_list("action", flat=True)
    assert list(by_sweep) == ["ticket.escalated"]


def test_a_crash_between_commit_and_send_leaves_a_row_the_next_sweep_sends(
    overdue, django_capture_on_commit_callbacks
):
    first = sweep(django_capture_on_commit_callbacks, send=False)  # the worker died here
    assert first.mails == 1 and not mail.outbox
    row = EscalationMail.objects.get(sent_at__isnull=True)

    sweep(django_capture_on_commit_callbacks)
    sweep(django_capture_on_commit_callbacks)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == row.subject
    assert mail.outbox[0].to == ["adam@acme.test"]
    assert not EscalationMail.objects.filter(sent_at__isnull=True).exists()


def test_the_message_id_is_the_one_stored_on_the_row(overdue, django_capture_on_commit_callbacks):
    sweep(django_capture_on_commit_callbacks)

    row = EscalationMail.objects.get()
    assert row.message_id.startswith("<") and "escalation" in row.message_id
    assert mail.outbox[0].message()["Message-ID"] == row.message_id


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_send_each_pending_mail_once(acme, globex, settings):
    settings.EMAIL_BACKEND = f"{__name__}.SlowBackend"
    rows = [
        EscalationMail.objects.create(
            tenant=tenant,
            subject=f"mail {n} of {tenant.slug}",
            body="overdue",
            recipients=[f"admin@{tenant.slug}.test"],
            message_id=f"<{n}.{tenant.slug}@human-touch.test>",
        )
        for tenant in (acme, globex)
        for n in range(4)
    ]
    barrier = threading.Barrier(3)

    def run_sweep():
        try:
            barrier.wait()
            ticket_sla_sweep()
        finally:
            connection.close()

    threads = [threading.Thread(target=run_sweep) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    sent_ids = sorted(message.extra_headers["Message-ID"] for message in mail.outbox)
    assert sent_ids == sorted(row.message_id for row in rows)
    assert not EscalationMail.objects.filter(sent_at__isnull=True).exists()
