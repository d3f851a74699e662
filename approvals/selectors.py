"""Reads of tickets. Every list a person sees goes through `tickets_for_user` (tenant scoping and
the client rule: a client sees only client-visible tickets of their own tenants)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Avg, Count, F, Q, QuerySet
from django.db.models.functions import Trunc

from approvals import rollups
from approvals.explain import Withdrawn
from approvals.models import Ticket, TicketDecision, TicketStatus
from approvals.presentation import client_kind, subject_client_words, ticket_client_kind
from approvals.rules import allowed_verdicts
from approvals.subjects import subject_exists, subject_for
from approvals.types import (
    TICKET_TYPES,
    SubjectKind,
    TicketType,
    Verdict,
    client_must_approve_budget,
    open_slots,
    slot_label,
    slot_roles,
)
from config import sql
from config.sql import ComparedRanges
from tenants.access import tenant_ids_for
from tenants.models import INTERNAL_ROLES, Membership, Role, TenantPolicy


def subject_blocking_tickets(*, tenant, subject_type: str, subject_id: str) -> QuerySet[Ticket]:
    """Open tickets that govern this subject: what they block stays blocked until they resolve.
    A ticket an agent attached for information blocks nothing (approvals/types.py)."""
    return Ticket.objects.filter(
        tenant=tenant,
        subject_type=subject_type,
        subject_id=str(subject_id),
        status=TicketStatus.OPEN,
        governs_subject=True,
    )


def compliance_review_open(*, tenant, track_key: str, entities: list[str]) -> Ticket | None:
    """The oldest open A7 on the track or on one of the entities ("platform:entity_id"): while
    it is open no creative launches or rotates there, whoever opened it (docs/rules.md)."""
    return (
        Ticket.objects.filter(tenant=tenant, type=TicketType.A7, status=TicketStatus.OPEN)
        .filter(
            Q(subject_type=SubjectKind.TRACK, subject_id=track_key)
            | Q(subject_type=SubjectKind.MANIFEST_ENTRY, subject_id__in=entities)
        )
        .order_by("created_at", "pk")
        .first()
    )


def tickets_for_user(*, user) -> QuerySet[Ticket]:
    """Tickets of the user's tenants; in a tenant where they are a client, only client-visible."""
    internal = tenant_ids_for(user, roles=INTERNAL_ROLES)
    client = tenant_ids_for(user, roles=[Role.CLIENT])
    return Ticket.objects.filter(
        Q(tenant__in=internal) | (Q(tenant__in=client) & Q(client_visible=True))
    )


def ticket_approved_slots(ticket: Ticket) -> set[str]:
    return set(ticket.decisions.filter(verdict=Verdict.APPROVE).values_list("slot", flat=True))


@dataclass(frozen=True)
class TicketProgress:
    approved: list[str]  # slots approved so far, in required order
    pending: list[str]  # slots still waiting


def ticket_progress(ticket: Ticket) -> TicketProgress:
    approved = ticket_approved_slots(ticket)
    return TicketProgress(
        approved=[slot for slot in ticket.required_roles if slot in approved],
        pending=ticket_pending_slots(ticket, approved_slots=approved),
    )


def ticket_pending_slots(ticket: Ticket, *, approved_slots: set[str] | None = None) -> list[str]:
    """The slots still open, each with only the roles that can act on the ticket: an internal
    A4's "admin/client" is "admin", since the client can't see it."""
    if approved_slots is None:
        approved_slots = ticket_approved_slots(ticket)
    return [
        "/".join(slot_roles(slot, client_visible=ticket.client_visible))
        for slot in open_slots(ticket.required_roles, approved_slots)
    ]


def _as_withdrawn(tickets) -> list[Withdrawn]:
    approved: dict[int, set[str]] = {}
    for ticket_id, slot in TicketDecision.objects.filter(
        ticket__in=[t.pk for t in tickets], verdict=Verdict.APPROVE
    ).values_list("ticket_id", "slot"):
        approved.setdefault(ticket_id, set()).add(slot)
    return [
        Withdrawn(
            public_id=t.public_id,
            waiting_for=tuple(
                slot_label(slot, client_visible=t.client_visible)
                for slot in open_slots(t.required_roles, approved.get(t.pk, set()))
            ),
            type_name=t.ticket_type.name,
        )
        for t in tickets
    ]


def ticket_withdraws(ticket: Ticket) -> list[Withdrawn]:
    """The other open tickets about the same subject, which a rejection or a request for changes
    on `ticket` withdraws: the subject's owner ends the subject's approval (a version goes back
    to draft, a change set is refused, a run ends) and cancels the rest (approvals/subjects.py)."""
    if not ticket.is_open or not ticket.governs_subject:
        return []
    siblings = list(
        subject_blocking_tickets(
            tenant=ticket.tenant_id,
            subject_type=ticket.subject_type,
            subject_id=ticket.subject_id,
        )
        .exclude(pk=ticket.pk)
        .order_by("pk")
    )
    return _as_withdrawn(siblings)


