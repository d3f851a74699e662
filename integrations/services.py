"""The writers of integrations: webhook endpoints (made, changed, disabled, a new secret, a
redelivery, a test event) and Slack (a tenant's installation, a person linking their Slack user).
Each is audited in the tenant's log with its actor. A secret is shown once, when it is made."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.errors import DomainError
from integrations.models import (
    TEST_EVENT,
    DeliveryStatus,
    SlackInstallation,
    SlackUserLink,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from integrations.ssrf import url_target
from integrations.webhooks import new_message_id, new_secret

SYSTEM = Actor.system("webhooks")
URL_MAX = 500


class IntegrationError(DomainError):
    code = "validation_error"


def _clean_events(events) -> list[str]:
    events = [str(e) for e in events or []]
    unknown = [e for e in events if e not in WebhookEvent.values]
    if unknown:
        raise IntegrationError(
            f"Unknown event(s): {', '.join(unknown)}.", fields={"events": unknown}
        )
    if not events:
        raise IntegrationError("Choose at least one event.", fields={"events": ["required"]})
    return sorted(set(events), key=WebhookEvent.values.index)


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    if not url or len(url) > URL_MAX:
        raise IntegrationError(f"Give the receiver's URL (at most {URL_MAX} characters).")
    url_target(url)  # refused here already when it points anywhere it may not
    return url


def _deliver_after_commit(endpoint_id: int) -> None:
    from django_q.tasks import async_task

    transaction.on_commit(
        lambda: async_task("integrations.tasks.deliver_endpoint", endpoint_id), robust=True
    )


@transaction.atomic(durable=True)
def webhook_endpoint_create(
    *, tenant, actor: Actor, url: str, events, description: str = ""
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its secret (shown to the admin this once)."""
    endpoint = WebhookEndpoint.objects.create(
        tenant=tenant,
        url=_clean_url(url),
        events=_clean_events(events),
        description=(description or "").strip()[:200],
        secret=new_secret(),
        created_by=actor.user if actor.is_person else None,
    )
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action=AuditAction.WEBHOOK_ENDPOINT_CREATED,
        resource=("webhook_endpoint", endpoint.pk),
        data={"url": endpoint.url, "events": endpoint.events},
    )
    return endpoint, endpoint.secret


@transaction.atomic(durable=True)
def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, actor: Actor, events=None, enabled: bool | None = None
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    changes = {}
    if events is not None:
        cleaned = _clean_events(events)
        if cleaned != endpoint.events:
            changes["events"] = {"from": endpoint.events, "to": cleaned}
            endpoint.events = cleaned
    if enabled is not None and enabled != endpoint.enabled:
        if enabled:
            _clean_url(endpoint.url)
        changes["enabled"] = {"from": endpoint.enabled, "to": enabled}
        endpoint.enabled = enabled
        endpoint.disabled_reason = "" if enabled else "disabled by an admin"
        endpoint.disabled_at = None if enabled else timezone.now()
        endpoint.failing_since = None
    if not changes:
        return endpoint
    endpoint.save()
    audit_event_append(
        tenant=endpoint.tenant_id,
        actor=actor,
        action=AuditAction.WEBHOOK_ENDPOINT_UPDATED,
        resource=("webhook_endpoint", endpoint.pk),
        data={"changes": changes},
    )
    return endpoint


@transaction.atomic(durable=True)
def webhook_secret_rotate(*, endpoint: WebhookEndpoint, actor: Actor) -> str:
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret"])
    audit_event_append(
        tenant=endpoint.tenant_id,
        actor=actor,
        action=AuditAction.WEBHOOK_SECRET_ROTATED,
        resource=("webhook_endpoint", endpoint.pk),
        data={"url": endpoint.url},
    )
    return endpoint.secret


@transaction.atomic(durable=True)
def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, reason: str) -> bool:
    """Disable an endpoint the deliveries gave up on (410, 3 days of failures): its pending
    deliveries are given up and the tenant's admins are told. Returns whether it changed."""
    from notifications.services import integration_notice

    changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
        enabled=False, disabled_reason=reason[:300], disabled_at=timezone.now()
    )
    if not changed:
        return False
    WebhookDelivery.objects.filter(endpoint_id=endpoint.pk, status=DeliveryStatus.PENDING).update(
        status=DeliveryStatus.FAILED, last_error=f"endpoint disabled: {reason}"[:300]
    )
    audit_event_append(
        tenant=endpoint.tenant_id,
        actor=SYSTEM,
        action=AuditAction.WEBHOOK_ENDPOINT_DISABLED,
        resource=("webhook_endpoint", endpoint.pk),
        data={"url": endpoint.url, "reason": reason},
    )
    from django.urls import reverse

    integration_notice(
        tenant=endpoint.tenant,
        title=f"Webhook endpoint {endpoint.url} was disabled: {reason}",
        body="No more events are sent to it. Check the receiver, then enable it again on the "
        "Webhooks page (deliveries given up meanwhile can be redelivered one by one).",
        url=reverse("integrations:webhooks", kwargs={"tenant_slug": endpoint.tenant.slug}),
    )
    return True


