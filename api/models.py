"""What the agent API remembers between requests: the first answer to each idempotent write."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class IdempotencyKey(models.Model):
    """One idempotent write an agent made: the key it chose, a hash of the whole request and the
    answer it got. A replay with an equal request gets that answer again; with another request,
    a 409. The unique key is what makes sixteen concurrent replays produce one write."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    scope = models.CharField(max_length=40, help_text="the endpoint family: tickets, runs, …")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "scope", "key"], name="idempotency_key_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"


class RateWindow(models.Model):
    """The request count of one rate-limit bucket (an agent key) in its current fixed window,
    when there is no Redis (api/ratelimit.py). One row per bucket, moved to the new window by
    the same upsert that counts."""

    bucket = models.CharField(max_length=100, primary_key=True)
    window_start = models.BigIntegerField(help_text="the window's start, in seconds since epoch")
    count = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.bucket}@{self.window_start}: {self.count}"