def ticket_withdrew(ticket: Ticket) -> list[Withdrawn]:
    """The tickets that `ticket`'s outcome withdrew (Ticket.cancelled_by)."""
    return _as_withdrawn(list(ticket.cancelled_tickets.order_by("pk")))


def ticket_own_work_reason(ticket: Ticket, user) -> str:
    """Why the ticket is `user`'s own work ("you drafted v6"), or "" — four eyes
    (`approval_policy.separation_of_duties`): they fill none of its approval slots."""
    if not user.is_authenticated:
        return ""
    enforced = (
        TenantPolicy.objects.filter(tenant_id=ticket.tenant_id)
        .values_list("separation_of_duties", flat=True)
        .first()
    )
    if not enforced:
        return ""
    if ticket.governs_subject:
        own = subject_for(ticket.subject_type).authors(ticket).get(user.pk)
        if own:
            return own
    if ticket.requested_by_id == user.pk:
        return f"you asked for {ticket.public_id}"
    return ""


def ticket_allowed_verdicts(*, ticket: Ticket, user, role: str | None = None) -> list[str]:
    """The verdicts `user` may give now (for showing buttons), four eyes included; ticket_decide
    enforces the same rules (approvals/rules.py). A list page passes the `role` it knows and
    prefetches `decisions`, so neither costs a query per ticket."""
    if not ticket.is_open or not user.is_authenticated:
        return []
    if role is None:
        membership = Membership.objects.filter(user=user, tenant_id=ticket.tenant_id).first()
        if membership is None:
            return []
        role = membership.role
    approvals = [d for d in ticket.decisions.all() if d.verdict == Verdict.APPROVE]
    return allowed_verdicts(
        type_id=ticket.type,
        required_roles=ticket.required_roles,
        client_visible=ticket.client_visible,
        role=role,
        approved_slots={d.slot for d in approvals},
        approved_by_user=any(d.user_id == user.pk for d in approvals),
        own_work_reason=ticket_own_work_reason(ticket, user),
    )


def ticket_waits_for_client(ticket: Ticket) -> bool:
    """Does this ticket wait for the client — the portal's "Waiting for you", and the client's
    weekly report's: open, shown to the client, no client has decided on it yet and a client may
    approve or reject it now. A page of many tickets prefetches `decisions`."""
    if not ticket.is_open or not ticket.client_visible:
        return False
    decisions = list(ticket.decisions.all())
    if any(d.role == Role.CLIENT for d in decisions):
        return False
    verdicts = allowed_verdicts(
        type_id=ticket.type,
        required_roles=ticket.required_roles,
        client_visible=ticket.client_visible,
        role=Role.CLIENT,
        approved_slots={d.slot for d in decisions if d.verdict == Verdict.APPROVE},
        approved_by_user=False,
        own_work_reason="",
    )
    return Verdict.APPROVE in verdicts or Verdict.REJECT in verdicts


def ticket_required_roles(
    *, tenant, type: str, budget_increase_pct: Decimal | None = None
) -> list[str]:
    """The approval slots for a new ticket: the type's own, plus the client when the tenant's
    policy says a budget increase this large needs the client (A3, A5)."""
    roles = list(TICKET_TYPES[type].required_roles)
    policy = TenantPolicy.objects.get(tenant=tenant)
    if Role.CLIENT not in roles and client_must_approve_budget(
        increase_pct=budget_increase_pct,
        client_must_approve=policy.client_must_approve_budget_increase,
        threshold_pct=policy.client_budget_increase_threshold_pct,
    ):
        roles.append(Role.CLIENT)
    return roles


# The references a ticket may carry beside its subject, each naming a subject of a kind.
REFERENCES = {
    "plan_version": (SubjectKind.PLAN_VERSION, "plan version"),
    "change_set_id": (SubjectKind.CHANGE_SET, "change set"),
    "run_id": (SubjectKind.AGENT_RUN, "agent run"),
}


def unknown_references(*, tenant, **values) -> dict[str, str]:
    """The references among `values` (plan_version=, change_set_id=, run_id=) that name nothing
    of the tenant, each with a sentence saying so; empty values are skipped."""
    return {
        field: f"this tenant has no {REFERENCES[field][1]} {value!r}."
        for field, value in values.items()
        if value not in (None, "")
        and not subject_exists(REFERENCES[field][0], tenant=tenant, subject_id=str(value))
    }


