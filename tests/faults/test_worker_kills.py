"""Issue 20 item 6: a django-q2 worker SIGKILLed in the middle of a trigger scan, an SLA sweep, a
reconciliation and a webhook delivery, then the task run again — no duplicate and no missing
ticket, mail or delivery, and the audit chain still verifies. The SLA sweep is also killed after a
tenant's commit before its mail was sent, and after a send before the mail was marked sent.

The task runs in a real process (tests/faults/crash.py) frozen inside a unit of work's open
transaction — before the K-th INSERT into the unit's table, K moving with the round so the kill
lands after 0, 1, 2… committed units — and is killed there with SIGKILL; the task then runs again
to the end. CI runs 2 rounds of each; `make faults` runs 20 (HT_FAULT_ROUNDS)."""

from __future__ import annotations

import email.policy
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from email import message_from_string
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.utils import timezone

from approvals.models import EscalationMail, Ticket
from approvals.tasks import sweep_sla
from audit.models import AuditEvent
from audit.verify import audit_chains_verify
from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.services import webhook_endpoint_create
from integrations.tasks import deliver_due
from integrations.webhooks import LEASE
from notifications.outbox import outbox_process
from optimization.models import Recommendation, Reconciliation
from optimization.services.reconcile import observations_report
from optimization.tasks import reconcile, scan_triggers
from tenants.models import Role
from tests.approvals.factories import open_ticket
from tests.conftest import TEST_ACTOR
from tests.integrations.receiver import start_receiver
from tests.optimization.conftest import NOW

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = range(int(os.environ.get("HT_FAULT_ROUNDS", "2")))
TICKET_INSERT = f'INSERT INTO "{Ticket._meta.db_table}"'
# The sweep appends a tenant's few escalations in one statement that claims the chain head,
# hashes the links and inserts them (audit.services FEW_EVENTS; many go by COPY and a head
# UPDATE): that statement is inside the tenant's transaction, after its tickets' updates.
AUDIT_APPEND_FEW = "WITH RECURSIVE head AS ("
ATTEMPT_INSERT = 'INSERT INTO "integrations_webhookattempt"'

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def database_url() -> str:
    db = connection.settings_dict  # the test database, as the suite's role
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    where = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return f"postgres://{db['USER']}{password}@{where}"


def kill_mid_task(
    task: str, prefix: str, k: int, tmp_path: Path, settings, *, now=None, overrides=None
) -> None:
    """Run `task` in its own process, SIGKILL it before its k-th `prefix` statement."""
    marker = tmp_path / f"frozen-{k}"
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTEST_VERSION", "DATABASE_OWNER_URL", "PYTEST_CURRENT_TEST"}
    }
    env.update(
        DATABASE_URL=database_url(),
        DEBUG="1",
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(tmp_path / "mail"),
        AUDIT_SIGNING_KEY=settings.AUDIT_SIGNING_KEY,
        AUDIT_CHECKPOINT_DIR=settings.AUDIT_CHECKPOINT_DIR,
        AUDIT_CHECKPOINT_ORIGIN=settings.AUDIT_CHECKPOINT_ORIGIN,
        HT_FAULT_SETTINGS=json.dumps(overrides or {}),
        LOG_LEVEL="WARNING",
    )
    if now is not None:
        env["HT_FAULT_NOW"] = now.isoformat()
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.crash", task, prefix, str(k), str(marker)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        if worker.poll() is not None:
            pytest.fail(f"{task} ended before the kill point: {worker.communicate()}")
        if time.monotonic() > deadline:
            worker.kill()
            pytest.fail(f"{task} never reached the kill point")
        time.sleep(0.05)
    os.kill(worker.pid, signal.SIGKILL)
    assert worker.wait(timeout=30) == -signal.SIGKILL
    dead_transaction_ended()


