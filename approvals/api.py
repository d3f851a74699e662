"""Tickets over the agent API: agents and services open the types they may (A4 access requests,
A7 compliance flags) and read any ticket of their own tenant by id."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from ninja import Field, Router, Schema, Status

from agents.api_base import ApiError, StorableText, agent_actor
from approvals.models import Ticket
from approvals.selectors import ticket_progress
from approvals.services import ticket_open
from approvals.types import API_OPENABLE_TYPES, TICKET_TYPES

router = Router(tags=["tickets"])

IDEMPOTENCY_PREFIX = "api:"


class TicketIn(Schema):
    type: str = Field(description="A4 (access / BM / DNS) or A7 (compliance / policy)")
    title: StorableText = Field(min_length=1, max_length=200)
    summary: StorableText = Field("", max_length=20_000)
    subject_type: StorableText = Field("", max_length=50)
    subject_id: StorableText = Field("", max_length=100)
    diff: dict[str, Any] | None = Field(None, description="diff preview (summary, changes, raw)")
    plan_version: int | None = None
    change_set_id: StorableText = Field("", max_length=100)
    run_id: StorableText = Field("", max_length=100)
    platform: StorableText = Field("", max_length=50)
    agent: StorableText = Field("", max_length=100, description="the requesting agent or service")
    client_visible: bool | None = None
    idempotency_key: StorableText = Field(
        "", max_length=150, description="send the same key on a retry: you get the same ticket"
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


class ErrorOut(Schema):
    error: str
    detail: str


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


def _same_request(ticket: Ticket, data: TicketIn) -> bool:
    return (ticket.type, ticket.title, ticket.subject_type, ticket.subject_id) == (
        data.type,
        data.title.strip(),
        data.subject_type,
        data.subject_id,
    )


@router.post(
    "/tickets",
    response={200: TicketOut, 201: TicketOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Open an A4 or A7 ticket (idempotent by idempotency_key)",
)
def ticket_create(request, data: TicketIn):
    if data.type not in TICKET_TYPES:
        raise ApiError(422, "validation_error", f"type: unknown ticket type {data.type!r}.")
    if data.type not in API_OPENABLE_TYPES:
        raise ApiError(
            403,
            "forbidden",
            f"Agents may open {' and '.join(API_OPENABLE_TYPES)} tickets; "
            f"{TICKET_TYPES[data.type].label} is opened by the system itself.",
        )
    tenant = request.agent_key.tenant
    dedupe_key = f"{IDEMPOTENCY_PREFIX}{data.idempotency_key}" if data.idempotency_key else ""
    with transaction.atomic():
        if dedupe_key:
            earlier = (
                Ticket.objects.filter(tenant=tenant, dedupe_key=dedupe_key)
                .order_by("-created_at", "-id")
                .first()
            )
            if earlier is not None:
                if not _same_request(earlier, data):
                    raise ApiError(
                        409,
                        "conflict",
                        f"idempotency_key {data.idempotency_key!r} was used for another "
                        f"ticket ({earlier.public_id}).",
                    )
                return Status(200, _out(earlier))
        try:
            ticket = ticket_open(
                tenant=tenant,
                type=data.type,
                actor=agent_actor(request, data.agent),
                title=data.title,
                summary=data.summary,
                subject_type=data.subject_type,
                subject_id=data.subject_id,
                diff=data.diff,
                plan_version=data.plan_version,
                change_set_id=data.change_set_id,
                run_id=data.run_id,
                platform=data.platform,
                requesting_agent=data.agent,
                client_visible=data.client_visible,
                dedupe_key=dedupe_key,
            )
        except ValidationError as exc:
            detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise ApiError(422, "validation_error", detail) from None
    return Status(201, _out(ticket))


@router.get(
    "/tickets/{public_id}",
    response={200: TicketOut, 404: ErrorOut},
    summary="A ticket of this key's tenant, with its status and decisions",
)
def ticket_detail(request, public_id: StorableText):
    ticket = Ticket.objects.filter(tenant=request.agent_key.tenant, public_id=public_id).first()
    if ticket is None:
        raise ApiError(404, "not_found", f"No ticket {public_id!r} for this key's tenant.")
    return Status(200, _out(ticket))
