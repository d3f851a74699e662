"""What integrations does with the outbox's events (notifications.outbox.OutboxConsumer): a
webhook delivery per endpoint that subscribed to the event, and a Slack message when a ticket
starts waiting (updated when it is decided). Rows are written in the fan-out's transaction; the
sending happens after commit, in the cluster."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from approvals.events import LifecycleKind
from approvals.models import Ticket, TicketWaitingRole
from approvals.types import RED_FLAG_TYPES
from integrations.models import (
    SlackInstallation,
    SlackMessage,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from integrations.webhooks import new_message_id


def _absolute(url: str) -> str:
    from django.conf import settings

    return f"{settings.SITE_URL.rstrip('/')}{url}"


def ticket_data(ticket: Ticket, **extra) -> dict:
    waiting = sorted(TicketWaitingRole.objects.filter(ticket=ticket).values_list("role", flat=True))
    return {
        "tenant": ticket.tenant.slug,
        "ticket": ticket.public_id,
        "type": ticket.type,
        "title": ticket.title,
        "status": ticket.status,
        "url": _absolute(reverse("ticket", kwargs={"public_id": ticket.public_id})),
        "sla_due_at": ticket.sla_due_at.isoformat() if ticket.sla_due_at else None,
        "waiting_for": waiting,
        "assignee": ticket.assignee.get_username() if ticket.assignee_id else None,
        "plan_version": ticket.plan_version,
        "change_set_id": ticket.change_set_id or None,
        "run_id": ticket.run_id or None,
        "red_flag": ticket.red_flag,
        **extra,
    }


def webhook_events_for(event, ticket: Ticket | None) -> list[tuple[str, dict]]:
    """The webhook events (type, data) one outbox event makes."""
    kind = event.kind
    if kind == LifecycleKind.ALIGNMENT_DUE:
        return [(WebhookEvent.ALIGNMENT_DUE, dict(event.data))]
    if ticket is None:
        return []
    if kind == LifecycleKind.TICKET_OPENED:
        events = [(WebhookEvent.TICKET_OPENED, ticket_data(ticket))]
        if ticket.type in RED_FLAG_TYPES:
            events.append((WebhookEvent.RED_FLAG, ticket_data(ticket)))
            if ticket.run_id:
                events.append((WebhookEvent.RUN_BLOCKED, ticket_data(ticket)))
        elif ticket.is_open:
            events.append((WebhookEvent.TICKET_WAITING, ticket_data(ticket)))
        return events
    if kind == LifecycleKind.TICKET_DECIDED and not event.data.get("final"):
        by = {"decided_by": event.actor_label, "verdict": event.data.get("verdict")}
        return [
            (WebhookEvent.TICKET_DECIDED, ticket_data(ticket, final=False, **by)),
            (WebhookEvent.TICKET_WAITING, ticket_data(ticket)),
        ]
    if kind == LifecycleKind.TICKET_RESOLVED:
        data = ticket_data(
            ticket,
            final=True,
            outcome=event.data.get("status"),
            decided_by=event.actor_label,
            note=ticket.resolution_note,
        )
        return [(WebhookEvent.TICKET_DECIDED, data)]
    if kind == LifecycleKind.TICKET_ESCALATED:
        return [(WebhookEvent.TICKET_ESCALATED, ticket_data(ticket, **event.data))]
    if kind == LifecycleKind.TICKET_ASSIGNED and ticket.is_open:
        return [(WebhookEvent.TICKET_WAITING, ticket_data(ticket))]
    return []


class IntegrationsConsumer:
    def consume(self, events: Sequence) -> None:
        tenant_ids = {event.tenant_id for event in events}
        endpoints: dict[int, list[WebhookEndpoint]] = {}
        for endpoint in WebhookEndpoint.objects.filter(tenant_id__in=tenant_ids, enabled=True):
            endpoints.setdefault(endpoint.tenant_id, []).append(endpoint)
        slack_tenants = set(
            SlackInstallation.objects.filter(tenant_id__in=tenant_ids).values_list(
                "tenant_id", flat=True
            )
        )
        if not endpoints and not slack_tenants:
            return
        ticket_ids = {event.ticket_id for event in events if event.ticket_id}
        tickets = {
            t.pk: t
            for t in Ticket.objects.filter(pk__in=ticket_ids).select_related("tenant", "assignee")
        }
        now = timezone.now()
        deliveries, touched, slack_post, slack_refresh = [], set(), set(), set()
        for event in events:
            ticket = tickets.get(event.ticket_id)
            for endpoint in endpoints.get(event.tenant_id, []):
                for event_type, data in webhook_events_for(event, ticket):
                    if event_type not in endpoint.events:
                        continue
                    deliveries.append(
                        WebhookDelivery(
                            endpoint=endpoint,
                            event_type=event_type,
                            message_id=new_message_id(),
                            payload={
                                "type": event_type,
                                "timestamp": event.created_at.isoformat(),
                                "data": data,
                            },
                            order_key=ticket.public_id if ticket else "",
                            next_attempt_at=now,
                        )
                    )
                    touched.add(endpoint.pk)
            if ticket is not None and event.tenant_id in slack_tenants:
                if event.kind == LifecycleKind.TICKET_OPENED and ticket.is_open:
                    slack_post.add(ticket.pk)
                elif event.kind in (LifecycleKind.TICKET_RESOLVED, LifecycleKind.TICKET_DECIDED):
                    slack_refresh.add(ticket.pk)
        WebhookDelivery.objects.bulk_create(deliveries)
        if touched or slack_post or slack_refresh:
            transaction.on_commit(
                lambda: _after_commit(sorted(touched), sorted(slack_post), sorted(slack_refresh)),
                robust=True,
            )
        if slack_post:
            SlackMessage.objects.bulk_create(
                [
                    SlackMessage(ticket_id=pk, channel_id="", shown_hash="")
                    for pk in sorted(slack_post)
                ],
                ignore_conflicts=True,
            )


def _after_commit(endpoint_ids, post_ids, refresh_ids) -> None:
    from django_q.tasks import async_task

    for endpoint_id in endpoint_ids:
        async_task("integrations.tasks.deliver_endpoint", endpoint_id)
    for ticket_id in post_ids:
        async_task("integrations.tasks.slack_post", ticket_id)
    for ticket_id in refresh_ids:
        async_task("integrations.tasks.slack_refresh", ticket_id)
