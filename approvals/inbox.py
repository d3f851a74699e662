"""Reads behind the Human Touch Dashboard: the inbox, "my queue", the red-flag lane, SLA states.

The SLA timer has three states. A ticket is `amber` when less than a quarter of its window (opened →
due) or less than AMBER_HOURS is left, `overdue` once the due time has passed. The same rule is
used three times and must agree: here (server-rendered text and the SLA filter, which is a
database expression so it pages over 100,000 tickets) and in static/js/sla.js (the live tick).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.core.paginator import Page, Paginator
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
    Window,
)

from approvals.models import Ticket, TicketDecision, TicketStatus
from approvals.presentation import subject_label
from approvals.types import RED_FLAG_TYPES, Verdict, open_slots, slot_label
from config.query import page_number
from tenants.access import memberships_of, scope_to_user
from tenants.models import INTERNAL_ROLES, Membership

AMBER_HOURS = 4
AMBER_FRACTION = 0.25

SLA_OK = "ok"
SLA_AMBER = "amber"
SLA_OVERDUE = "overdue"
SLA_STATES = [(SLA_OK, "On time"), (SLA_AMBER, "Due soon"), (SLA_OVERDUE, "Overdue")]


def sla_state(*, due_at: datetime | None, opened_at: datetime | None, now: datetime) -> str | None:
    if due_at is None:
        return None
    left = due_at - now
    if left <= timedelta(0):
        return SLA_OVERDUE
    window = due_at - opened_at if opened_at else timedelta(0)
    if left < timedelta(hours=AMBER_HOURS) or left < window * AMBER_FRACTION:
        return SLA_AMBER
    return SLA_OK


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"


def sla_text(*, due_at: datetime, now: datetime) -> str:
    """ "4h 12m left" / "2d 3h left" / "overdue 2h" — what a person reads at a glance."""
    left = due_at - now
    if left <= timedelta(0):
        return f"overdue {_span(-left)}"
    return f"{_span(left)} left"


# --- Selectors -----------------------------------------------------------------------------------
def inbox_tickets(*, user) -> QuerySet[Ticket]:
    """Every ticket of the tenants where `user` holds an internal role, newest first."""
    return (
        scope_to_user(Ticket.objects.all(), user, roles=INTERNAL_ROLES)
        .select_related("tenant")
        # Lists never show the diff preview: leave the largest column in the table.
        .defer("diff", "summary")
        .prefetch_related(
            Prefetch(
                "decisions",
                queryset=TicketDecision.objects.filter(verdict=Verdict.APPROVE).only(
                    "ticket_id", "slot"
                ),
                to_attr="approvals",
            )
        )
        .order_by("-created_at", "-id")
    )


def page_of_tickets(qs: QuerySet[Ticket], *, number, per_page: int) -> Page:
    """One page of `qs`, found by id first and loaded in full after; `number` is read by the
    one page-number parser (config/query.py: not a whole number: the first page; out of range:
    the last).

    Across many tenants the page's 25 ids come from the inbox index alone; sorting every matching
    full row just to keep 25 is what made an admin's inbox of 50 tenants slow. The ids come with
    the number of matches (COUNT(*) OVER ()), so a filter no index narrows (a search for a word in
    nearly every ticket) reads the tickets once, not once to count them and again for the page.
    """
    without_prefetch = qs.prefetch_related(None)
    paginator = Paginator(without_prefetch.values_list("pk", flat=True), per_page)
    wanted = page_number(number)
    page = None
    if wanted >= 1:
        start = (wanted - 1) * per_page
        counted = list(
            without_prefetch.annotate(matches=Window(Count("pk"))).values_list("pk", "matches")[
                start : start + per_page
            ]
        )
        if counted or wanted == 1:
            paginator.count = counted[0][1] if counted else 0
            page = Page([pk for pk, _ in counted], wanted, paginator)
    if page is None:
        # Out of range: nothing came back to count by, so count and take the last page.
        page = paginator.get_page(wanted)
    ids = list(page.object_list)
    # The rows by id, in the page's order from the ids: no ORDER BY to build or run again.
    rows = {ticket.pk: ticket for ticket in qs.filter(pk__in=ids).order_by()} if ids else {}
    page.object_list = [rows[pk] for pk in ids if pk in rows]
    return page


def capped_count(qs: QuerySet, *, cap: int) -> int:
    """Count up to `cap` + 1 rows: enough for a badge ("100+") without counting them all."""
    return qs.order_by()[: cap + 1].count()


def red_flags(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    """Open A8/A9: the lane above the inbox. Never takes the inbox filters."""
    return qs.filter(status=TicketStatus.OPEN, type__in=RED_FLAG_TYPES).prefetch_related(None)


def red_flag_lane(qs: QuerySet[Ticket], *, size: int) -> tuple[list[Ticket], int]:
    """The lane's first `size` red flags (`red_flags(qs)`, in its order) and how many are open,
    in one query: each row carries the count (COUNT(*) OVER (), taken before the LIMIT)."""
    rows = list(red_flags(qs).annotate(lane_count=Window(Count("pk")))[:size])
    return rows, rows[0].lane_count if rows else 0


def waiting_for(
    qs: QuerySet[Ticket], *, user, memberships: Iterable[Membership] | None = None
) -> QuerySet[Ticket]:
    """ "My queue": open tickets with an approval slot that a role `user` holds there may still
    fill, on which `user` has not acted yet. One SQL query whatever the number of tenants.

    It reads the TicketWaitingRole rows the services keep (never the tickets' JSON) and sorts by
    their copy of the ticket order, so a page walks their index newest first. A person holds one
    role per tenant and a ticket has one row per role: the join yields each ticket at most once.
    """
    tenant_ids_by_role: dict[str, list[int]] = {}
    if memberships is None:
        memberships = memberships_of(user)
    for membership in memberships:
        if membership.role not in INTERNAL_ROLES:
            continue
        tenant_ids_by_role.setdefault(membership.role, []).append(membership.tenant_id)
    if not tenant_ids_by_role:
        return qs.none()
    waiting = Q()
    for role, tenant_ids in tenant_ids_by_role.items():
        waiting |= Q(waiting_roles__tenant_id__in=tenant_ids, waiting_roles__role=role)
    acted = TicketDecision.objects.filter(ticket=OuterRef("pk"), user=user)
    return (
        qs.filter(waiting, status=TicketStatus.OPEN)
        .exclude(Exists(acted))
        .order_by("-waiting_roles__ticket_created_at", "-waiting_roles__ticket_id")
    )


def by_urgency(qs: QuerySet[Ticket], *, now: datetime) -> QuerySet[Ticket]:
    """The inbox's order: open tickets past their due time first (the most overdue on top), then
    amber ones, then the rest of the open ones by due time (those without one after them), then
    closed tickets newest first. The buckets are `sla_state`'s rule as one database expression,
    so a page of 25 is sorted in the database over every match."""
    open_ = Q(status=TicketStatus.OPEN)
    timed = open_ & Q(sla_due_at__isnull=False)
    return (
        qs.alias(**_amber_aliases(now))
        .alias(
            urgency=Case(
                When(timed & Q(sla_due_at__lte=now), then=Value(0)),
                When(timed & _amber_condition(now), then=Value(1)),
                When(timed, then=Value(2)),
                When(open_, then=Value(3)),
                default=Value(4),
                output_field=IntegerField(),
            ),
            urgency_due=Case(When(timed, then=F("sla_due_at")), output_field=DateTimeField()),
        )
        .order_by("urgency", F("urgency_due").asc(nulls_last=True), "-created_at", "-id")
    )


def _amber_aliases(now: datetime) -> dict:
    # Amber: due - now < window / 4, compared as 4 × (due - now) < due - opened: durations on
    # both sides, which SQLite and PostgreSQL both compare natively.
    return {
        "sla_window": ExpressionWrapper(F("sla_due_at") - F("created_at"), DurationField()),
        "sla_left_scaled": ExpressionWrapper(
            (F("sla_due_at") - Value(now, DateTimeField())) * int(1 / AMBER_FRACTION),
            DurationField(),
        ),
    }


def _amber_condition(now: datetime) -> Q:
    """Needs `_amber_aliases`; true for a due time in the future as well as past ones."""
    return Q(sla_due_at__lt=now + timedelta(hours=AMBER_HOURS)) | Q(
        sla_window__gt=F("sla_left_scaled")
    )


def with_sla_state(qs: QuerySet[Ticket], state: str, *, now: datetime) -> QuerySet[Ticket]:
    """The SLA filter as one database condition (the same rule as `sla_state`)."""
    qs = qs.filter(status=TicketStatus.OPEN, sla_due_at__isnull=False)
    if state == SLA_OVERDUE:
        return qs.filter(sla_due_at__lte=now)
    qs = qs.filter(sla_due_at__gt=now).alias(**_amber_aliases(now))
    amber = _amber_condition(now)
    if state == SLA_AMBER:
        return qs.filter(amber)
    return qs.exclude(amber)


def ticket_subject_label(ticket: Ticket) -> str:
    """What the ticket is about, for a button: "v12", "change set cs-3f2a9c1d4e", "run-93ab",
    “DNS record for acme-shop.de” —
    in full, and never the ticket itself. The subject's owner names it where it has a label
    (approvals/presentation.py)."""
    label = subject_label(ticket)
    if label:
        return label
    if ticket.overrides_id:
        return ticket.subject_id
    if ticket.plan_version:
        return f"v{ticket.plan_version}"
    if ticket.change_set_id:
        return f"change set {ticket.change_set_id}"
    if ticket.run_id and ticket.is_red_flag:
        # A red flag is about its run; any other ticket only came from one (a copy claim a QC
        # run found is about the copy, named by its title below).
        # Run ids often read "run-93ab" already; "run run-93ab" would stutter.
        return ticket.run_id if ticket.run_id.lower().startswith("run") else f"run {ticket.run_id}"
    # Nothing else names the subject (an access request, a creative theme): the title does.
    return f"“{ticket.title}”"


def approved_slots(ticket: Ticket) -> set[str]:
    approvals = getattr(ticket, "approvals", None)
    if approvals is None:
        approvals = ticket.decisions.filter(verdict=Verdict.APPROVE)
    return {decision.slot for decision in approvals}


def waiting_slots(ticket: Ticket) -> list[str]:
    """The approval slots still open, as people read them ("operator or admin")."""
    if not ticket.is_open:
        return []
    return [
        slot_label(slot, client_visible=ticket.client_visible)
        for slot in open_slots(ticket.required_roles, approved_slots(ticket))
    ]
