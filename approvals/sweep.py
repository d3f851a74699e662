"""The SLA sweep (`manage.py sweep_sla`, scheduled every few minutes): overdue open tickets are
marked and escalated one level, to the tenant's admins, once per breach — set-based, tenant by
tenant, with every escalation audited and one mail per tenant.

The mail is durable: written as an EscalationMail row in the tenant's transaction, sent right
after the commit, and marked sent. One the sender never got to (the worker was killed between
the commit and the send, the mail server refused) stays unsent, and every sweep starts by sending
those — at least once, with a stable Message-ID (like a webhook's `webhook-id`): a worker killed
after the send but before the mark leads to a resend of the same message, which the receiving
side can recognise. Sending is not a state change of the domain, so it is not audited."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from django.core.mail import EmailMessage, get_connection
from django.core.mail.message import make_msgid
from django.core.mail.utils import DNS_NAME
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from approvals.events import LifecycleEvent, LifecycleKind, lifecycle_emit
from approvals.models import EscalationMail, Ticket, TicketStatus
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_events_append_many
from tenants.models import Membership, Role, Tenant

logger = logging.getLogger(__name__)

SWEEP_ACTOR = Actor.system("sweep_sla")
MAIL_LIST_MAX = 50  # tickets listed one by one in an escalation mail; the rest are counted


@dataclass(frozen=True)
class Escalated:
    id: int
    tenant_id: int
    public_id: str
    type: str
    title: str
    plan_version: int | None
    sla_due_at: datetime
    escalation_level: int


@dataclass(frozen=True)
class SweepResult:
    escalated: int
    tenants: int
    mails: int
    failed_tenants: int = 0


# The compare-and-swap: a ticket already escalated for its current due time
# (escalated_for_due_at = sla_due_at) no longer matches, so a second or concurrent sweep leaves
# it alone; a new due time would be a new breach.
_OVERDUE_SQL = (
    "status = %(open)s AND sla_due_at IS NOT NULL AND sla_due_at < %(now)s "
    "AND (escalated_for_due_at IS NULL OR escalated_for_due_at <> sla_due_at)"
)


def _overdue_tenant_ids(now: datetime) -> list[int]:
    overdue = Q(status=TicketStatus.OPEN, sla_due_at__lt=now) & (
        Q(escalated_for_due_at__isnull=True) | ~Q(escalated_for_due_at=F("sla_due_at"))
    )
    return sorted(
        Ticket.objects.filter(overdue).order_by().values_list("tenant_id", flat=True).distinct()
    )


def _claim_overdue(now: datetime, *, tenant_id: int | None = None) -> list[Escalated]:
    """Mark the overdue open tickets (of one tenant, or all) and move each up one level, in one
    statement.

    On PostgreSQL the rows are claimed FOR UPDATE SKIP LOCKED: two sweeps split the work instead
    of waiting on each other (or deadlocking), and a ticket someone is deciding right now (its
    row locked) is skipped and seen by the next sweep if it is still open. SQLite runs one writer
    at a time (IMMEDIATE transactions), so the conditional UPDATE alone is enough there.
    """
    table = Ticket._meta.db_table
    where = _OVERDUE_SQL + (" AND tenant_id = %(tenant)s" if tenant_id is not None else "")
    assignments = (
        "overdue_at = COALESCE(overdue_at, %(now)s), escalation_level = escalation_level + 1, "
        "escalated_at = %(now)s, escalated_for_due_at = sla_due_at, updated_at = %(now)s"
    )
    returning = "tenant_id, public_id, type, title, plan_version, sla_due_at, escalation_level"
    if connection.vendor == "postgresql":
        # id = ANY(ARRAY(...)) rather than a join: the update then walks the primary key for
        # the claimed ids instead of hashing the whole table (50x cheaper per tenant).
        sql = (
            f"UPDATE {table} SET {assignments} WHERE id = ANY(ARRAY("
            f"SELECT id FROM {table} WHERE {where} ORDER BY id FOR UPDATE SKIP LOCKED"
            f")) RETURNING id, {returning}"
        )
    else:
        sql = f"UPDATE {table} SET {assignments} WHERE {where} RETURNING id, {returning}"
    params = {
        "open": TicketStatus.OPEN,
        "now": connection.ops.adapt_datetimefield_value(now),
        "tenant": tenant_id,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    claimed = []
    for row in rows:
        due = row[6]
        if isinstance(due, str):  # SQLite hands back text
            due = parse_datetime(due)
        if timezone.is_naive(due):
            due = timezone.make_aware(due, UTC)
        claimed.append(Escalated(*row[:6], sla_due_at=due, escalation_level=row[7]))
    claimed.sort(key=lambda escalated: escalated.id)
    return claimed


@transaction.atomic(durable=True)
def ticket_sla_sweep_tenant(*, tenant_id: int, now: datetime, actor: Actor) -> tuple[int, int]:
    """One tenant's share of the sweep, in one transaction: claim its overdue tickets, audit
    each escalation, and mail its admins once after commit. Returns (escalated, mails)."""
    claimed = _claim_overdue(now, tenant_id=tenant_id)
    if not claimed:
        return 0, 0
    # Every escalation is its own audit event on the ticket (its trail shows it). The chain is
    # serial per tenant by design: one head claim and one bulk insert for all of them.
    audit_events_append_many(
        tenant=tenant_id,
        actor=actor,
        events=[
            {
                "action": AuditAction.TICKET_ESCALATED,
                "resource": ("ticket", escalated.public_id),
                "plan_version": escalated.plan_version,
                "data": {
                    "escalation_level": escalated.escalation_level,
                    "escalated_to": Role.ADMIN,
                    "sla_due_at": escalated.sla_due_at,
                },
            }
            for escalated in claimed
        ],
    )
    lifecycle_emit(
        [
            LifecycleEvent(
                kind=LifecycleKind.TICKET_ESCALATED,
                tenant_id=tenant_id,
                ticket_id=escalated.id,
                actor_label=str(actor),
                data={"escalation_level": escalated.escalation_level},
            )
            for escalated in claimed
        ]
    )
    mail = _escalation_mail(tenant_id, claimed)
    if mail is not None:
        # A function, not a partial: a robust callback that fails is logged by its __qualname__,
        # which a partial lacks. Should this send never happen, the next sweep's does it.
        transaction.on_commit(lambda ids=[mail.pk]: _escalation_mails_send(ids), robust=True)
    return len(claimed), int(mail is not None)


def ticket_sla_sweep(*, actor: Actor = SWEEP_ACTOR) -> SweepResult:
    """Mark overdue open tickets and escalate each one level (to the tenant's admins), once per
    breach, tenant by tenant: each tenant is its own transaction, so the chain heads and ticket
    rows are held briefly and one tenant's failure never stops the others."""
    _escalation_mails_send()  # those an earlier run queued and could not send
    now = timezone.now()
    escalated = mails = tenants = failed = 0
    for tenant_id in _overdue_tenant_ids(now):
        try:
            count, mailed = ticket_sla_sweep_tenant(tenant_id=tenant_id, now=now, actor=actor)
        except DatabaseError:
            logger.exception("sweep_sla: tenant %s failed; the next sweep retries it", tenant_id)
            failed += 1
            continue
        escalated, mails, tenants = escalated + count, mails + mailed, tenants + bool(count)
    return SweepResult(escalated=escalated, tenants=tenants, mails=mails, failed_tenants=failed)


def _escalation_mail(tenant_id: int, escalated: list[Escalated]) -> EscalationMail | None:
    recipients = list(
        Membership.objects.filter(tenant_id=tenant_id, role=Role.ADMIN)
        .exclude(user__email="")
        .order_by("user__email")
        .values_list("user__email", flat=True)
    )
    if not recipients:
        return None
    tenant = Tenant.objects.get(pk=tenant_id)
    zone = ZoneInfo(tenant.time_zone)
    lines = [
        f"{len(escalated)} approval ticket(s) of {tenant.name} passed their SLA and are "
        "escalated to you (admin).",
        "",
    ]
    for item in escalated[:MAIL_LIST_MAX]:
        due = item.sla_due_at.astimezone(zone).strftime("%a %d %b %Y %H:%M %Z")
        lines.append(f"{item.public_id}  {item.title}  (due {due})")
    if len(escalated) > MAIL_LIST_MAX:
        lines.append(f"… and {len(escalated) - MAIL_LIST_MAX} more in the dashboard.")
    return EscalationMail.objects.create(
        tenant_id=tenant_id,
        subject=f"[Human Touch] {len(escalated)} overdue ticket(s) escalated — {tenant.name}",
        body="\n".join(lines),
        recipients=recipients,
        message_id=make_msgid(idstring="escalation", domain=str(DNS_NAME)),
    )


def _escalation_mails_send(ids: list[int] | None = None) -> int:
    """Send the unsent escalation mails (those of `ids`, or all), each in its own transaction;
    one that fails is logged and left for the next sweep. Returns how many were sent."""
    pending = EscalationMail.objects.filter(sent_at__isnull=True)
    if ids is not None:
        pending = pending.filter(pk__in=ids)
    sent = 0
    for pk in pending.order_by("pk").values_list("pk", flat=True):
        try:
            sent += _escalation_mail_send(pk)
        except Exception:  # the mail server's errors are many; the row stays unsent
            logger.exception("sweep_sla: escalation mail %s not sent; the next sweep retries", pk)
    return sent


@transaction.atomic(durable=True)
def _escalation_mail_send(pk: int) -> int:
    """Claim one unsent mail (SKIP LOCKED: of two senders at once, one sends it and the other
    passes), send it with its stored Message-ID, and mark it sent, in one transaction: a send
    that raises rolls the claim back. Returns 1 if this call sent it, else 0."""
    mail = (
        EscalationMail.objects.select_for_update(skip_locked=True)
        .filter(pk=pk, sent_at__isnull=True)
        .first()
    )
    if mail is None:  # sent meanwhile, or being sent by another sweep right now
        return 0
    message = EmailMessage(
        subject=mail.subject,
        body=mail.body,
        to=mail.recipients,
        headers={"Message-ID": mail.message_id},
    )
    with get_connection() as mail_connection:
        mail_connection.send_messages([message])
    EscalationMail.objects.filter(pk=pk).update(sent_at=timezone.now())
    return 1