def dead_transaction_ended(timeout: float = 30) -> None:
    """Wait until PostgreSQL has noticed the dead worker and rolled its transaction back. Until
    then its rows stay locked, and a scan that claims with SKIP LOCKED (the SLA sweep) leaves them
    to its next run (5 minutes later in the cluster): the rerun here stands for that later run."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%%'"
            )
            if cursor.fetchone()[0] == 0:
                return
            time.sleep(0.05)
    pytest.fail("the killed worker's transaction was still open")


def mailed(tmp_path: Path) -> list[tuple[str, str]]:
    """Every (subject, Message-ID) sent: by the killed worker (files) and by the rerun (here)."""
    folder = tmp_path / "mail"
    texts = [p.read_text() for p in folder.iterdir()] if folder.exists() else []
    chunks = [chunk for text in texts for chunk in text.split("-" * 79) if chunk.strip()]
    parsed = [message_from_string(c.lstrip(), policy=email.policy.default) for c in chunks]
    from_files = [(" ".join(m["subject"].split()), m["message-id"]) for m in parsed]
    return from_files + [
        (message.subject, message.extra_headers.get("Message-ID")) for message in mail.outbox
    ]


def mailed_subjects(tmp_path: Path) -> list[str]:
    return [subject for subject, _message_id in mailed(tmp_path)]


def assert_chains_verify() -> None:
    verdict = audit_chains_verify()
    assert verdict.ok, verdict


# --- Trigger scan -------------------------------------------------------------------------------
@pytest.mark.parametrize("round_", ROUNDS)
def test_a_scan_killed_mid_ticket_then_run_again_opens_each_recommendation_once(
    every_signal, tmp_path, settings, round_
):
    kill_mid_task(
        "optimization.tasks.scan_triggers",
        TICKET_INSERT,
        1 + round_ % 3,
        tmp_path,
        settings,
        now=NOW,
    )
    scan_triggers()
    signals = Recommendation.objects.values_list("signal", flat=True)
    assert sorted(signals) == ["drift", "kpi_miss", "structural_block"]
    assert Ticket.objects.filter(subject_type="recommendation").count() == 3
    assert_chains_verify()


# --- SLA sweep ----------------------------------------------------------------------------------
SLUGS = ("north", "south", "west")
SUBJECTS = [f"[Human Touch] 2 overdue ticket(s) escalated — {slug.title()}" for slug in SLUGS]
# After a tenant's commit its escalation mail is sent by an on-commit callback that lists the
# tenant's unsent mail (a SELECT), claims it (a SELECT … FOR UPDATE), sends it and marks it (an
# UPDATE); the sweep's first statement on the table lists the mails earlier runs left unsent.
MAIL_SELECT = f'SELECT "{EscalationMail._meta.db_table}"'
MAIL_UPDATE = f'UPDATE "{EscalationMail._meta.db_table}"'


def overdue_in_three_tenants(make_tenant, make_member) -> list[Ticket]:
    overdue = []
    for slug in SLUGS:
        tenant = make_tenant(slug)
        make_member(f"{slug}-admin", tenant, Role.ADMIN, email=f"admin@{slug}.test")
        with time_machine.travel(timezone.now() - timedelta(days=10), tick=False):
            overdue += [open_ticket(tenant, "A1", title=f"{slug} {n}") for n in range(2)]
    return overdue


def assert_escalated_once(overdue: list[Ticket]) -> None:
    escalations = Counter(
        AuditEvent.objects.filter(action="ticket.escalated").values_list("resource_id", flat=True)
    )
    assert escalations == {ticket.public_id: 1 for ticket in overdue}
    assert EscalationMail.objects.count() == len(SLUGS)  # one mail per tenant, never two
    assert not EscalationMail.objects.filter(sent_at__isnull=True).exists()


@pytest.mark.parametrize("round_", ROUNDS)
def test_a_sla_sweep_killed_mid_tenant_then_run_again_escalates_and_mails_each_once(
    make_tenant, make_member, tmp_path, settings, round_
):
    overdue = overdue_in_three_tenants(make_tenant, make_member)
    kill_mid_task("approvals.tasks.sweep_sla", AUDIT_APPEND_FEW, 1 + round_ % 3, tmp_path, settings)
    sweep_sla()
    assert_escalated_once(overdue)
    assert sorted(mailed_subjects(tmp_path)) == sorted(SUBJECTS)
    assert_chains_verify()


@pytest.mark.parametrize("round_", ROUNDS)
def test_a_sla_sweep_killed_after_a_commit_before_its_mail_was_sent_then_run_again_mails_it_once(
    make_tenant, make_member, tmp_path, settings, round_
):
    overdue = overdue_in_three_tenants(make_tenant, make_member)
    # The 2nd, 4th, 6th SELECT: tenant 1, 2, 3 committed, its mail listed for sending, not sent.
    k = 2 * (1 + round_ % 3)
    kill_mid_task("approvals.tasks.sweep_sla", MAIL_SELECT, k, tmp_path, settings)
    assert EscalationMail.objects.filter(sent_at__isnull=True).count() == 1
    sweep_sla()
    assert_escalated_once(overdue)
    assert sorted(mailed_subjects(tmp_path)) == sorted(SUBJECTS)
    assert_chains_verify()


@pytest.mark.parametrize("round_", ROUNDS)
def test_a_sla_sweep_killed_after_a_send_before_its_mark_resends_the_same_message(
    make_tenant, make_member, tmp_path, settings, round_
):
    overdue = overdue_in_three_tenants(make_tenant, make_member)
    kill_mid_task("approvals.tasks.sweep_sla", MAIL_UPDATE, 1 + round_ % 3, tmp_path, settings)
    sweep_sla()
    assert_escalated_once(overdue)
    # At least once: the mail sent but not marked goes again, as the same message.
    sent = Counter(mailed(tmp_path))
    stored = {(row.subject, row.message_id) for row in EscalationMail.objects.all()}
    assert set(sent) == stored
    assert sorted(sent.values()) == [1, 1, 2]
    assert_chains_verify()


# --- Reconciliation -----------------------------------------------------------------------------
def observed(entity_id: str, platform: str, daily_budget: str) -> dict:
    return {
        "platform": platform,
        "entity_id": entity_id,
        "status": "active",
        "daily_budget": daily_budget,
        "spend_to_date": "1200.00",
        "observed_at": (NOW - timedelta(minutes=5)).isoformat(),
    }


@pytest.mark.parametrize("round_", ROUNDS)
def test_a_reconciliation_killed_mid_entity_then_run_again_opens_each_a6_once(
    live, tmp_path, settings, round_
):
    differing = {
        "search-brand": observed("search-brand", "google_ads", "390.00"),
        "search-generic": observed("search-generic", "google_ads", "260.00"),
        "social-prospecting": observed("social-prospecting", "meta", "380.00"),
    }
    observations_report(
        tenant=live,
        track_key="always_on",
        observations=list(differing.values()),
        actor=TEST_ACTOR,
    )
    kill_mid_task(
        "optimization.tasks.reconcile",
        TICKET_INSERT,
        1 + round_ % 3,
        tmp_path,
        settings,
        now=NOW,
    )
    reconcile()
    entities = Reconciliation.objects.values_list("manifest_entry__entity_id", flat=True)
    assert sorted(entities) == sorted(differing)
    a6 = Ticket.objects.filter(type="A6")
    assert sorted(a6.values_list("public_id", flat=True)) == sorted(
        Reconciliation.objects.values_list("ticket", flat=True)
    )
    assert AuditEvent.objects.filter(action="reconciliation.opened").count() == 3
    assert_chains_verify()


# --- Webhook delivery ---------------------------------------------------------------------------
@pytest.fixture
def receiver(settings):
    receiver, server = start_receiver()
    settings.WEBHOOK_ALLOWED_HOSTS = [receiver.host]
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("round_", ROUNDS)
def test_a_delivery_killed_after_the_post_then_run_again_delivers_each_message_once(
    acme, make_member, receiver, tmp_path, settings, round_
):
    make_member("olga", acme, Role.ADMIN, email="olga@acme.test")
    webhook_endpoint_create(
        tenant=acme, actor=TEST_ACTOR, url=receiver.url, events=["ticket.opened"]
    )
    for n in range(4):
        open_ticket(acme, "A3", title=f"Search +{n}%")
    outbox_process()
    deliveries = WebhookDelivery.objects.all()
    assert deliveries.count() == 4
    # The receiver has the k-th message; the worker dies before it records the answer.
    kill_mid_task(
        "integrations.tasks.deliver_due",
        ATTEMPT_INSERT,
        1 + round_ % 4,
        tmp_path,
        settings,
        overrides={"WEBHOOK_ALLOWED_HOSTS": [receiver.host], "WEBHOOK_TIMEOUT_SECONDS": 2.0},
    )
    assert len(receiver.received) == 1 + round_ % 4
    with time_machine.travel(timezone.now() + LEASE + timedelta(seconds=1), tick=True):
        deliver_due()  # the dead worker's lease on the endpoint ran out
    assert set(deliveries.values_list("status", flat=True)) == {DeliveryStatus.SUCCEEDED}
    assert set(deliveries.values_list("attempts", flat=True)) == {1}
    ids = Counter(r.headers["webhook-id"] for r in receiver.received)
    # At least once, and the one resent carries the same webhook-id: a receiver that drops ids it
    # has seen (Standard Webhooks) takes each message once.
    assert set(ids) == set(deliveries.values_list("message_id", flat=True))
    assert sorted(ids.values()) == [1, 1, 1, 2]
