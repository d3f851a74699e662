"""The only writers of tickets, decisions and comments. Each call is one transaction that also
appends its audit events; a ticket that reaches a final status calls its subject's handler
(approvals/subjects.py) inside that same transaction."""

from __future__ import annotations

import secrets
from contextvars import ContextVar
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from approvals.assignment import actor_for_ticket
from approvals.events import LifecycleKind, lifecycle_emit, ticket_event
from approvals.fingerprint import refuse_if_stale
from approvals.models import (
    VERDICT_OUTCOME,
    SlaKind,
    Ticket,
    TicketComment,
    TicketDecision,
    TicketStatus,
    TicketWaitingRole,
    Verdict,
)
from approvals.rules import decision_refusal
from approvals.selectors import ticket_approved_slots, ticket_own_work
from approvals.sla import business_due_at, days_for_kind
from approvals.subjects import subject_exists, subject_for
from approvals.types import (
    SUBJECT_RULES,
    TICKET_TYPES,
    Opener,
    SubjectKind,
    SubjectUse,
    TicketType,
    is_valid_slot,
    open_slots,
    roles_that_may_approve,
    slot_for_role,
    subject_use,
)
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import Conflict, DomainError
from config.text import (
    COMMENT_MAX,
    DIFF_MAX_BYTES,
    REASON_MAX,
    SUMMARY_MAX,
    clean_text,
    json_problem,
    text_problem,
)
from tenants.models import Membership, Role, Tenant, TenantPolicy

PUBLIC_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U
PUBLIC_ID_LENGTH = 8
PLAN_VERSION_MAX = 2**31 - 1  # an integer column on every engine


class TicketError(DomainError):
    """Something a person asked that the ticket can't do; the message says why."""

    code = "ticket_error"


class TicketInvalid(TicketError):
    """A ticket's input breaks a rule; `fields` names each field at fault."""

    code = "validation_error"


class TicketNotAllowed(TicketError, PermissionDenied):
    """The actor's role may not do this (uncaught in a view it is a 403)."""

    code = "not_allowed"
    status = 403


class TicketConflict(TicketError, Conflict):
    """The ticket is not in a state that allows it (already decided, already closed)."""

    code = "conflict"
    status = 409


# The ticket whose outcome its subject's owner is acting on (inside _resolve). Owners cancel the
# subject's other open tickets there (a request for changes on an A5 sends the version back to
# draft and withdraws its A7) without knowing which ticket caused it: ticket_cancel reads it here,
# so the withdrawn ticket can name and link its cause.
_resolving: ContextVar[Ticket | None] = ContextVar("approvals_resolving", default=None)


def _invalid(fields: dict[str, str]) -> TicketInvalid:
    return TicketInvalid(
        "; ".join(f"{name}: {problem}" for name, problem in fields.items()), fields=fields
    )


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
    )
    return business_due_at(
        opened_at=opened_at,
        business_days=days,
        country=tenant.country,
        time_zone=tenant.time_zone,
        start_hour=policy.working_hours_start,
        end_hour=policy.working_hours_end,
    )


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
        raise _invalid(errors)


def _text(value: str, name: str, max_length: int = REASON_MAX) -> str:
    """A person's comment or reason, trimmed; refused if it can't be stored or is too long."""
    try:
        return clean_text(value, name=name, max_length=max_length)
    except DomainError as exc:
        raise TicketError(exc.message, fields=exc.fields) from None


