"""Opening many tickets of one tenant by one actor at once (the revise-trigger scan's openings):
the checks of `ticket_open_within` for each, then one INSERT for the tickets, one for their "my
queue" rows and one bulk audit append, instead of a round trip per row."""

from __future__ import annotations

from collections.abc import Callable

from django.utils import timezone

from approvals.events import LifecycleKind, lifecycle_emit, ticket_event
from approvals.models import Ticket, TicketStatus, TicketWaitingRole
from approvals.services.errors import invalid
from approvals.services.open import (
    TicketRequest,
    _ticket_of,
    new_public_id,
    ticket_sla_due_at,
)
from approvals.services.waiting import waiting_rows
from approvals.types import TICKET_TYPES
from audit.actions import AuditAction
from audit.services import audit_events_append_many
from config.transactions import within_transaction


def _opened_event(ticket: Ticket) -> dict:
    """The ticket's `ticket.opened` audit event, as ticket_open_within writes it."""
    return {
        "action": AuditAction.TICKET_OPENED,
        "resource": ticket,
        "plan_version": ticket.plan_version,
        "payload": ticket.diff,
        "data": {
            "type": ticket.type,
            "title": ticket.title,
            "required_roles": ticket.required_roles,
            "client_visible": ticket.client_visible,
            "subject": f"{ticket.subject_type}:{ticket.subject_id}" if ticket.subject_type else "",
            "governs_subject": ticket.governs_subject,
            "change_set_id": ticket.change_set_id,
            "run_id": ticket.run_id,
            "red_flag": ticket.red_flag,
            "sla_due_at": ticket.sla_due_at,
            "dedupe_key": ticket.dedupe_key,
        },
    }


def _check_types(requests: list[TicketRequest]) -> None:
    for request in requests:
        if request.type not in TICKET_TYPES:
            raise invalid({"type": f"Unknown ticket type {request.type!r}; use A1 to A9."})


def _open_by_dedupe_key(tenant, requests: list[TicketRequest]) -> dict[str, Ticket]:
    """The tenant's open tickets that already answer one of the requests' dedupe keys."""
    keys = [r.dedupe_key for r in requests if r.dedupe_key]
    if not keys:
        return {}
    return {
        ticket.dedupe_key: ticket
        for ticket in Ticket.objects.filter(
            tenant=tenant, dedupe_key__in=keys, status=TicketStatus.OPEN
        )
    }


@within_transaction
def tickets_open_many_within(
    requests: list[TicketRequest],
    *,
    public_ids: list[str] | None = None,
    then_audit: Callable[[list[Ticket]], list[dict]] | None = None,
) -> list[Ticket]:
    """Open the tickets in the caller's transaction, one per request and in their order: the
    open ticket with the same `dedupe_key` where there is one, else a new one. Every request
    names the same tenant and actor.

    `public_ids` (drawn with new_public_id, one per request) lets the caller write a ticket's id
    on its subject before the ticket exists; a request answered by an open ticket keeps that
    ticket's id. `then_audit(tickets)` returns the caller's own audit events, appended after
    the tickets' in the same bulk append (one chain claim for both).

    A concurrent transaction that opens a ticket with one of the dedupe keys (or, at odds of
    one in 32^8, draws one of the public ids) makes the INSERT fail with IntegrityError: the
    caller rolls back and opens them one by one (`ticket_open_within` settles such races)."""
    if not requests:
        return []
    tenant, actor = requests[0].tenant, requests[0].actor
    if any(r.tenant.pk != tenant.pk or r.actor != actor for r in requests):
        raise invalid({"tenant": "Tickets opened together share their tenant and actor."})
    if public_ids is not None and len(public_ids) != len(requests):
        raise invalid({"public_ids": "One public id per request."})
    _check_types(requests)
    existing = _open_by_dedupe_key(tenant, requests)
    now = timezone.now()
    due: dict[str, object] = {}
    tickets, new = [], []
    for n, request in enumerate(requests):
        if request.dedupe_key in existing:
            tickets.append(existing[request.dedupe_key])
            continue
        if request.sla_kind not in due:
            due[request.sla_kind] = ticket_sla_due_at(
                tenant=tenant, sla_kind=request.sla_kind, opened_at=now
            )
        ticket = _ticket_of(request, sla_due_at=due[request.sla_kind], together=True)
        ticket.public_id = public_ids[n] if public_ids else new_public_id(ticket.type)
        tickets.append(ticket)
        new.append(ticket)
    if new:
        Ticket.objects.bulk_create(new)
        TicketWaitingRole.objects.bulk_create(
            [row for ticket in new for row in waiting_rows(ticket, approved_slots=set())]
        )
    events = [_opened_event(ticket) for ticket in new]
    if then_audit is not None:
        events += then_audit(tickets)
    audit_events_append_many(tenant=tenant, actor=actor, events=events)
    if new:
        lifecycle_emit([ticket_event(LifecycleKind.TICKET_OPENED, ticket, actor) for ticket in new])
    return tickets
