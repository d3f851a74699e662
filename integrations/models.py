"""Signed webhooks per tenant (Standard Webhooks) and Slack (issue 19.4, 19.5). Written only by
integrations/services.py, integrations/webhooks.py and integrations/slack.py."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class WebhookEvent(models.TextChoices):
    TICKET_OPENED = "ticket.opened", "Ticket opened"
    TICKET_WAITING = "ticket.waiting", "Ticket waiting for someone"
    TICKET_DECIDED = "ticket.decided", "Ticket decided"
    TICKET_ESCALATED = "ticket.escalated", "Ticket escalated (overdue)"
    RED_FLAG = "ticket.red_flag", "Red flag (A8, A9)"
    RUN_BLOCKED = "run.blocked", "Agent run blocked"
    ALIGNMENT_DUE = "alignment.due", "Alignment due"
    AUDIT_CHECKPOINT = "audit.checkpoint", "Audit checkpoint signed"


TEST_EVENT = "webhook.test"


class WebhookEndpoint(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list, help_text="WebhookEvent values it receives")
    # "whsec_" + base64: shown once when made; kept to sign (Standard Webhooks is symmetric).
    secret = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # Since when every delivery failed (cleared by a success): 3 days of it disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    # A delivery worker's lease: one worker at a time per endpoint keeps deliveries in order.
    lease_until = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Delivered"
    FAILED = "failed", "Gave up"  # after the last retry, or the endpoint was disabled


class WebhookDelivery(models.Model):
    """One message (webhook-id) to one endpoint, tried until it is delivered or given up."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_type = models.CharField(max_length=40)
    message_id = models.CharField(max_length=40, unique=True)
    payload = models.JSONField()
    # Deliveries of one endpoint with the same key go out in order (a ticket's id; "" for none).
    order_key = models.CharField(max_length=100, blank=True)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField()
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DeliveryStatus.values), name="webhook_delivery_status"
            ),
        ]
        indexes = [
            models.Index(
                fields=["endpoint", "order_key", "id"],
                condition=Q(status="pending"),
                name="webhook_delivery_pending",
            ),
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhook_delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"

    @property
    def is_delivered(self) -> bool:
        return self.status == DeliveryStatus.SUCCEEDED

    @property
    def is_given_up(self) -> bool:
        return self.status == DeliveryStatus.FAILED


class WebhookAttempt(models.Model):
    """One try of a delivery: the log an admin reads (status, latency, attempt)."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="tries")
    number = models.PositiveIntegerField()
    at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True)
    manual = models.BooleanField(default=False, help_text="a redelivery an admin asked for")

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"try {self.number} of {self.delivery_id}: {self.status_code or self.error}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class SlackInstallation(models.Model):
    """A tenant's Slack app: its workspace, the channel tickets are posted to and the bot token."""

    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    team_id = models.CharField(max_length=32)
    channel_id = models.CharField(max_length=32)
    bot_token = models.CharField(max_length=200)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.team_id} #{self.channel_id}"


class SlackUserLink(models.Model):
    """A Slack user, linked by the person themselves to their Human Touch login."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    team_id = models.CharField(max_length=32)
    slack_user_id = models.CharField(max_length=32)
    linked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team_id", "slack_user_id"], name="slack_user_once"),
        ]

    def __str__(self) -> str:
        return f"{self.team_id}:{self.slack_user_id} → {self.user_id}"


class SlackMessage(models.Model):
    """A ticket as posted to its tenant's channel (to update it once decided)."""

    ticket = models.OneToOneField("approvals.Ticket", on_delete=models.CASCADE, related_name="+")
    channel_id = models.CharField(max_length=32)
    ts = models.CharField(max_length=32, blank=True)
    shown_hash = models.CharField(max_length=32)
    posted_at = models.DateTimeField(null=True, blank=True)
    updated_for = models.CharField(max_length=40, blank=True, help_text="status last shown")

    def __str__(self) -> str:
        return f"{self.ticket_id} in {self.channel_id} at {self.ts}"


class SlackRequest(models.Model):
    """A Slack request already seen (its signature): a replay is refused."""

    signature = models.CharField(max_length=100, unique=True)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.signature