# --- What the ops metrics and the weekly report read (metrics/selectors.py, metrics/report.py) ---
# Aggregates over the tenants in `tenant_ids` and both of `ranges` at once, grouped by a `period`
# column; the indexes they range over are Ticket.Meta.indexes.
def approval_times_by_type_raw(*, tenant_ids: Sequence[int], ranges: ComparedRanges) -> list[dict]:
    """Per ticket type and period: approvals, mean, median and p90 seconds opened → approved (A6
    overrides are approved as they are opened and are left out)."""
    tickets = ranges.filter(
        Ticket.objects.filter(tenant_id__in=tenant_ids, status=TicketStatus.APPROVED),
        "resolved_at",
    ).exclude(type=TicketType.A6)
    return list(
        tickets.annotate(seconds=sql.Seconds("resolved_at", "created_at"))
        .values("type", "period")
        .annotate(
            n=Count("id"),
            mean=Avg("seconds"),
            median=sql.Percentile("seconds", 0.5),
            p90=sql.Percentile("seconds", 0.9),
        )
        .order_by("type", "period")
    )


def overrides_by_bucket_raw(
    *, tenant_ids: Sequence[int], ranges: ComparedRanges, bucket: str, zone: ZoneInfo
) -> list[dict]:
    """Per bucket (day, week or month on `zone`'s wall clock) and period: A6 overrides."""
    overrides = ranges.filter(
        Ticket.objects.filter(tenant_id__in=tenant_ids, type=TicketType.A6), "created_at"
    )
    return list(
        overrides.annotate(bucket=Trunc("created_at", bucket, tzinfo=zone))
        .values("bucket", "period")
        .annotate(n=Count("id"))
        .order_by("bucket")
    )


def _breached(now: datetime) -> Q:
    return Q(resolved_at__gt=F("sla_due_at")) | Q(resolved_at__isnull=True, sla_due_at__lt=now)


def sla_breaches_by_type_raw(
    *, tenant_ids: Sequence[int], ranges: ComparedRanges, now: datetime
) -> list[dict]:
    """Per ticket type and period: tickets opened with a due time (not withdrawn), and those
    decided after it or still open past it at `now`."""
    tickets = ranges.filter(
        Ticket.objects.filter(tenant_id__in=tenant_ids, sla_due_at__isnull=False), "created_at"
    ).exclude(status=TicketStatus.CANCELLED)
    return list(
        tickets.values("type", "period")
        .annotate(n=Count("id"), breached=Count("id", filter=_breached(now)))
        .order_by("type", "period")
    )


def sla_breaches_by_slot_raw(
    *, tenant_ids: Sequence[int], ranges: ComparedRanges, now: datetime
) -> list[dict]:
    """Per approval slot ("planner", "operator/admin") and period: tickets that needed it
    (approved or still open), and breached ones where it was not filled by the due time."""
    tenants, params = sql.in_ids("t.tenant_id", tenant_ids)
    decisions = TicketDecision._meta.db_table
    # Only a breached ticket looks for its slot's approval (by its ticket_id index).
    query = f"""
        SELECT e.value AS slot, {sql.period_sql("t.created_at")} AS period, COUNT(*),
               SUM(CASE WHEN COALESCE(t.resolved_at, %s) <= t.sla_due_at THEN 0
                        WHEN EXISTS (
                            SELECT 1 FROM {decisions} d
                            WHERE d.ticket_id = t.id AND d.slot = e.value AND d.verdict = %s
                              AND d.created_at <= t.sla_due_at
                        ) THEN 0 ELSE 1 END)
        FROM {Ticket._meta.db_table} t
        CROSS JOIN {sql.json_text_elements("t.required_roles", "e")}
        WHERE {tenants} AND t.sla_due_at IS NOT NULL AND t.status IN (%s, %s)
          AND t.created_at >= %s AND t.created_at < %s
        GROUP BY e.value, {sql.period_sql("t.created_at")}
        ORDER BY slot
    """
    split = sql.moment(ranges.split)
    rows = sql.fetch(
        query,
        [
            split,
            sql.moment(now),
            Verdict.APPROVE.value,
            *params,
            TicketStatus.OPEN.value,
            TicketStatus.APPROVED.value,
            sql.moment(ranges.since),
            sql.moment(ranges.until),
            split,
        ],
    )
    return [
        {"slot": slot, "period": period, "n": n, "breached": breached or 0}
        for slot, period, n, breached in rows
    ]


# The page reads the ticket figures from daily rollups where days are whole
# (approvals/rollups.py); the *_raw aggregates above are the definition, read on SQLite and held
# against the rollups by tests/approvals/test_rollups.py.
def approval_times_by_type(*, tenant_ids: Sequence[int], ranges: ComparedRanges) -> list[dict]:
    """Per ticket type and period: approvals, mean, median and p90 seconds opened → approved (A6
    overrides are approved as they are opened and are left out)."""
    if not (sql.is_postgres() and rollups.ready()):
        return approval_times_by_type_raw(tenant_ids=tenant_ids, ranges=ranges)
    return rollups.approval_times(tenant_ids=tenant_ids, ranges=ranges)


