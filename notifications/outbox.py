"""The outbox: lifecycle events (approvals/events.py) kept in the transaction that caused them,
then fanned out after commit — people told (notifications/fanout.py), and whatever else the
registered consumers do with them (integrations: webhook deliveries, Slack messages).

After commit the fan-out runs at once, in the same process (so the bell and the portal's "your
account team has been told" are true when the page comes back); anything a crash or an error
left behind is picked up by the cluster's schedule (`notifications.process_outbox`). Claiming
rows FOR UPDATE SKIP LOCKED and marking them processed in the same transaction makes two
processors split the work, and a second run harmless."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from django.db import connection, transaction
from django.utils import timezone

from approvals.events import LifecycleEvent, lifecycle_batching
from approvals.models import Ticket
from notifications.models import OutboxEvent

logger = logging.getLogger(__name__)

BATCH = 200


@runtime_checkable
class OutboxConsumer(Protocol):
    def consume(self, events: Sequence[OutboxEvent]) -> None:
        """Called inside the fan-out's transaction for events being processed: keep what needs
        doing (rows), act after commit."""
        ...


_consumers: list[OutboxConsumer] = []


def register_outbox_consumer(consumer: OutboxConsumer) -> None:
    if consumer not in _consumers:
        _consumers.append(consumer)


def registered_outbox_consumers() -> list[OutboxConsumer]:
    return list(_consumers)


def _process_after_commit() -> None:
    outbox_process()


_process_after_commit.outbox_hook = True  # type: ignore[attr-defined]


class OutboxListener:
    """approvals.events.LifecycleListener: one outbox row per event, in the caller's
    transaction; the fan-out is asked for once per transaction, after commit."""

    def record(self, events: Sequence[LifecycleEvent]) -> None:
        OutboxEvent.objects.bulk_create(
            [
                OutboxEvent(
                    tenant_id=event.tenant_id,
                    kind=str(event.kind),
                    ticket_id=event.ticket_id,
                    actor_label=event.actor_label[:150],
                    actor_user_id=event.actor_user_id,
                    data=event.data,
                )
                for event in events
            ]
        )
        if lifecycle_batching():
            return
        pending = connection.run_on_commit
        if not any(getattr(func, "outbox_hook", False) for _sids, func, _robust in pending):
            # robust: a fan-out that fails is logged, never undoes the decision it follows
            # (already committed); the schedule retries it.
            transaction.on_commit(_process_after_commit, robust=True)

    def flush(self) -> None:
        outbox_process()


def outbox_process(*, limit: int | None = None) -> int:
    """Fan out every unprocessed event (or up to `limit`), a batch per transaction; returns how
    many were processed."""
    from notifications.fanout import fan_out, fan_out_batch

    done = 0
    while limit is None or done < limit:
        with transaction.atomic(), fan_out_batch():
            batch = list(
                OutboxEvent.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("tenant")
                .filter(processed_at__isnull=True)
                .order_by("id")[: BATCH if limit is None else min(BATCH, limit - done)]
            )
            if not batch:
                break
            tickets = Ticket.objects.select_related("tenant").in_bulk(
                {event.ticket_id for event in batch if event.ticket_id}
            )
            for event in batch:
                try:
                    with transaction.atomic():
                        fan_out(event, tickets=tickets)
                except Exception:  # one bad event never stops the others
                    logger.exception("notifications: fan-out of outbox event %s failed", event.pk)
            for consumer in _consumers:
                consumer.consume(batch)
            OutboxEvent.objects.filter(pk__in=[event.pk for event in batch]).update(
                processed_at=timezone.now()
            )
        done += len(batch)
    return done