@transaction.atomic(durable=True)
def webhook_redeliver(*, delivery: WebhookDelivery, actor: Actor) -> WebhookDelivery:
    """Send a delivery again (an admin's button): pending now, whatever it was."""
    delivery = (
        WebhookDelivery.objects.select_for_update(of=("self",))
        .select_related("endpoint")
        .get(pk=delivery.pk)
    )
    if not delivery.endpoint.enabled:
        raise IntegrationError("Enable the endpoint first: a disabled endpoint gets nothing.")
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = timezone.now()
    delivery.first_attempt_at = None  # a new round of retries
    delivery.save(update_fields=["status", "next_attempt_at", "first_attempt_at"])
    audit_event_append(
        tenant=delivery.endpoint.tenant_id,
        actor=actor,
        action=AuditAction.WEBHOOK_REDELIVERY_ASKED,
        resource=("webhook_delivery", delivery.message_id),
        data={"event_type": delivery.event_type, "endpoint": delivery.endpoint.url},
    )
    _deliver_after_commit(delivery.endpoint_id)
    return delivery


@transaction.atomic(durable=True)
def webhook_test_send(*, endpoint: WebhookEndpoint, actor: Actor) -> WebhookDelivery:
    if not endpoint.enabled:
        raise IntegrationError("Enable the endpoint first: a disabled endpoint gets nothing.")
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint,
        event_type=TEST_EVENT,
        message_id=new_message_id(),
        payload={
            "type": TEST_EVENT,
            "timestamp": now.isoformat(),
            "data": {"tenant": endpoint.tenant.slug, "note": "A test event from Human Touch."},
        },
        next_attempt_at=now,
    )
    audit_event_append(
        tenant=endpoint.tenant_id,
        actor=actor,
        action=AuditAction.WEBHOOK_TEST_SENT,
        resource=("webhook_endpoint", endpoint.pk),
        data={"message_id": delivery.message_id},
    )
    _deliver_after_commit(endpoint.pk)
    return delivery


# --- Slack ---------------------------------------------------------------------------------------
@transaction.atomic(durable=True)
def slack_installation_set(
    *, tenant, actor: Actor, team_id: str, channel_id: str, bot_token: str = ""
) -> SlackInstallation:
    team_id, channel_id, bot_token = team_id.strip(), channel_id.strip(), bot_token.strip()
    if not team_id or not channel_id:
        raise IntegrationError("Give the Slack workspace (team) id and the channel id.")
    current = SlackInstallation.objects.filter(tenant=tenant).first()
    if not bot_token and current is None:
        raise IntegrationError("Give the bot token (xoxb-…) of the tenant's Slack app.")
    if bot_token and not bot_token.startswith("xoxb-"):
        raise IntegrationError("A bot token starts with xoxb-.")
    installation, _ = SlackInstallation.objects.update_or_create(
        tenant=tenant,
        defaults={
            "team_id": team_id[:32],
            "channel_id": channel_id[:32],
            "bot_token": bot_token or current.bot_token,
        },
    )
    audit_event_append(
        tenant=tenant,
        actor=actor,
        action=AuditAction.SLACK_INSTALLATION_SET,
        resource=("slack_installation", tenant.slug),
        data={"team_id": team_id, "channel_id": channel_id, "token_changed": bool(bot_token)},
    )
    return installation


@transaction.atomic(durable=True)
def slack_user_link(*, user, actor: Actor, team_id: str, slack_user_id: str) -> SlackUserLink:
    """The person themselves links a Slack user to their login (from the link Slack showed them)."""
    from tenants.models import Membership

    tenant_ids = list(
        SlackInstallation.objects.filter(team_id=team_id).values_list("tenant_id", flat=True)
    )
    memberships = Membership.objects.filter(user=user, tenant_id__in=tenant_ids)
    if not memberships.exists():
        raise IntegrationError("You work in no tenant that uses this Slack workspace.")
    existing = SlackUserLink.objects.filter(team_id=team_id, slack_user_id=slack_user_id).first()
    if existing is not None:
        if existing.user_id == user.pk:
            return existing
        raise IntegrationError("That Slack user is already linked to someone else.")
    link = SlackUserLink.objects.create(user=user, team_id=team_id, slack_user_id=slack_user_id)
    for tenant_id in sorted(m.tenant_id for m in memberships):
        audit_event_append(
            tenant=tenant_id,
            actor=actor,
            action=AuditAction.SLACK_USER_LINKED,
            resource=("slack_user", f"{team_id}:{slack_user_id}"),
            data={"user": user.get_username()},
        )
    return link


def slack_requests_forget(*, older_than: timedelta = timedelta(minutes=10)) -> int:
    """Forget seen Slack signatures older than the replay window (they are refused as old)."""
    from integrations.models import SlackRequest

    deleted, _ = SlackRequest.objects.filter(received_at__lt=timezone.now() - older_than).delete()
    return deleted
