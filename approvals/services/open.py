"""Opening a ticket: who may put it on which subject, what it carries, when it is due, and the
"my queue" rows of the roles it waits for."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.events import LifecycleKind, lifecycle_emit, ticket_event
from approvals.models import SlaKind, Ticket, TicketStatus, TicketWaitingRole
from approvals.services.errors import TicketInvalid, invalid
from approvals.services.waiting import waiting_rows
from approvals.sla import days_for_kind, tenant_due_at
from approvals.subjects import subject_exists
from approvals.types import (
    SUBJECT_RULES,
    TICKET_TYPES,
    Opener,
    SubjectKind,
    SubjectUse,
    TicketType,
    is_valid_slot,
    subject_use,
)
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.text import DIFF_MAX_BYTES, SUMMARY_MAX, json_problem, text_problem
from config.transactions import within_transaction
from tenants.models import Role, Tenant, TenantPolicy

PUBLIC_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
PUBLIC_ID_LENGTH = 8
PLAN_VERSION_MAX = 2**31 - 1  # an integer column on every engine


def new_public_id(type_id: str) -> str:
    """Stable, URL-safe and unguessable: "A5-7KQ2M9XZ" (type, then 8 Crockford characters)."""
    return f"{type_id}-{''.join(secrets.choice(PUBLIC_ID_ALPHABET) for _ in range(8))}"


def ticket_sla_due_at(*, tenant: Tenant, sla_kind: str, opened_at: datetime) -> datetime:
    policy = TenantPolicy.objects.get(tenant=tenant)
    days = days_for_kind(
        sla_kind,
        approval_days=policy.sla_approval_days,
        revise_days=policy.sla_revise_draft_days,
        replan_days=policy.sla_replan_draft_days,
        revise_approval_days=policy.sla_revise_approval_days,
    )
    return tenant_due_at(opened_at=opened_at, business_days=days, tenant=tenant, policy=policy)


def _refuse_unstorable(*, max_bytes: dict[str, int] | None = None, **values) -> None:
    """Refuse, by field name, values no database keeps (NUL, lone surrogates, NaN/Infinity) or
    too large to keep, before the INSERT would fail."""
    max_bytes = max_bytes or {}
    errors = {}
    for name, value in values.items():
        if value is None:
            continue
        problem = (
            text_problem(value)
            if isinstance(value, str)
            else json_problem(value, max_bytes=max_bytes.get(name))
        )
        if problem:
            errors[name] = f"{name} {problem}."
    if errors:
        raise invalid(errors)


def _clean_red_flag(type_id: str, red_flag: dict | None) -> dict | None:
    if type_id == TicketType.A8:
        if not isinstance(red_flag, dict) or not red_flag.get("loop_type"):
            raise invalid({"red_flag": "A8 needs red_flag.loop_type and attempt_count."})
        try:
            attempts = int(red_flag.get("attempt_count"))
        except (TypeError, ValueError):
            raise invalid(
                {"red_flag": "A8 red_flag.attempt_count must be a whole number."}
            ) from None
        return {**red_flag, "loop_type": str(red_flag["loop_type"]), "attempt_count": attempts}
    if type_id == TicketType.A9:
        if not isinstance(red_flag, dict):
            raise invalid({"red_flag": "A9 needs red_flag.estimated_usd and actual_usd."})
        amounts = {}
        for key in ("estimated_usd", "actual_usd"):
            try:
                amount = Decimal(str(red_flag.get(key)))
            except InvalidOperation:
                raise invalid(
                    {"red_flag": f"A9 red_flag.{key} must be an amount in USD."}
                ) from None
            if not amount.is_finite() or amount < 0:
                raise invalid({"red_flag": f"A9 red_flag.{key} must be an amount in USD."})
            amounts[key] = str(amount)  # money as a string: JSON has no Decimal
        return {**red_flag, **amounts}
    if red_flag:
        raise invalid({"red_flag": f"Only A8 and A9 are red flags, not {type_id}."})
    return None


def _subject_use(
    *, tenant: Tenant, type_id: str, subject_type: str, subject_id: str, opener: Opener
) -> SubjectUse:
    """What the ticket may do to its subject (approvals/types.py SUBJECT_RULES), or refuse it:
    a type that may not be about this kind of subject, or an opener who may not put it there,
    is `subject_not_allowed`; a subject named by a person or an agent that the tenant doesn't
    have is refused."""
    use = subject_use(type_id, subject_type, opener)
    if use is None:
        about = f"a {subject_type} ({subject_id or 'no id'})" if subject_type else "no subject"
        raise TicketInvalid(
            f"{TICKET_TYPES[type_id].label} can't be about {about} when opened by "
            f"{'an' if opener == Opener.AGENT else 'a'} {opener}: "
            + _allowed_subjects_sentence(type_id, opener),
            code="subject_not_allowed",
            fields={"subject_type": [f"not allowed for {type_id}"]},
        )
    # The system opens tickets about the subjects its own services hold; what a person or an
    # agent names must be one the tenant has.
    if not subject_type or opener == Opener.SYSTEM:
        exists = True
    elif subject_type == SubjectKind.TICKET:
        exists = Ticket.objects.filter(tenant=tenant, public_id=subject_id).exists()
    else:
        exists = subject_exists(subject_type, tenant=tenant, subject_id=subject_id)
    if not exists:
        raise invalid({"subject_id": f"No {subject_type} {subject_id!r} in this tenant."})
    return use


def _allowed_subjects_sentence(type_id: str, opener: Opener) -> str:
    kinds = [
        f"{kind} ({'decides it' if openers[opener] == SubjectUse.GOVERNS else 'for information'})"
        for kind, openers in SUBJECT_RULES[TicketType(type_id)].items()
        if opener in openers
    ]
    if subject_use(type_id, "", opener) is not None:
        kinds.append("no subject")
    return f"it may be about {', '.join(kinds)}." if kinds else "it may not be opened so."


def _clean_required_roles(type_id: str, required_roles: list[str] | None) -> list[str]:
    base = list(TICKET_TYPES[type_id].required_roles)
    if required_roles is None:
        return base
    roles = [str(slot) for slot in required_roles]
    unknown = [slot for slot in roles if not is_valid_slot(slot)]
    if unknown:
        raise invalid({"required_roles": f"Unknown role(s): {', '.join(unknown)}."})
    missing = [slot for slot in base if slot not in roles]
    if missing:
        raise invalid(
            {"required_roles": f"{type_id} always needs {', '.join(missing)}; it can't be dropped."}
        )
    if len(set(roles)) != len(roles):
        raise invalid({"required_roles": "A role is listed twice."})
    return roles


@dataclass(frozen=True, kw_only=True)
class TicketRequest:
    """What a ticket is opened with, before any check.

    `opener` says who puts it on its subject: the subject's own rules (SYSTEM, the default for
    the services that open tickets), a person, or an agent through the API; SUBJECT_RULES says
    whether the ticket then decides its subject or only informs about it."""

    tenant: Tenant
    type: str
    actor: Actor
    title: str
    summary: str = ""
    subject_type: str = ""
    subject_id: str = ""
    diff: dict | None = None
    plan_version: int | None = None
    change_set_id: str = ""
    run_id: str = ""
    platform: str = ""
    requesting_agent: str = ""
    required_roles: list[str] | None = None
    client_visible: bool | None = None
    red_flag: dict | None = None
    sla_kind: str = SlaKind.APPROVAL
    dedupe_key: str = ""
    overrides: Ticket | None = None
    opener: Opener = Opener.SYSTEM


@transaction.atomic(durable=True)
def ticket_open(**request: Any) -> Ticket:
    """Open a ticket in a transaction of its own (an agent through the API, the demo): the
    keyword arguments are TicketRequest's fields."""
    return ticket_open_within(TicketRequest(**request))


