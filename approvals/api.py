"""Tickets over the agent API: agents and services open the types they may (A4 access requests,
A7 compliance flags) and read any ticket of their own tenant by id. A reference a ticket carries
(plan version, change set, run) must be one the tenant has."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Router, Schema, Status

from api.base import agent_actor, errors, links
from api.idempotency import idempotent
from approvals.models import Ticket
from approvals.selectors import ticket_progress, unknown_references
from approvals.services import (
    PLAN_VERSION_MAX,
    TicketInvalid,
    TicketRequest,
    ticket_open,
    ticket_open_within,
)
from approvals.types import API_OPENABLE_TYPES, TICKET_TYPES, Opener, TicketType
from config.errors import NotAllowed, NotFound
from config.text import SUMMARY_MAX, StorableText

router = Router(tags=["tickets"])

IDEMPOTENCY_SCOPE = "tickets"
TypeId = Literal[tuple(TicketType)]  # type: ignore[valid-type]


class TicketIn(Schema):
    type: TypeId = Field(description="A4 (access / BM / DNS) or A7 (compliance / policy)")
    title: StorableText = Field(min_length=1, max_length=200)
    summary: StorableText = Field("", max_length=SUMMARY_MAX)
    subject_type: StorableText = Field(
        "",
        max_length=50,
        description="what the ticket is about, for information: an agent's ticket never decides "
        "its subject (an A7 may name a plan_version, change_set, agent_run, track — by key — or "
        "manifest_entry — as platform:entity_id; an A4 none); any other is 422 "
        "subject_not_allowed. An open A7 on a track or entity blocks every creative launch or "
        "rotation there (423 blocked_by_compliance) until it is decided",
    )
    subject_id: StorableText = Field("", max_length=100)
    diff: dict[str, Any] | None = Field(None, description="diff preview (summary, changes, raw)")
    plan_version: int | None = Field(
        None, ge=1, le=PLAN_VERSION_MAX, description="a plan version of this tenant"
    )
    change_set_id: StorableText = Field("", max_length=100, description="a change set of yours")
    run_id: StorableText = Field("", max_length=100, description="an agent run of yours")
    platform: StorableText = Field("", max_length=50)
    agent: StorableText = Field("", max_length=100, description="the requesting agent or service")
    client_visible: bool | None = None
    idempotency_key: StorableText = Field(
        "",
        max_length=150,
        description="send the same key with the same body on a retry: you get the first answer",
    )


class DecisionOut(Schema):
    role: str
    verdict: str
    comment: str
    at: datetime


class TicketOut(Schema):
    ticket: str
    type: str
    type_name: str
    status: str
    title: str
    summary: str
    subject_type: str
    subject_id: str
    governs_subject: bool = Field(
        description="true when the ticket's outcome decides its subject (only tickets the "
        "subject's own rules opened); false for one attached for information"
    )
    plan_version: int | None
    change_set_id: str
    run_id: str
    platform: str
    requesting_agent: str
    required_roles: list[str]
    approved_roles: list[str]
    pending_roles: list[str]
    client_visible: bool
    red_flag: dict[str, Any] | None
    blocks: str
    sla_due_at: datetime | None
    escalation_level: int
    created_at: datetime
    resolved_at: datetime | None
    resolution_note: str
    decisions: list[DecisionOut]


def _out(ticket: Ticket) -> dict:
    progress = ticket_progress(ticket)
    return {
        "ticket": ticket.public_id,
        "type": ticket.type,
        "type_name": ticket.ticket_type.name,
        "status": ticket.status,
        "title": ticket.title,
        "summary": ticket.summary,
        "subject_type": ticket.subject_type,
        "subject_id": ticket.subject_id,
        "governs_subject": ticket.governs_subject,
        "plan_version": ticket.plan_version,
        "change_set_id": ticket.change_set_id,
        "run_id": ticket.run_id,
        "platform": ticket.platform,
        "requesting_agent": ticket.requesting_agent,
        "required_roles": ticket.required_roles,
        "approved_roles": progress.approved,
        "pending_roles": progress.pending,
        "client_visible": ticket.client_visible,
        "red_flag": ticket.red_flag,
        "blocks": ticket.ticket_type.blocks,
        "sla_due_at": ticket.sla_due_at,
        "escalation_level": ticket.escalation_level,
        "created_at": ticket.created_at,
        "resolved_at": ticket.resolved_at,
        "resolution_note": ticket.resolution_note,
        "decisions": [
            {"role": d.role, "verdict": d.verdict, "comment": d.comment, "at": d.created_at}
            for d in ticket.decisions.all()
        ],
    }


@router.post(
    "/tickets",
    response={200: TicketOut, 201: TicketOut, **errors(403, 409, 422)},
    summary="Open an A4 or A7 ticket (idempotent by idempotency_key)",
    openapi_extra=links(
        200,
        201,
        GetTicket=("approvals_api_ticket_detail", {"public_id": "$response.body#/ticket"}),
    ),
)
def ticket_create(request, data: TicketIn):
    if data.type not in API_OPENABLE_TYPES:
        raise NotAllowed(
            f"Agents may open {' and '.join(API_OPENABLE_TYPES)} tickets; "
            f"{TICKET_TYPES[data.type].label} is opened by the system itself."
        )
    tenant = request.agent_key.tenant
    unknown = unknown_references(
        tenant=tenant,
        plan_version=data.plan_version,
        change_set_id=data.change_set_id,
        run_id=data.run_id,
    )
    if unknown:
        raise TicketInvalid("; ".join(f"{k}: {v}" for k, v in unknown.items()), fields=unknown)

    asked = {
        "tenant": tenant,
        "type": data.type,
        "actor": agent_actor(request, data.agent),
        "title": data.title,
        "summary": data.summary,
        "subject_type": data.subject_type,
        "subject_id": data.subject_id,
        "diff": data.diff,
        "plan_version": data.plan_version,
        "change_set_id": data.change_set_id,
        "run_id": data.run_id,
        "platform": data.platform,
        "requesting_agent": data.agent,
        "client_visible": data.client_visible,
        "opener": Opener.AGENT,
    }
    if not data.idempotency_key:
        return Status(201, _out(ticket_open(**asked)))

    def open_it():  # inside idempotent's transaction, with the key
        return 201, _out(ticket_open_within(TicketRequest(**asked)))

    return Status(
        *idempotent(
            tenant=tenant,
            scope=IDEMPOTENCY_SCOPE,
            key=data.idempotency_key,
            request=data.model_dump(mode="json"),
            work=open_it,
        )
    )


@router.get(
    "/tickets/{public_id}",
    response={200: TicketOut, **errors(404)},
    summary="A ticket of this key's tenant, with its status and decisions",
)
def ticket_detail(request, public_id: StorableText):
    ticket = Ticket.objects.filter(tenant=request.agent_key.tenant, public_id=public_id).first()
    if ticket is None:
        raise NotFound(f"No ticket {public_id!r} for this key's tenant.")
    return Status(200, _out(ticket))
