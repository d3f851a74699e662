"""Lapse: an A3 left open past its SLA by the tenant's `a3_lapse_days` business days lapses —
nothing is applied, and the agent proposes again on the live state of then."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from approvals.models import Ticket, TicketStatus
from approvals.services import subject_tickets_lock, ticket_cancel_within
from approvals.sla import tenant_due_at
from approvals.types import TicketType
from audit.actions import AuditAction
from audit.actors import Actor
from optimization.models import ChangeSet, ChangeSetEventKind, ChangeSetStatus
from optimization.services._common import (
    SUBJECT_TYPE,
    change_set_audit_outcome,
    change_set_finish,
    change_set_lock,
    change_set_log_append,
)
from tenants.models import TenantPolicy

SCAN_ACTOR = Actor.system("optimization.lapse")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LapseResult:
    lapsed: int
    failed: int


def lapses_at(ticket: Ticket, policy: TenantPolicy) -> datetime:
    """`a3_lapse_days` business days after the ticket's SLA ran out."""
    return tenant_due_at(
        opened_at=ticket.sla_due_at,
        business_days=policy.a3_lapse_days,
        tenant=ticket.tenant,
        policy=policy,
    )


@transaction.atomic(durable=True)
def change_set_lapse(*, change_set: ChangeSet, actor: Actor = SCAN_ACTOR) -> bool:
    """Lapse one change set (its tickets locked first, config/locks.py); False if it moved on
    meanwhile."""
    subject_tickets_lock(
        tenant=change_set.tenant_id, subject_type=SUBJECT_TYPE, subject_id=change_set.change_set_id
    )
    change_set, _locked = change_set_lock(change_set)
    if not change_set.is_pending:
        return False
    message = (
        "Lapsed: its A3 stayed open past its SLA; nothing was applied. The agent proposes again "
        "on the live state of now."
    )
    change_set_finish(change_set, ChangeSetStatus.LAPSED, message, decided_at=timezone.now())
    change_set_log_append(change_set, ChangeSetEventKind.LAPSED, actor, message)
    change_set_audit_outcome(change_set, actor, AuditAction.CHANGE_SET_LAPSED)
    for ticket in Ticket.objects.filter(
        tenant_id=change_set.tenant_id,
        subject_type=SUBJECT_TYPE,
        subject_id=change_set.change_set_id,
        status=TicketStatus.OPEN,
    ).order_by("pk"):
        ticket_cancel_within(ticket=ticket, actor=actor, reason=message)
    return True


def change_sets_lapse(*, now: datetime | None = None, tenant=None) -> LapseResult:
    """Every change set whose A3 is past its SLA plus the lapse days. Candidates come from one
    query (open A3s overdue); each lapses in its own transaction, so one bad row never stops
    the rest and a second run finds nothing more to do."""
    now = now or timezone.now()
    overdue = (
        Ticket.objects.filter(
            type=TicketType.A3,
            subject_type=SUBJECT_TYPE,
            status=TicketStatus.OPEN,
            sla_due_at__lt=now,
        )
        .select_related("tenant")
        .order_by("pk")
    )
    if tenant is not None:
        overdue = overdue.filter(tenant=tenant)
    policies = {
        p.tenant_id: p
        for p in TenantPolicy.objects.filter(tenant_id__in=overdue.values("tenant_id"))
    }
    lapsed = failed = 0
    for ticket in overdue:
        if lapses_at(ticket, policies[ticket.tenant_id]) > now:
            continue
        change_set = ChangeSet.objects.filter(
            tenant_id=ticket.tenant_id, change_set_id=ticket.subject_id
        ).first()
        if change_set is None:
            continue
        try:
            lapsed += change_set_lapse(change_set=change_set)
        except Exception:  # one bad change set never stops the rest; the next run retries it
            logger.exception("lapse of %s failed", change_set)
            failed += 1
    return LapseResult(lapsed=lapsed, failed=failed)
