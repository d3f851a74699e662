"""Notifications (issue 19.1–19.3): the outbox of lifecycle events, what each person is told, how
they want to hear it, and what they follow or muted. Written only by notifications/services.py
and notifications/outbox.py."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from notifications.kinds import Delivery, Kind


class OutboxEvent(models.Model):
    """One approvals.events.LifecycleEvent, written in the transaction that caused it and fanned
    out after commit (people told, webhooks queued, Slack posted). `processed_at` is set once."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=40)
    ticket = models.ForeignKey(
        "approvals.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["id"], condition=Q(processed_at__isnull=True), name="outbox_unprocessed"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class Notification(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    event = models.ForeignKey(
        OutboxEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    ticket = models.ForeignKey(
        "approvals.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=300, blank=True)
    # A stand-in gets what was meant for someone away: "for paul".
    for_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    delivery = models.CharField(max_length=10, choices=Delivery.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # E-mail: claimed by a sender, then sent, or skipped (and why).
    mail_claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    mail_skipped = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=Kind.values), name="notification_kind"),
            models.CheckConstraint(
                condition=Q(delivery__in=[Delivery.IMMEDIATE, Delivery.DIGEST]),
                name="notification_delivery",
            ),
            # Fanning an event out twice tells nobody twice.
            models.UniqueConstraint(
                fields=["user", "event"],
                condition=Q(event__isnull=False),
                name="notification_once_per_event",
            ),
        ]
        indexes = [
            models.Index(
                fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"
            ),
            models.Index(fields=["user", "-created_at", "-id"], name="notification_list"),
            models.Index(
                fields=["delivery", "user"],
                condition=Q(emailed_at__isnull=True) & Q(mail_skipped=""),
                name="notification_mail_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.kind} · {self.title}"

    @property
    def is_red_flag(self) -> bool:
        return self.kind == Kind.RED_FLAG

    @property
    def in_digest(self) -> bool:
        return self.delivery == Delivery.DIGEST


class Preference(models.Model):
    """One person's choice for one kind (absent: the kind's default)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    delivery = models.CharField(max_length=10, choices=Delivery.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="preference_once_per_kind"),
            models.CheckConstraint(condition=Q(delivery__in=Delivery.values), name="pref_delivery"),
            # Red flags are never off or digested (notifications/kinds.py).
            models.CheckConstraint(
                condition=~Q(kind=Kind.RED_FLAG) | Q(delivery=Delivery.IMMEDIATE),
                name="preference_red_flags_immediate",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.kind}: {self.delivery}"


class PersonSettings(models.Model):
    """Where a person's day is (the digest goes at 09:00 there, on business days) and when the
    last digest went (the compare-and-swap that sends it once a day)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    time_zone = models.CharField(max_length=64, blank=True, help_text="empty: their tenant's")
    last_digest_on = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user} ({self.time_zone or 'tenant time zone'})"


class WatchTarget(models.TextChoices):
    TICKET = "ticket", "Ticket"
    TRACK = "track", "Track"
    RUN = "run", "Run"


class WatchMode(models.TextChoices):
    FOLLOW = "follow", "Following"
    MUTE = "mute", "Muted"


class Watch(models.Model):
    """A person follows (told of news) or muted (told nothing, red flags excepted) a ticket, a
    track or a run of a tenant."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    target_type = models.CharField(max_length=10, choices=WatchTarget.choices)
    target_id = models.CharField(max_length=100)
    mode = models.CharField(max_length=10, choices=WatchMode.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "tenant", "target_type", "target_id"], name="watch_once"
            ),
            models.CheckConstraint(
                condition=Q(target_type__in=WatchTarget.values), name="watch_target_type"
            ),
            models.CheckConstraint(condition=Q(mode__in=WatchMode.values), name="watch_mode"),
        ]
        indexes = [models.Index(fields=["tenant", "target_type", "target_id"], name="watch_target")]

    def __str__(self) -> str:
        return f"{self.user} {self.mode} {self.target_type} {self.target_id}"


class SlaWarning(models.Model):
    """An amber warning sent for a ticket's due time: once per due time (the scan's dedupe)."""

    ticket = models.ForeignKey("approvals.Ticket", on_delete=models.CASCADE, related_name="+")
    due_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "due_at"], name="sla_warning_once"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} amber for {self.due_at}"
