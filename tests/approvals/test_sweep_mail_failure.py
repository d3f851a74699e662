"""A mail server that fails does not fail the SLA sweep that escalated: the escalation stays
committed and audited, the failure is logged (found running the sweep in a real cluster)."""

from datetime import timedelta

import pytest
import time_machine
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone

from approvals.sweep import ticket_sla_sweep
from audit.models import AuditEvent
from tenants.models import Role
from tests.approvals.factories import open_ticket


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("the mail server is down")


@pytest.mark.django_db(transaction=True)
def test_a_failing_mail_server_leaves_the_escalation_done(acme, make_member, settings, caplog):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    make_member("adam", acme, Role.ADMIN, email="adam@acme.test")
    with time_machine.travel(timezone.now() - timedelta(days=10), tick=False):
        ticket = open_ticket(acme, "A1", title="Approve v7 for always_on")

    result = ticket_sla_sweep()

    assert (result.escalated, result.mails) == (1, 1)
    assert AuditEvent.objects.filter(
        action="ticket.escalated", resource_id=ticket.public_id
    ).exists()
    assert "the mail server is down" in caplog.text