@within_transaction
def ticket_open_within(request: TicketRequest) -> Ticket:
    """Open a ticket in the caller's transaction (a change set over a guardrail, a submitted
    version, a tripped run), or return the open one with the same `dedupe_key` (scans and
    retries)."""
    existing = _open_with_dedupe_key(request)
    if existing is not None:
        return existing
    ticket = _ticket_of(request)
    inserted = _insert(ticket, dedupe_key=request.dedupe_key)
    if inserted is not ticket:
        return inserted  # the same ticket, opened a moment ago by another transaction
    TicketWaitingRole.objects.bulk_create(waiting_rows(ticket, approved_slots=set()))
    audit_event_append(
        tenant=ticket.tenant,
        actor=request.actor,
        action=AuditAction.TICKET_OPENED,
        resource=ticket,
        plan_version=ticket.plan_version,
        payload=ticket.diff,
        data={
            "type": ticket.type,
            "title": ticket.title,
            "required_roles": ticket.required_roles,
            "client_visible": ticket.client_visible,
            "subject": f"{ticket.subject_type}:{request.subject_id}" if ticket.subject_type else "",
            "governs_subject": ticket.governs_subject,
            "change_set_id": ticket.change_set_id,
            "run_id": ticket.run_id,
            "red_flag": ticket.red_flag,
            "sla_due_at": ticket.sla_due_at,
            "dedupe_key": ticket.dedupe_key,
        },
    )
    lifecycle_emit([ticket_event(LifecycleKind.TICKET_OPENED, ticket, request.actor)])
    return ticket


def _open_with_dedupe_key(request: TicketRequest) -> Ticket | None:
    if request.type not in TICKET_TYPES:
        raise invalid({"type": f"Unknown ticket type {request.type!r}; use A1 to A9."})
    if not request.dedupe_key:
        return None
    return Ticket.objects.filter(
        tenant=request.tenant, dedupe_key=request.dedupe_key, status=TicketStatus.OPEN
    ).first()