def _clean_red_flag(type_id: str, red_flag: dict | None) -> dict | None:
    if type_id == TicketType.A8:
        if not isinstance(red_flag, dict) or not red_flag.get("loop_type"):
            raise _invalid({"red_flag": "A8 needs red_flag.loop_type and attempt_count."})
        try:
            attempts = int(red_flag.get("attempt_count"))
        except (TypeError, ValueError):
            raise _invalid(
                {"red_flag": "A8 red_flag.attempt_count must be a whole number."}
            ) from None
        return {**red_flag, "loop_type": str(red_flag["loop_type"]), "attempt_count": attempts}
    if type_id == TicketType.A9:
        if not isinstance(red_flag, dict):
            raise _invalid({"red_flag": "A9 needs red_flag.estimated_usd and actual_usd."})
        amounts = {}
        for key in ("estimated_usd", "actual_usd"):
            try:
                amount = Decimal(str(red_flag.get(key)))
            except InvalidOperation:
                raise _invalid(
                    {"red_flag": f"A9 red_flag.{key} must be an amount in USD."}
                ) from None
            if not amount.is_finite() or amount < 0:
                raise _invalid({"red_flag": f"A9 red_flag.{key} must be an amount in USD."})
            amounts[key] = str(amount)  # money as a string: JSON has no Decimal
        return {**red_flag, **amounts}
    if red_flag:
        raise _invalid({"red_flag": f"Only A8 and A9 are red flags, not {type_id}."})
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
        raise _invalid({"subject_id": f"No {subject_type} {subject_id!r} in this tenant."})
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
    invalid = [slot for slot in roles if not is_valid_slot(slot)]
    if invalid:
        raise _invalid({"required_roles": f"Unknown role(s): {', '.join(invalid)}."})
    missing = [slot for slot in base if slot not in roles]
    if missing:
        raise _invalid(
            {"required_roles": f"{type_id} always needs {', '.join(missing)}; it can't be dropped."}
        )
    if len(set(roles)) != len(roles):
        raise _invalid({"required_roles": "A role is listed twice."})
    return roles


@transaction.atomic
def ticket_open(
    *,
    tenant: Tenant,
    type: str,
    actor: Actor,
    title: str,
    summary: str = "",
    subject_type: str = "",
    subject_id: str = "",
    diff: dict | None = None,
    plan_version: int | None = None,
    change_set_id: str = "",
    run_id: str = "",
    platform: str = "",
    requesting_agent: str = "",
    required_roles: list[str] | None = None,
    client_visible: bool | None = None,
    red_flag: dict | None = None,
    sla_kind: str = SlaKind.APPROVAL,
    dedupe_key: str = "",
    overrides: Ticket | None = None,
    opener: Opener = Opener.SYSTEM,
) -> Ticket:
    """Open a ticket, or return the open one with the same `dedupe_key` (scans and retries).

    `opener` says who puts it on its subject: the subject's own rules (SYSTEM, the default for
    the services that call this), a person, or an agent through the API; SUBJECT_RULES says
    whether the ticket then decides its subject or only informs about it."""
    ticket_type = TICKET_TYPES.get(type)
    if ticket_type is None:
        raise _invalid({"type": f"Unknown ticket type {type!r}; use A1 to A9."})
    if dedupe_key:
        existing = Ticket.objects.filter(
            tenant=tenant, dedupe_key=dedupe_key, status=TicketStatus.OPEN
        ).first()
        if existing is not None:
            return existing
    title = (title or "").strip()
    if not title:
        raise _invalid({"title": "A ticket needs a title."})
    if sla_kind not in SlaKind.values:
        raise _invalid({"sla_kind": f"sla_kind is one of {', '.join(SlaKind.values)}."})
    if diff is not None and not isinstance(diff, dict):
        raise _invalid({"diff": "The diff preview is a JSON object."})
    _refuse_unstorable(diff=diff, red_flag=red_flag, max_bytes={"diff": DIFF_MAX_BYTES})
    if len(summary or "") > SUMMARY_MAX:
        raise _invalid({"summary": f"A summary is at most {SUMMARY_MAX:,} characters."})
    if plan_version is not None and not 1 <= plan_version <= PLAN_VERSION_MAX:
        raise _invalid({"plan_version": "plan_version is a version number (1 or more)."})
    roles = _clean_required_roles(type, required_roles)
    use = _subject_use(
        tenant=tenant,
        type_id=type,
        subject_type=subject_type,
        subject_id=str(subject_id),
        opener=opener,
    )
    client_must_act = Role.CLIENT in roles
    if client_visible is None:
        client_visible = ticket_type.client_visible or client_must_act
    if client_visible and ticket_type.internal_only:
        raise _invalid({"client_visible": f"{type} tickets are internal-only."})
    if client_must_act and not client_visible:
        raise _invalid(
            {"client_visible": "A ticket the client must approve has to be client-visible."}
        )
    now = timezone.now()
    ticket = Ticket(
        tenant=tenant,
        type=type,
        title=title[:200],
        summary=summary,
        diff=diff or {},
        subject_type=subject_type,
        subject_id=str(subject_id),
        governs_subject=use == SubjectUse.GOVERNS,
        plan_version=plan_version,
        change_set_id=change_set_id,
        run_id=run_id,
        platform=platform,
        requesting_agent=requesting_agent or (actor.label if actor.type != "user" else ""),
        opened_by=str(actor)[:150],
        opened_by_type=actor.type,
        requested_by=actor.user if actor.type == "user" else None,
        required_roles=roles,
        client_visible=client_visible,
        red_flag=_clean_red_flag(type, red_flag),
        sla_kind=sla_kind,
        sla_due_at=ticket_sla_due_at(tenant=tenant, sla_kind=sla_kind, opened_at=now),
        dedupe_key=dedupe_key,
        overrides=overrides,
    )
    _refuse_unstorable(
        title=ticket.title,
        summary=summary,
        subject_type=subject_type,
        subject_id=ticket.subject_id,
        change_set_id=change_set_id,
        run_id=run_id,
        platform=platform,
        requesting_agent=ticket.requesting_agent,
        dedupe_key=dedupe_key,
    )
    try:
        # Lengths, choices and the integer range of plan_version: a clear error, not a 500.
        ticket.clean_fields(exclude=["public_id", "opened_by"])
    except ValidationError as exc:
        raise _invalid(
            {name: " ".join(problems) for name, problems in exc.message_dict.items()}
        ) from None
    for _attempt in range(5):
        ticket.public_id = new_public_id(type)
        try:
            with transaction.atomic():
                ticket.save(force_insert=True)
            break
        except IntegrityError:
            if dedupe_key:
                # Another transaction opened the same ticket a moment ago: that one stands.
                existing = Ticket.objects.filter(
                    tenant=tenant, dedupe_key=dedupe_key, status=TicketStatus.OPEN
                ).first()
                if existing is not None:
                    return existing
            ticket.pk = None  # a public_id collision: draw another
    else:
        raise IntegrityError("could not draw a unique ticket id")
    TicketWaitingRole.objects.bulk_create(_waiting_rows(ticket, approved_slots=set()))
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action=AuditAction.TICKET_OPENED,
        resource=ticket,
        plan_version=plan_version,
        payload=ticket.diff,
        data={
            "type": type,
            "title": ticket.title,
            "required_roles": roles,
            "client_visible": client_visible,
            "subject": f"{subject_type}:{subject_id}" if subject_type else "",
            "governs_subject": ticket.governs_subject,
            "change_set_id": change_set_id,
            "run_id": run_id,
            "red_flag": ticket.red_flag,
            "sla_due_at": ticket.sla_due_at,
            "dedupe_key": dedupe_key,
        },
    )
    lifecycle_emit([ticket_event(LifecycleKind.TICKET_OPENED, ticket, actor)])
    return ticket


