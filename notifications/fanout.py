"""Who is told what, for one lifecycle event (issue 19.1–19.3).

    ticket opened      the roles it waits for (clients in their portal's words); a red flag
                       (A8, A9) goes to every operator and admin, muted or not
    ticket assigned    the assignee (their stand-in while they are away)
    ticket decided     a partial approval: whoever drafted the subject or asked for the ticket
    ticket resolved    whoever drafted the subject or asked for it, and its assignee
    ticket escalated   the people it waits for, and its assignee (overdue)
    QC alert opened    operators and admins
    and, for tickets, whoever follows the ticket, its track or its run.

Four eyes: a person who may not approve a ticket (they drafted it or asked for it) is not told
it waits for them. The person who acted is never told of their own act. A mute (ticket, track or
run) silences everything but red flags. A person away in the tenant is replaced by their
stand-in ("for paul"). Then each person's preference per kind: off drops it, otherwise it shows
in the bell and is e-mailed at once or in the digest.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.urls import reverse
from django.utils import timezone

from approvals.events import LifecycleKind
from approvals.inbox import sla_text
from approvals.models import Ticket, TicketWaitingRole
from approvals.presentation import subject_client_words
from approvals.subjects import subject_for
from approvals.types import RED_FLAG_TYPES, slot_label, slot_roles
from notifications.kinds import KIND_SPECS, Delivery, Kind, effective_delivery
from notifications.models import Notification, OutboxEvent, Preference, Watch, WatchMode
from optimization.selectors import track_keys_of_change_sets
from plans.selectors import track_keys_of_versions
from tenants.away import stand_ins_today
from tenants.models import Membership, Role, Tenant, TenantPolicy

TITLE_MAX = 300
# Higher wins when one person would be told one event twice (as a waiter and a follower).
PRIORITY = [
    Kind.RED_FLAG,
    Kind.WAITING,
    Kind.CLIENT_WAITING,
    Kind.SLA,
    Kind.DECIDED,
    Kind.QC_ALERT,
    Kind.FOLLOWED,
    Kind.INTEGRATION,
]


@dataclass
class Message:
    kind: str
    title: str
    body: str = ""
    url: str = ""


@dataclass
class Audience:
    """Who is told, by kind: {user id: Message}."""

    told: dict[int, Message] = field(default_factory=dict)

    def add(self, user_ids, message: Message) -> None:
        for user_id in user_ids:
            current = self.told.get(user_id)
            if current is None or PRIORITY.index(message.kind) < PRIORITY.index(current.kind):
                self.told[user_id] = message


# --- Reads ---------------------------------------------------------------------------------------
# One outbox batch fans out many events of few tenants: who holds which role, who is away, who
# follows what and who chose what are read once per batch (fan_out_batch), not once per event.
_memo: ContextVar[dict | None] = ContextVar("notifications_fan_out_memo", default=None)


@contextmanager
def fan_out_batch() -> Iterator[None]:
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def _cached(key, compute):
    memo = _memo.get()
    if memo is None:
        return compute()
    if key not in memo:
        memo[key] = compute()
    return memo[key]


def _members(tenant_id: int, roles) -> dict[int, str]:
    roles = frozenset(roles)
    return _cached(
        ("members", tenant_id, roles),
        lambda: dict(
            Membership.objects.filter(tenant_id=tenant_id, role__in=list(roles)).values_list(
                "user_id", "role"
            )
        ),
    )


def _cannot_approve(ticket: Ticket) -> set[int]:
    """Four eyes: the people who wrote the subject or asked for the ticket, when the tenant
    keeps separation of duties."""
    enforced = _cached(
        ("separation_of_duties", ticket.tenant_id),
        lambda: (
            TenantPolicy.objects.filter(tenant_id=ticket.tenant_id)
            .values_list("separation_of_duties", flat=True)
            .first()
        ),
    )
    return _authors(ticket) if enforced else set()


def _authors(ticket: Ticket) -> set[int]:
    authors = set()
    if ticket.governs_subject:
        authors |= set(subject_for(ticket.subject_type).authors(ticket))
    if ticket.requested_by_id:
        authors.add(ticket.requested_by_id)
    return authors


def ticket_targets(ticket: Ticket) -> list[tuple[str, str]]:
    """What a person may follow or mute that this ticket belongs to."""
    targets = [("ticket", ticket.public_id)]
    track = ""
    if ticket.plan_version:
        track = _cached(
            ("version_track", ticket.tenant_id, ticket.plan_version),
            lambda: track_keys_of_versions(
                tenant_id=ticket.tenant_id, numbers=[ticket.plan_version]
            ).get(ticket.plan_version, ""),
        )
    if not track and ticket.change_set_id:
        track = _cached(
            ("change_set_track", ticket.tenant_id, ticket.change_set_id),
            lambda: track_keys_of_change_sets(
                tenant_id=ticket.tenant_id, change_set_ids=[ticket.change_set_id]
            ).get(ticket.change_set_id, ""),
        )
    if track:
        targets.append(("track", track))
    if ticket.run_id:
        targets.append(("run", ticket.run_id))
    return targets


def _watchers(tenant_id: int, targets) -> tuple[set[int], set[int]]:
    """(followers, muters) of any of `targets`."""
    followers, muters = set(), set()
    if not targets:
        return followers, muters
    watches = _cached(
        ("watches", tenant_id),
        lambda: list(
            Watch.objects.filter(tenant_id=tenant_id).values_list(
                "target_type", "target_id", "user_id", "mode"
            )
        ),
    )
    wanted = set(targets)
    for target_type, target_id, user_id, mode in watches:
        if (target_type, target_id) in wanted:
            (muters if mode == WatchMode.MUTE else followers).add(user_id)
    return followers, muters


# --- Words ---------------------------------------------------------------------------------------
def _ticket_url(ticket: Ticket, *, client: bool = False) -> str:
    if client:
        return reverse("portal:item", kwargs={"public_id": ticket.public_id})
    return reverse("ticket", kwargs={"public_id": ticket.public_id})


def _sla_sentence(ticket: Ticket, tenant: Tenant) -> str:
    if ticket.sla_due_at is None:
        return ""
    due = ticket.sla_due_at.astimezone(ZoneInfo(tenant.time_zone))
    left = sla_text(due_at=ticket.sla_due_at, now=timezone.now())
    return f"SLA: due {due.strftime('%a %d %b %H:%M %Z')} ({left})."


def _waiting_message(ticket: Ticket, tenant: Tenant, roles: list[str]) -> Message:
    who = " or ".join(roles)
    lines = [ticket.summary.strip()] if ticket.summary.strip() else []
    lines.append(_sla_sentence(ticket, tenant))
    return Message(
        Kind.WAITING,
        f"{ticket.public_id} waits for you ({who}): {ticket.ticket_type.name} — {ticket.title}",
        "\n".join(line for line in lines if line),
        _ticket_url(ticket),
    )


def _client_message(ticket: Ticket) -> Message:
    words = subject_client_words(ticket)
    title = words.title if words else ticket.title
    sentences = list(words.summary or ()) if words and words.summary is not None else []
    if not sentences:
        diff = ticket.diff if isinstance(ticket.diff, dict) else {}
        summary = diff.get("summary")
        sentences = summary if isinstance(summary, list) else []
    if not sentences and not words and ticket.summary:
        sentences = [ticket.summary]
    return Message(
        Kind.CLIENT_WAITING,
        f"Waiting for your approval: {title}",
        "\n".join(str(s) for s in sentences),
        _ticket_url(ticket, client=True),
    )


def _red_flag_message(ticket: Ticket, tenant: Tenant) -> Message:
    figures = ticket.red_flag or {}
    if ticket.type == "A8":
        detail = (
            f"Loop {figures.get('loop_type', '—')}, {figures.get('attempt_count', '—')} attempts."
        )
    else:
        detail = (
            f"Estimated {figures.get('estimated_usd', '—')} USD, actual "
            f"{figures.get('actual_usd', '—')} USD."
        )
    run = f" Run {ticket.run_id} is blocked." if ticket.run_id else ""
    return Message(
        Kind.RED_FLAG,
        f"Red flag {ticket.public_id}: {ticket.ticket_type.name} — {ticket.title}",
        f"{detail}{run} {_sla_sentence(ticket, tenant)}".strip(),
        _ticket_url(ticket),
    )


RESOLVED_WORDS = {
    "approved": "was approved",
    "rejected": "was rejected",
    "changes_requested": "was sent back for changes",
    "cancelled": "was withdrawn",
}


# --- The fan-out ---------------------------------------------------------------------------------
def audience_for(event: OutboxEvent, ticket: Ticket | None) -> Audience:
    """Who is told about `event`, before mutes, stand-ins and preferences."""
    # Long on purpose: one branch per event kind, each a few lines naming who is told; a table
    # would need a callable per row and hide the same branches.
    audience = Audience()
    tenant = event.tenant
    kind = event.kind
    if kind == LifecycleKind.QC_ALERT_OPENED:
        data = event.data
        grain = data.get("main_task_id", "") + (
            f"/{data['subtask_id']}" if data.get("subtask_id") else ""
        )
        audience.add(
            _members(tenant.pk, [Role.OPERATOR, Role.ADMIN]),
            Message(
                Kind.QC_ALERT,
                f"QC alert in {tenant.name}: {grain} passes {data.get('success_rate')} "
                f"of {data.get('sample')} results (floor {data.get('floor')})",
                "",
                reverse("dashboard"),
            ),
        )
        return audience
    if kind == LifecycleKind.VERSION_OUTDATED:
        data = event.data
        audience.add(
            data.get("drafters", []),
            Message(
                Kind.DECIDED,
                f"v{data.get('number')} is outdated: v{data.get('by_version')} of "
                f"{data.get('track')} was approved first",
                "Both were built on the same version. Carry your draft forward onto the "
                "current version from its page.",
                reverse("plans:version", args=[tenant.slug, data.get("number")]),
            ),
        )
        return audience
    if ticket is None:
        return audience
    targets = ticket_targets(ticket)
    followers, _muters = _watchers(tenant.pk, targets)
    if kind == LifecycleKind.TICKET_OPENED:
        if not ticket.is_open:
            return audience  # decided before anyone could be told: nothing waits
        if ticket.type in RED_FLAG_TYPES:
            audience.add(
                _members(tenant.pk, [Role.OPERATOR, Role.ADMIN]),
                _red_flag_message(ticket, tenant),
            )
        else:
            roles = set(
                TicketWaitingRole.objects.filter(ticket=ticket).values_list("role", flat=True)
            )
            members = _members(tenant.pk, roles)
            excluded = _cannot_approve(ticket)
            staff = [uid for uid, role in members.items() if role != Role.CLIENT]
            clients = [uid for uid, role in members.items() if role == Role.CLIENT]
            audience.add(
                [uid for uid in staff if uid not in excluded],
                _waiting_message(ticket, tenant, sorted(roles - {Role.CLIENT})),
            )
            audience.add([uid for uid in clients if uid not in excluded], _client_message(ticket))
        audience.add(
            followers,
            Message(
                Kind.FOLLOWED,
                f"New on what you follow: {ticket.public_id} {ticket.title}",
                ticket.summary,
                _ticket_url(ticket),
            ),
        )
    elif kind == LifecycleKind.TICKET_ASSIGNED:
        if ticket.is_open and ticket.assignee_id:
            message = _waiting_message(ticket, tenant, [])
            message.title = (
                f"{ticket.public_id} is assigned to you: {ticket.ticket_type.name} — {ticket.title}"
            )
            audience.add([ticket.assignee_id], message)
    elif kind == LifecycleKind.TICKET_DECIDED:
        if event.data.get("final"):
            return audience  # the resolution tells them
        filled = set(ticket.decisions.values_list("slot", flat=True))
        pending = ", ".join(
            slot_label(slot, client_visible=ticket.client_visible)
            for slot in ticket.required_roles
            if slot not in filled
        )
        audience.add(
            _authors(ticket) | followers,
            Message(
                Kind.DECIDED,
                f"{event.actor_label} approved {ticket.public_id} ({ticket.title})",
                f"It still waits for {pending}." if pending else "",
                _ticket_url(ticket),
            ),
        )
    elif kind == LifecycleKind.TICKET_RESOLVED:
        status = event.data.get("status", ticket.status)
        words = RESOLVED_WORDS.get(status, f"is {status}")
        by = f" by {event.actor_label}" if event.actor_label else ""
        told = _authors(ticket) | ({ticket.assignee_id} if ticket.assignee_id else set())
        if event.actor_user_id and _members(tenant.pk, [Role.CLIENT]).get(event.actor_user_id):
            # The client decided: their account team (the ticket's other roles) hears of it.
            team_roles = {
                role
                for slot in ticket.required_roles
                for role in slot_roles(slot)
                if role != Role.CLIENT
            }
            told |= set(_members(tenant.pk, team_roles))
        message = Message(
            Kind.DECIDED,
            f"{ticket.public_id} {words}{by}: {ticket.title}",
            ticket.resolution_note,
            _ticket_url(ticket),
        )
        audience.add(told, message)
        audience.add(followers, Message(Kind.FOLLOWED, message.title, message.body, message.url))
    elif kind == LifecycleKind.TICKET_ESCALATED:
        if not ticket.is_open:
            return audience
        roles = set(TicketWaitingRole.objects.filter(ticket=ticket).values_list("role", flat=True))
        members = _members(tenant.pk, roles - {Role.CLIENT})
        waiting = (set(members) - _cannot_approve(ticket)) | (
            {ticket.assignee_id} if ticket.assignee_id else set()
        )
        audience.add(
            waiting,
            Message(
                Kind.SLA,
                f"{ticket.public_id} is overdue: {ticket.title}",
                f"{_sla_sentence(ticket, tenant)} It is escalated to the tenant's admins.",
                _ticket_url(ticket),
            ),
        )
    return audience


def sla_warning_audience(ticket: Ticket) -> Audience:
    """A ticket turned amber: the people it waits for, and its assignee."""
    audience = Audience()
    roles = set(TicketWaitingRole.objects.filter(ticket=ticket).values_list("role", flat=True))
    members = _members(ticket.tenant_id, roles - {Role.CLIENT})
    waiting = (set(members) - _cannot_approve(ticket)) | (
        {ticket.assignee_id} if ticket.assignee_id else set()
    )
    audience.add(
        waiting,
        Message(
            Kind.SLA,
            f"{ticket.public_id} is due soon: {ticket.title}",
            _sla_sentence(ticket, ticket.tenant),
            _ticket_url(ticket),
        ),
    )
    return audience


def deliver(
    audience: Audience,
    *,
    tenant: Tenant,
    event: OutboxEvent | None = None,
    ticket: Ticket | None = None,
    actor_user_id: int | None = None,
    muters: set[int] = frozenset(),
) -> list[Notification]:
    """Turn an audience into notification rows: mutes, the actor, stand-ins, preferences."""
    told = {
        user_id: message
        for user_id, message in audience.told.items()
        if user_id != actor_user_id and (message.kind == Kind.RED_FLAG or user_id not in muters)
    }
    if not told:
        return []
    routes = _cached(
        ("stand_ins", tenant.pk, frozenset(told)),
        lambda: stand_ins_today(tenant=tenant, user_ids=list(told)),
    )
    final: dict[int, tuple[Message, int | None]] = {}
    for user_id, message in told.items():
        route = routes[user_id]
        recipient = route.user_id
        if recipient == actor_user_id:
            continue
        current = final.get(recipient)
        if current is None or PRIORITY.index(message.kind) < PRIORITY.index(current[0].kind):
            final[recipient] = (message, route.for_user_id)
    stored = _cached(
        ("preferences", frozenset(final)),
        lambda: {
            (user_id, kind): delivery
            for user_id, kind, delivery in Preference.objects.filter(
                user_id__in=list(final)
            ).values_list("user_id", "kind", "delivery")
        },
    )
    rows = []
    for user_id, (message, for_user_id) in sorted(final.items()):
        delivery = effective_delivery(message.kind, stored.get((user_id, message.kind)))
        if delivery == Delivery.OFF:
            continue
        title = message.title
        rows.append(
            Notification(
                user_id=user_id,
                tenant=tenant,
                kind=message.kind,
                event=event,
                ticket=ticket,
                title=title[:TITLE_MAX],
                body=message.body,
                url=message.url,
                for_user_id=for_user_id,
                delivery=delivery,
            )
        )
    return Notification.objects.bulk_create(rows, ignore_conflicts=event is not None)


def fan_out(event: OutboxEvent, *, tickets: dict[int, Ticket] | None = None) -> list[Notification]:
    """Tell the people `event` concerns; `tickets` may hold its ticket, loaded with its batch."""
    ticket = None
    if event.ticket_id:
        ticket = (tickets or {}).get(event.ticket_id) or (
            Ticket.objects.select_related("tenant").filter(pk=event.ticket_id).first()
        )
    audience = audience_for(event, ticket)
    muters = _watchers(event.tenant_id, ticket_targets(ticket))[1] if ticket else set()
    return deliver(
        audience,
        tenant=event.tenant,
        event=event,
        ticket=ticket,
        actor_user_id=event.actor_user_id,
        muters=muters,
    )


__all__ = ["KIND_SPECS", "audience_for", "deliver", "fan_out", "sla_warning_audience"]