def _check_content(request: TicketRequest) -> str:
    """The title, SLA kind, diff, summary and version number as the ticket can keep them;
    returns the trimmed title."""
    title = (request.title or "").strip()
    if not title:
        raise invalid({"title": "A ticket needs a title."})
    if request.sla_kind not in SlaKind.values:
        raise invalid({"sla_kind": f"sla_kind is one of {', '.join(SlaKind.values)}."})
    if request.diff is not None and not isinstance(request.diff, dict):
        raise invalid({"diff": "The diff preview is a JSON object."})
    _refuse_unstorable(
        diff=request.diff, red_flag=request.red_flag, max_bytes={"diff": DIFF_MAX_BYTES}
    )
    if len(request.summary or "") > SUMMARY_MAX:
        raise invalid({"summary": f"A summary is at most {SUMMARY_MAX:,} characters."})
    plan_version = request.plan_version
    if plan_version is not None and not 1 <= plan_version <= PLAN_VERSION_MAX:
        raise invalid({"plan_version": "plan_version is a version number (1 or more)."})
    return title


def _client_visible(request: TicketRequest, roles: list[str]) -> bool:
    """Shown to the client: as the caller says, else as the type says — always when the client
    must approve, never for an internal-only type."""
    ticket_type = TICKET_TYPES[request.type]
    client_must_act = Role.CLIENT in roles
    client_visible = request.client_visible
    if client_visible is None:
        client_visible = ticket_type.client_visible or client_must_act
    if client_visible and ticket_type.internal_only:
        raise invalid({"client_visible": f"{request.type} tickets are internal-only."})
    if client_must_act and not client_visible:
        raise invalid(
            {"client_visible": "A ticket the client must approve has to be client-visible."}
        )
    return client_visible


def _ticket_of(
    request: TicketRequest, *, sla_due_at: datetime | None = None, together: bool = False
) -> Ticket:
    """The ticket the request describes, every field checked; not saved yet (`together`: one
    of several tickets of the tenant opened at once, its due time `sla_due_at` worked out and
    its tenant read already — no query per ticket)."""
    title = _check_content(request)
    roles = _clean_required_roles(request.type, request.required_roles)
    subject_id = str(request.subject_id)
    use = _subject_use(
        tenant=request.tenant,
        type_id=request.type,
        subject_type=request.subject_type,
        subject_id=subject_id,
        opener=request.opener,
    )
    actor = request.actor
    ticket = Ticket(
        tenant=request.tenant,
        type=request.type,
        title=title[:200],
        summary=request.summary,
        diff=request.diff or {},
        subject_type=request.subject_type,
        subject_id=subject_id,
        governs_subject=use == SubjectUse.GOVERNS,
        plan_version=request.plan_version,
        change_set_id=request.change_set_id,
        run_id=request.run_id,
        platform=request.platform,
        requesting_agent=request.requesting_agent or ("" if actor.is_person else actor.label),
        opened_by=str(actor)[:150],
        opened_by_type=actor.type,
        requested_by=actor.user if actor.is_person else None,
        required_roles=roles,
        client_visible=_client_visible(request, roles),
        red_flag=_clean_red_flag(request.type, request.red_flag),
        sla_kind=request.sla_kind,
        sla_due_at=sla_due_at
        or ticket_sla_due_at(
            tenant=request.tenant, sla_kind=request.sla_kind, opened_at=timezone.now()
        ),
        dedupe_key=request.dedupe_key,
        overrides=request.overrides,
    )
    _refuse_unstorable(
        title=ticket.title,
        summary=request.summary,
        subject_type=request.subject_type,
        subject_id=ticket.subject_id,
        change_set_id=request.change_set_id,
        run_id=request.run_id,
        platform=request.platform,
        requesting_agent=ticket.requesting_agent,
        dedupe_key=request.dedupe_key,
    )
    try:
        # Lengths, choices and the integer range of plan_version: a clear error, not a 500.
        ticket.clean_fields(exclude=["public_id", "opened_by", *(["tenant"] if together else [])])
    except ValidationError as exc:
        raise invalid(
            {name: " ".join(problems) for name, problems in exc.message_dict.items()}
        ) from None
    return ticket


def _insert(ticket: Ticket, *, dedupe_key: str) -> Ticket:
    """Save the ticket under a fresh public id — or return the open ticket with its dedupe key
    that another transaction inserted a moment ago."""
    for _attempt in range(5):
        ticket.public_id = new_public_id(ticket.type)
        try:
            with transaction.atomic():
                ticket.save(force_insert=True)
            return ticket
        except IntegrityError:
            if dedupe_key:
                # Another transaction opened the same ticket a moment ago: that one stands.
                existing = Ticket.objects.filter(
                    tenant_id=ticket.tenant_id, dedupe_key=dedupe_key, status=TicketStatus.OPEN
                ).first()
                if existing is not None:
                    return existing
            ticket.pk = None  # a public_id collision: draw another
    raise IntegrityError("could not draw a unique ticket id")
