"""Signed audit checkpoints posted to the tenant's webhooks (issue 20.3: checkpoints are kept
outside the rewritable tables, "optionally posted to the tenant's webhook"): an endpoint that
chose the `audit.checkpoint` event gets each new checkpoint as one delivery carrying the signed
note, so the tenant holds its own copy of every head we signed — one our operators cannot take
back.

The audit app knows nothing of webhooks (import contracts), so this side looks: a schedule each
minute reads each subscribed endpoint's tenant's checkpoint store and makes a delivery for every
checkpoint larger than the last one posted to that endpoint (an endpoint's first is the newest
checkpoint: it covers every earlier event). The endpoint row is locked while it looks, so two
clusters, or one killed half way and run again, post each checkpoint once. No audit event is
written for it: one would grow the chain and so make the next checkpoint, forever."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from audit.checkpoints import checkpoints_of, origin_of
from integrations.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from integrations.webhooks import new_message_id

ORDER_KEY = "audit.checkpoint"  # delivered in order of size, like one ticket's events


def checkpoint_deliveries_create() -> int:
    """Make the deliveries of checkpoints not yet posted; returns how many were made."""
    made = 0
    subscribed = [
        endpoint.pk
        for endpoint in WebhookEndpoint.objects.filter(enabled=True).only("events")
        if WebhookEvent.AUDIT_CHECKPOINT in endpoint.events
    ]
    for endpoint_id in subscribed:
        made += _endpoint_checkpoints_post(endpoint_id)
    return made


@transaction.atomic
def _endpoint_checkpoints_post(endpoint_id: int) -> int:
    endpoint = (
        WebhookEndpoint.objects.select_for_update(of=("self",))
        .select_related("tenant")
        .filter(pk=endpoint_id, enabled=True)
        .first()
    )
    if endpoint is None:
        return 0
    stored = checkpoints_of(endpoint.tenant)
    if not stored:
        return 0
    posted = max(
        (
            payload["data"]["size"]
            for payload in WebhookDelivery.objects.filter(
                endpoint=endpoint, event_type=WebhookEvent.AUDIT_CHECKPOINT
            ).values_list("payload", flat=True)
        ),
        default=None,
    )
    new = [c for c in stored if c.size > posted] if posted is not None else stored[-1:]
    now = timezone.now()
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint=endpoint,
            event_type=WebhookEvent.AUDIT_CHECKPOINT,
            message_id=new_message_id(),
            payload={
                "type": WebhookEvent.AUDIT_CHECKPOINT,
                "timestamp": checkpoint.signed_at.isoformat(),
                "data": {
                    "tenant": endpoint.tenant.slug,
                    "origin": origin_of(endpoint.tenant),
                    "size": checkpoint.size,
                    "note": checkpoint.note,
                },
            },
            order_key=ORDER_KEY,
            next_attempt_at=now,
        )
        for checkpoint in new
    )
    return len(new)
