"""Execution state (DESIGN.md "Execution and optimization").

An ExecutionManifestEntry links one ad-platform entity (campaign, ad set) to the plan version it
implements and holds its live state. Live state may drift from the plan until a revise; the
approval of a version compares it with the plan (plans/diff.py `manifest_diff`).
"""

from __future__ import annotations

from django.db import models


class ExecutionManifestEntry(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    track = models.ForeignKey("plans.Track", on_delete=models.PROTECT, related_name="manifest")
    platform = models.CharField(max_length=60)
    entity_id = models.CharField(max_length=120)
    channel = models.CharField(max_length=60)
    plan_version = models.PositiveIntegerField(help_text="number of the plan version it implements")
    state = models.JSONField(
        default=dict, help_text="live state: daily_budget, status, bid_strategy, audiences, …"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "execution manifest entries"
        ordering = ["tenant_id", "track_id", "channel", "platform", "entity_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "platform", "entity_id"], name="manifest_unique_entity"
            ),
        ]
        indexes = [models.Index(fields=["track", "channel"], name="manifest_track_channel")]

    def __str__(self) -> str:
        return f"{self.platform}:{self.entity_id} → v{self.plan_version}"

    @property
    def audit_id(self) -> str:
        return f"{self.platform}:{self.entity_id}"

    def as_dict(self) -> dict:
        """The shape plans/diff.py `manifest_diff` reads."""
        return {
            "platform": self.platform,
            "entity_id": self.entity_id,
            "channel": self.channel,
            "plan_version": self.plan_version,
            "state": self.state,
        }