def sla_breaches_by_type(
    *, tenant_ids: Sequence[int], ranges: ComparedRanges, now: datetime
) -> list[dict]:
    """Per ticket type and period: tickets opened with a due time (not withdrawn), and those
    decided after it or still open past it at `now`."""
    if not (sql.is_postgres() and rollups.ready()):
        return sla_breaches_by_type_raw(tenant_ids=tenant_ids, ranges=ranges, now=now)
    return rollups.sla_breaches_by_type(tenant_ids=tenant_ids, ranges=ranges, now=now)


def sla_breaches_by_slot(
    *, tenant_ids: Sequence[int], ranges: ComparedRanges, now: datetime
) -> list[dict]:
    """Per approval slot ("planner", "operator/admin") and period: tickets that needed it
    (approved or still open), and breached ones where it was not filled by the due time."""
    if not (sql.is_postgres() and rollups.ready()):
        return sla_breaches_by_slot_raw(tenant_ids=tenant_ids, ranges=ranges, now=now)
    return rollups.sla_breaches_by_slot(tenant_ids=tenant_ids, ranges=ranges, now=now)


def overrides_by_bucket(
    *, tenant_ids: Sequence[int], ranges: ComparedRanges, bucket: str, zone: ZoneInfo
) -> list[dict]:
    """Per bucket (day, week or month on `zone`'s wall clock) and period: A6 overrides (from the
    rollup days when every tenant's days are `zone`'s)."""
    if sql.is_postgres() and rollups.ready():
        found = rollups.overrides_by_bucket(
            tenant_ids=tenant_ids, ranges=ranges, bucket=bucket, zone=zone
        )
        if found is not None:
            return found
    return overrides_by_bucket_raw(tenant_ids=tenant_ids, ranges=ranges, bucket=bucket, zone=zone)


@dataclass(frozen=True)
class WaitingTicket:
    """An open ticket as the weekly report lists it."""

    public_id: str
    type: str
    client_kind: str  # what the client is asked, in their words (the portal's)
    title: str
    opened_at: datetime
    sla_due_at: datetime | None
    client_visible: bool
    client_title: str = ""  # its title as the portal gives it to the client
    waits_for_client: bool = False  # the portal's "Waiting for you" (ticket_waits_for_client)


def open_tickets_about(
    *,
    tenant_id: int,
    plan_versions: Iterable[int],
    change_set_ids: Iterable[str],
    subjects: Mapping[str, Iterable[str]],
    client_visible_only: bool,
) -> list[WaitingTicket]:
    """The tenant's open tickets about any of these plan versions (numbers), change sets (ids)
    or subjects ({subject kind: ids}), oldest first. `plan_versions` and `change_set_ids` may
    be querysets of their owners' values: the read stays one query."""
    about = Q(plan_version__in=plan_versions) | Q(change_set_id__in=change_set_ids)
    for kind, ids in subjects.items():
        about |= Q(subject_type=kind, subject_id__in=[str(i) for i in ids])
    tickets = Ticket.objects.filter(tenant_id=tenant_id, status=TicketStatus.OPEN).filter(about)
    if client_visible_only:
        tickets = tickets.filter(client_visible=True)
    if not client_visible_only:
        return [
            WaitingTicket(
                public_id=ticket.public_id,
                type=ticket.type,
                client_kind=ticket_client_kind(ticket),
                title=ticket.title,
                opened_at=ticket.created_at,
                sla_due_at=ticket.sla_due_at,
                client_visible=ticket.client_visible,
                waits_for_client=ticket_waits_for_client(ticket),
            )
            for ticket in tickets.order_by("created_at", "id").prefetch_related("decisions")
        ]
    # For the client: each ticket as the portal names it, in the subject's current figures (a
    # spend approval reads the move that will apply, as the portal item does), and whether the
    # portal lists it under "Waiting for you".
    waiting = []
    for ticket in tickets.order_by("created_at", "id").prefetch_related("decisions"):
        words = subject_client_words(ticket)
        title = words.title if words is not None else ticket.title
        waiting.append(
            WaitingTicket(
                public_id=ticket.public_id,
                type=ticket.type,
                client_kind=client_kind(ticket, words),
                title=title,
                opened_at=ticket.created_at,
                sla_due_at=ticket.sla_due_at,
                client_visible=ticket.client_visible,
                client_title=title,
                waits_for_client=ticket_waits_for_client(ticket),
            )
        )
    return waiting