def _waiting_rows(ticket: Ticket, *, approved_slots: set[str]) -> list[TicketWaitingRole]:
    """The "my queue" rows of an open ticket: a role per open slot it may fill."""
    roles = roles_that_may_approve(
        open_slots(ticket.required_roles, approved_slots), client_visible=ticket.client_visible
    )
    return [
        TicketWaitingRole(
            ticket=ticket,
            tenant_id=ticket.tenant_id,
            role=role,
            ticket_created_at=ticket.created_at,
        )
        for role in sorted(roles)
    ]


def _waiting_roles_after_approval(ticket: Ticket, *, approved_slots: set[str]) -> None:
    """An approval filled a slot: the roles that only that slot accepted stop waiting."""
    still_waiting = [row.role for row in _waiting_rows(ticket, approved_slots=approved_slots)]
    TicketWaitingRole.objects.filter(ticket=ticket).exclude(role__in=still_waiting).delete()


@transaction.atomic
def ticket_waiting_roles_rebuild(*, tenant_ids: list[int] | None = None) -> int:
    """Write the "my queue" rows afresh for tickets that were bulk-loaded around the services
    (benchmarks, imports); returns how many rows now wait. The services keep them up to date
    otherwise. Derived rows only, no ticket changes: nothing to audit."""
    tickets = Ticket.objects.filter(status=TicketStatus.OPEN)
    if tenant_ids is not None:
        tickets = tickets.filter(tenant_id__in=tenant_ids)
    TicketWaitingRole.objects.filter(ticket__in=tickets.values("pk")).delete()
    approved: dict[int, set[str]] = {}
    for ticket_id, slot in TicketDecision.objects.filter(
        ticket__in=tickets.values("pk"), verdict=Verdict.APPROVE
    ).values_list("ticket_id", "slot"):
        approved.setdefault(ticket_id, set()).add(slot)
    rows = []
    for ticket in tickets.only(
        "pk", "tenant_id", "required_roles", "client_visible", "created_at"
    ).iterator(chunk_size=5000):
        rows.extend(_waiting_rows(ticket, approved_slots=approved.get(ticket.pk, set())))
    TicketWaitingRole.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def subject_tickets_lock(*, tenant, subject_type: str, subject_id: str) -> list[int]:
    """Lock the open tickets about one subject, by primary key: the first step of the lock order
    (config/locks.py) for a transition of the subject itself (e.g. withdrawing a version)."""
    return list(
        Ticket.objects.select_for_update()
        .filter(
            tenant=tenant,
            subject_type=subject_type,
            subject_id=subject_id,
            status=TicketStatus.OPEN,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _lock(ticket: Ticket) -> Ticket:
    """Lock the ticket in the product's lock order (config/locks.py): the ticket with the other
    open tickets about the same subject, by primary key, then — through the subject's owner —
    the subject and what its transition would change. Nothing is written before this."""
    if ticket.subject_type:
        siblings = Q(
            tenant_id=ticket.tenant_id,
            subject_type=ticket.subject_type,
            subject_id=ticket.subject_id,
            status=TicketStatus.OPEN,
        )
        list(
            Ticket.objects.select_for_update()
            .filter(Q(pk=ticket.pk) | siblings)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    # Only the ticket (of=self): its tenant row locked too would make every insert that
    # references the tenant wait at commit for this decision (config/locks.py).
    locked = (
        Ticket.objects.select_for_update(of=("self",)).select_related("tenant").get(pk=ticket.pk)
    )
    if locked.governs_subject:
        subject_for(locked.subject_type).lock(locked)
    return locked


def _resolve(
    ticket: Ticket,
    *,
    outcome: str,
    actor: Actor,
    note: str = "",
    call_handler: bool = True,
    cancelled_by: Ticket | None = None,
) -> None:
    """Close a locked open ticket, audit it, then let the subject's owner act on the outcome."""
    TicketWaitingRole.objects.filter(ticket=ticket).delete()  # a closed ticket waits for nobody
    ticket.status = outcome
    ticket.resolved_at = timezone.now()
    ticket.resolved_by = actor.user if actor.type == "user" else None
    ticket.resolved_by_label = str(actor)[:150]
    ticket.resolution_note = note
    ticket.cancelled_by = cancelled_by
    ticket.save(
        update_fields=[
            "status",
            "resolved_at",
            "resolved_by",
            "resolved_by_label",
            "resolution_note",
            "cancelled_by",
            "updated_at",
        ]
    )
    data = {"type": ticket.type, "status": outcome, "note": note}
    if cancelled_by is not None:
        data["cancelled_by"] = cancelled_by.public_id
    audit_event_append(
        tenant=ticket.tenant_id,
        actor=actor,
        action=AuditAction.ticket_resolved(outcome),
        resource=ticket,
        plan_version=ticket.plan_version,
        data=data,
    )
    lifecycle_emit([ticket_event(LifecycleKind.TICKET_RESOLVED, ticket, actor, status=outcome)])
    # Only a ticket the subject's own rules opened decides it; one attached for information
    # closes alone.
    if ticket.governs_subject and call_handler:
        token = _resolving.set(ticket)
        try:
            subject_for(ticket.subject_type).on_resolved(ticket, outcome, actor)
        finally:
            _resolving.reset(token)


def _already_resolved(ticket: Ticket) -> TicketConflict:
    return TicketConflict(f"{ticket.public_id} is already {ticket.status_label.lower()}.")


def _user_of(actor: Actor):
    if actor.type != "user" or actor.user is None:
        raise TicketNotAllowed("Only a person can decide on a ticket.")
    return actor.user


def _role_in_tenant(user, tenant_id: int, role: str | None) -> str:
    membership = Membership.objects.filter(user=user, tenant_id=tenant_id).first()
    if membership is None:
        raise TicketNotAllowed("You are not a member of this ticket's tenant.")
    if role is not None and role != membership.role:
        raise TicketNotAllowed(f"You hold the {membership.role} role here and can't act as {role}.")
    return membership.role


@transaction.atomic
def ticket_decide(
    *,
    ticket: Ticket,
    actor: Actor,
    verdict: str,
    comment: str = "",
    role: str | None = None,
    shown_hash: str | None = None,
) -> Ticket:
    """One person approves, rejects or asks for changes, in the role they hold in the tenant.

    The ticket row is locked first, so two people clicking at once are serialised: the second
    sees the first one's outcome and gets a clear TicketConflict (or a no-op when it was the same
    person giving the same verdict, e.g. a double click). `shown_hash` (approvals/fingerprint.py)
    is the version of the ticket the person was shown elsewhere (Slack, a bulk confirmation): a
    ticket that no longer hashes the same is refused as stale.
    """
    user = _user_of(actor)
    if verdict not in Verdict.values:
        raise TicketError(f"Unknown verdict {verdict!r}; use approve, reject or request_changes.")
    comment = _text(comment, "comment", COMMENT_MAX)
    ticket = _lock(ticket)
    role = _role_in_tenant(user, ticket.tenant_id, role)
    if role == Role.CLIENT and not ticket.client_visible:
        raise TicketNotAllowed("Clients may only act on tickets shown to them.")
    already = ticket.decisions.filter(user=user, verdict=verdict).exists()
    if not ticket.is_open:
        if already:
            return ticket
        raise _already_resolved(ticket)
    if already:
        return ticket  # the same approval twice (a double click): nothing more to do
    approved = ticket_approved_slots(ticket)
    refusal = decision_refusal(
        type_id=ticket.type,
        required_roles=ticket.required_roles,
        client_visible=ticket.client_visible,
        role=role,
        verdict=verdict,
        approved_slots=approved,
        own_work=ticket_own_work(ticket, user) if verdict == Verdict.APPROVE else "",
    )
    if refusal is not None:
        error = TicketConflict if refusal.code == "already_decided" else TicketNotAllowed
        raise error(refusal.message, code=refusal.code if refusal.code == "own_work" else None)
    if verdict != Verdict.APPROVE and not comment and role == Role.CLIENT:
        raise TicketError("Please give a reason.")
    refuse_if_stale(ticket, shown_hash)
    actor = actor_for_ticket(ticket, actor)
    slot = (
        slot_for_role(ticket.required_roles, role, approved, client_visible=ticket.client_visible)
        if verdict == Verdict.APPROVE
        else ""
    )
    TicketDecision.objects.create(
        ticket=ticket, user=user, role=role, slot=slot or "", verdict=verdict, comment=comment
    )
    if slot:
        approved.add(slot)
    audit_event_append(
        tenant=ticket.tenant_id,
        actor=actor,
        action=AuditAction.TICKET_DECIDED,
        resource=ticket,
        plan_version=ticket.plan_version,
        data={"verdict": verdict, "role": role, "slot": slot or "", "comment": comment},
    )
    final = verdict != Verdict.APPROVE or not open_slots(ticket.required_roles, approved)
    lifecycle_emit(
        [ticket_event(LifecycleKind.TICKET_DECIDED, ticket, actor, verdict=verdict, final=final)]
    )
    if verdict != Verdict.APPROVE:
        _resolve(ticket, outcome=VERDICT_OUTCOME[verdict], actor=actor, note=comment)
    elif not open_slots(ticket.required_roles, approved):
        _resolve(ticket, outcome=TicketStatus.APPROVED, actor=actor, note=comment)
    else:
        _waiting_roles_after_approval(ticket, approved_slots=approved)
    return ticket


@transaction.atomic
def ticket_comment_add(*, ticket: Ticket, actor: Actor, body: str) -> TicketComment:
    body = _text(body, "comment", COMMENT_MAX)
    if not body:
        raise TicketError("A comment can't be empty.")
    user = None
    if actor.type == "user":
        user = actor.user
        role = _role_in_tenant(user, ticket.tenant_id, None)
        if role == Role.CLIENT and not ticket.client_visible:
            raise TicketNotAllowed("Clients may only comment on tickets shown to them.")
    comment = TicketComment.objects.create(
        ticket=ticket, user=user, author_label=str(actor)[:150], body=body
    )
    audit_event_append(
        tenant=ticket.tenant_id,
        actor=actor,
        action=AuditAction.TICKET_COMMENTED,
        resource=ticket,
        plan_version=ticket.plan_version,
        data={"comment_id": comment.pk, "body": body},
    )
    return comment


@transaction.atomic
def ticket_cancel(*, ticket: Ticket, actor: Actor, reason: str) -> Ticket:
    """Withdraw an open ticket (e.g. its plan draft was withdrawn). Cancelling twice is a no-op.

    Called while another ticket's outcome is being carried out (a request for changes on the
    version's A5 withdraws its A7), the cancelled ticket records that ticket as its cause."""
    reason = _text(reason, "reason")
    if not reason:
        raise TicketError("Say why the ticket is cancelled.")
    ticket = _lock(ticket)
    if ticket.status == TicketStatus.CANCELLED:
        return ticket
    if not ticket.is_open:
        raise _already_resolved(ticket)
    cause = _resolving.get()
    _resolve(
        ticket,
        outcome=TicketStatus.CANCELLED,
        actor=actor,
        note=reason,
        cancelled_by=cause if cause is not None and cause.pk != ticket.pk else None,
    )
    return ticket


def _may_override(user, tenant_id: int) -> bool:
    if user.is_superuser:
        return True
    return Membership.objects.filter(user=user, tenant_id=tenant_id, role=Role.ADMIN).exists()


@transaction.atomic
def ticket_override(*, ticket: Ticket, actor: Actor, reason: str) -> Ticket:
    """A6 manual override (seed 003): an admin pushes an open ticket through.

    Records an A6 ticket approved by that admin and linked to the original (and its subject),
    then resolves the original as approved, so what it blocked proceeds through its handler.
    Returns the A6 ticket.
    """
    user = _user_of(actor)
    reason = _text(reason, "reason")
    if not reason:
        raise TicketError("A manual override needs a reason.")
    original = _lock(ticket)
    if not _may_override(user, original.tenant_id):
        raise TicketNotAllowed("Only an admin of this tenant can override a ticket.")
    if original.type == TicketType.A6:
        raise TicketConflict("An A6 override can't itself be overridden.")
    if not original.is_open:
        raise _already_resolved(original)
    override = ticket_open(
        tenant=original.tenant,
        type=TicketType.A6,
        actor=actor,
        title=f"Manual override of {original.public_id}: {original.title}"[:200],
        summary=reason,
        subject_type=SubjectKind.TICKET,
        subject_id=original.public_id,
        opener=Opener.PERSON,
        diff={
            "summary": [f"{original.ticket_type.label} {original.public_id} approved by override."],
            "changes": [
                {
                    "field": "status",
                    "before": original.status,
                    "after": TicketStatus.APPROVED,
                    "note": reason,
                }
            ],
            "raw": {
                "overridden_ticket": original.public_id,
                "subject": f"{original.subject_type}:{original.subject_id}",
            },
        },
        plan_version=original.plan_version,
        change_set_id=original.change_set_id,
        run_id=original.run_id,
        platform=original.platform,
        overrides=original,
    )
    override = _lock(override)
    TicketDecision.objects.create(
        ticket=override,
        user=user,
        role=Role.ADMIN,
        slot="admin",
        verdict=Verdict.APPROVE,
        comment=reason,
    )
    audit_event_append(
        tenant=original.tenant_id,
        actor=actor,
        action=AuditAction.TICKET_DECIDED,
        resource=override,
        plan_version=override.plan_version,
        data={"verdict": Verdict.APPROVE, "role": Role.ADMIN, "slot": "admin", "comment": reason},
    )
    _resolve(override, outcome=TicketStatus.APPROVED, actor=actor, note=reason)
    audit_event_append(
        tenant=original.tenant_id,
        actor=actor,
        action=AuditAction.TICKET_OVERRIDDEN,
        resource=original,
        plan_version=original.plan_version,
        data={"override": override.public_id, "reason": reason},
    )
    _resolve(
        original,
        outcome=TicketStatus.APPROVED,
        actor=actor,
        note=f"Manual override {override.public_id}: {reason}",
    )
    return override
