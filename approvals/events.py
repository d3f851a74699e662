"""What happens to tickets (and the few things beside them people are told about), for the apps
that tell people: the one seam between approvals and notifications, webhooks and chat.

Approvals never imports those apps. The services that change a ticket call `lifecycle_emit`
inside their transaction, right after the audit event; every registered `LifecycleListener`
gets the events there and keeps them in the same transaction (notifications writes them to its
outbox, one row each), so they commit or roll back with the change they describe. Whatever a
listener does with them — telling people, e-mail, webhooks, Slack — it does after commit:

    notifications/apps.py   OutboxListener    from notifications/outbox.py

The other domain apps emit through the same function for what is not a ticket (agents: a QC
alert opened). A system check (approvals/checks.py) fails at start-up when nothing listens: the
portal tells a client "your account team has been told", which must be true.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable


class LifecycleKind(StrEnum):
    """What happened. The names are the webhook event types too (integrations/webhooks)."""

    TICKET_OPENED = "ticket.opened"
    # A person's verdict on a ticket (data: verdict, role, final); a partial approval leaves it
    # waiting for the slots still open.
    TICKET_DECIDED = "ticket.decided"
    # The ticket reached a final status (data: status): approved, rejected, changes requested,
    # or withdrawn.
    TICKET_RESOLVED = "ticket.resolved"
    TICKET_ESCALATED = "ticket.escalated"
    TICKET_ASSIGNED = "ticket.assigned"
    QC_ALERT_OPENED = "qc_alert.opened"
    ALIGNMENT_DUE = "alignment.due"
    # A draft or pending plan version was outdated by another one approved on the same parent
    # (data: number, track, by_version, approved_at, drafters: user ids).
    VERSION_OUTDATED = "plan_version.outdated"


@dataclass(frozen=True)
class LifecycleEvent:
    kind: LifecycleKind
    tenant_id: int
    ticket_id: int | None = None  # the ticket's primary key, when it is about one
    actor_label: str = ""
    actor_user_id: int | None = None
    data: dict = field(default_factory=dict)  # JSON-ready values only


@runtime_checkable
class LifecycleListener(Protocol):
    def record(self, events: Sequence[LifecycleEvent]) -> None:
        """Called inside the transaction that caused `events`, after its audit event. Keep it
        short (the tenant's audit chain head is held until commit): store them, act after
        commit — unless `lifecycle_batching()`, when `flush` comes at the end of the batch. An
        exception here rolls the change back with it."""
        ...

    def flush(self) -> None:
        """Act now on what was recorded (after a batch of transactions, e.g. bulk decisions)."""
        ...


_listeners: list[LifecycleListener] = []
_batching: ContextVar[bool] = ContextVar("approvals_lifecycle_batching", default=False)


def register_lifecycle_listener(listener: LifecycleListener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def registered_lifecycle_listeners() -> list[LifecycleListener]:
    return list(_listeners)


def lifecycle_emit(events: Sequence[LifecycleEvent]) -> None:
    """Hand `events` to every listener, inside the caller's transaction."""
    if not events:
        return
    for listener in _listeners:
        listener.record(list(events))


def ticket_event(kind: LifecycleKind, ticket: Any, actor: Any, **data) -> LifecycleEvent:
    """An event about `ticket` by `actor` (an audit Actor)."""
    user = getattr(actor, "user", None)
    return LifecycleEvent(
        kind=kind,
        tenant_id=ticket.tenant_id,
        ticket_id=ticket.pk,
        actor_label=str(actor)[:150],
        actor_user_id=user.pk if getattr(actor, "type", "") == "user" and user else None,
        data=data,
    )


def lifecycle_batching() -> bool:
    """Whether a batch of transactions is under way: listeners hold their after-commit work
    until it ends (one fan-out for 200 bulk decisions instead of 200)."""
    return _batching.get()


@contextmanager
def lifecycle_batch() -> Iterator[None]:
    """Run several transactions (each still its own) and let listeners act once at the end."""
    if _batching.get():
        yield
        return
    token = _batching.set(True)
    try:
        yield
    finally:
        _batching.reset(token)
        for listener in _listeners:
            listener.flush()


# --- Who was told -------------------------------------------------------------------------------
# The app that tells people answers how many were told of a ticket since a moment (the portal
# says "your account team has been told" only when someone was).
ToldCounter = Callable[[Any, datetime], int]
_told_counters: list[ToldCounter] = []


def register_told_counter(counter: ToldCounter) -> None:
    _told_counters[:] = [counter]


def people_told(*, ticket: Any, since: datetime) -> int:
    """How many people have been told of `ticket` since `since` (0 when nobody tells anyone)."""
    return _told_counters[0](ticket, since) if _told_counters else 0
