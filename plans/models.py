"""Plans, tracks and versions (docs/rules.md "Plans, tracks and versions").

The database itself keeps the rules that matter most:
- `(tenant, number)` is unique and numbers come from one counter row per tenant, claimed in the
  same transaction as the insert (no duplicate, no gap);
- at most one approved version per track (partial unique index);
- an approved or superseded row can't be edited or deleted, except approved → superseded
  (triggers, migration 0002; see audit/dbguards.py).
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

# What tickets about a plan version name as their subject (approvals/subjects.py).
SUBJECT_TYPE = "plan_version"
TRACK_KEY_PATTERN = r"^(always_on|branding|engagement|event_[a-z0-9_]{1,40})$"
validate_track_key = RegexValidator(
    TRACK_KEY_PATTERN,
    "A track is always_on, branding, engagement or event_<slug> (lower-case letters, digits, _).",
)


class MasterPlan(models.Model):
    """The tenant's budget envelope for a period: a total and optional caps per track.

    `track_caps` maps a track key to its cap (a decimal string); a track without a cap is bounded
    by the total only.
    """

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField()
    currency = models.CharField(max_length=3)
    total_budget = models.DecimalField(max_digits=14, decimal_places=2)
    track_caps = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant_id", "period_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "period_start"], name="master_one_per_period"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=models.F("period_start")), name="master_period_order"
            ),
            models.CheckConstraint(condition=Q(total_budget__gte=0), name="master_total_positive"),
        ]

    def __str__(self) -> str:
        return f"Master plan {self.period_start}–{self.period_end}"

    def cap_for(self, track_key: str) -> Decimal | None:
        cap = self.track_caps.get(track_key)
        return Decimal(str(cap)) if cap is not None else None


class Track(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=60, validators=[validate_track_key])
    current_version = models.ForeignKey(
        "PlanVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="the approved version reports anchor to",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant_id", "key"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="track_unique_key"),
            models.CheckConstraint(
                condition=Q(key__regex=TRACK_KEY_PATTERN), name="track_key_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.key

    @property
    def currency(self) -> str:
        """The currency of the track's money: its current approved version's ("" before its
        first)."""
        return self.current_version.currency if self.current_version_id else ""


class PlanVersionCounter(models.Model):
    """The last plan version number handed out per tenant; writers lock this row to claim one."""

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.PROTECT, primary_key=True, related_name="+"
    )
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.tenant_id}@{self.last_number}"


class PlanKind(models.TextChoices):
    INITIAL = "initial", "Initial"
    REVISE = "revise", "Revise"
    REPLAN = "replan", "Replan"
    TRACK_DRAFT = "track_draft", "New track"
    EVENT_DRAFT = "event_draft", "Special day"


class PlanStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PENDING_APPROVAL = "pending_approval", "Pending approval"
    APPROVED = "approved", "Approved"
    SUPERSEDED = "superseded", "Superseded"
    REJECTED = "rejected", "Rejected"
    DISCARDED = "discarded", "Discarded"
    # Another version built on the same parent was approved first (issue 16 item 1): this one
    # no longer follows the plan and can only be carried forward onto the current version.
    OUTDATED = "outdated", "Outdated"


# The one transition table (services check it; the database triggers freeze what follows
# approval). "Request changes" and "withdraw" both send a pending version back to draft; a
# planner may discard a draft, which ends it (its number stays used: numbers are never reused).
TRANSITIONS: dict[str, frozenset[str]] = {
    PlanStatus.DRAFT: frozenset(
        {PlanStatus.PENDING_APPROVAL, PlanStatus.DISCARDED, PlanStatus.OUTDATED}
    ),
    PlanStatus.PENDING_APPROVAL: frozenset(
        {PlanStatus.APPROVED, PlanStatus.REJECTED, PlanStatus.DRAFT, PlanStatus.OUTDATED}
    ),
    PlanStatus.APPROVED: frozenset({PlanStatus.SUPERSEDED}),
    PlanStatus.SUPERSEDED: frozenset(),
    PlanStatus.REJECTED: frozenset(),
    PlanStatus.DISCARDED: frozenset(),
    PlanStatus.OUTDATED: frozenset(),
}
# A version still on its way to approval: what competes with another one on the same parent.
OPEN_STATUSES = (PlanStatus.DRAFT, PlanStatus.PENDING_APPROVAL)
FROZEN_STATUSES = (PlanStatus.APPROVED, PlanStatus.SUPERSEDED)


def can_transition(current: str, target: str) -> bool:
    return target in TRANSITIONS[current]


class PlanTrigger(models.TextChoices):
    PLANNER = "planner", "Planner"
    API = "api", "Agent API"
    RECOMMENDATION = "recommendation", "Revise recommendation"
    CLIENT_REQUEST = "client_request", "Client request"
    SEASONALITY = "seasonality", "Seasonality calendar"
    DRIFT = "drift", "Optimization drift"
    STRUCTURAL_BLOCK = "structural_block", "Blocked structural change"
    SEED = "seed", "Demo seed"


class PlanVersion(models.Model):
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(help_text="per-tenant, monotonic, never reused")
    kind = models.CharField(max_length=16, choices=PlanKind.choices)
    status = models.CharField(
        max_length=20, choices=PlanStatus.choices, default=PlanStatus.DRAFT, db_index=True
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text="the version this one supersedes when approved",
    )
    payload = models.JSONField(help_text="canonical payload (plans/schema.py)")
    payload_hash = models.CharField(max_length=64)
    path = models.CharField(max_length=20, blank=True, help_text="the classifier's verdict")
    path_reason = models.TextField(blank=True)
    trigger = models.CharField(
        max_length=20, choices=PlanTrigger.choices, default=PlanTrigger.PLANNER
    )
    reason = models.TextField(blank=True)
    master_change = models.JSONField(
        null=True,
        blank=True,
        help_text="a proposed new master envelope {total_budget, track_caps} this version needs",
    )
    remaining_delta = models.JSONField(
        null=True, blank=True, help_text="what the live manifest did not match at approval"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150)
    # Four eyes: the people who wrote it never approve it (None: an agent or the system).
    drafted_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    edited_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.CharField(max_length=150, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.CharField(max_length=150, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    superseded_by = models.CharField(max_length=150, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejected_by = models.CharField(max_length=150, blank=True)
    discarded_at = models.DateTimeField(null=True, blank=True)
    discarded_by = models.CharField(max_length=150, blank=True)
    outdated_at = models.DateTimeField(null=True, blank=True)
    outdated_by = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="outdated_versions",
        help_text="the competing version whose approval outdated this one",
    )
    carried_from = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="carried_forward_drafts",
        help_text="the outdated version whose changes this draft re-applies",
    )
    carry_collisions = models.JSONField(
        default=list,
        blank=True,
        help_text="the carried version's changes that collided with the current version and "
        "were not re-applied: [{what, carried, current}]",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="plan_version_unique_number"),
            models.UniqueConstraint(
                fields=["track"],
                condition=Q(status="approved"),
                name="plan_version_one_approved_per_track",
            ),
            models.CheckConstraint(
                condition=Q(status__in=PlanStatus.values), name="plan_version_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=PlanKind.values), name="plan_version_kind_valid"
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="plan_version_number_positive"),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "superseded"]) | Q(approved_at__isnull=False),
                name="plan_version_approved_has_time",
            ),
        ]
        indexes = [models.Index(fields=["track", "-number"], name="plan_version_track")]

    def __str__(self) -> str:
        return f"v{self.number} {self.track.key} ({self.status})"

    @property
    def audit_id(self) -> str:
        return str(self.number)

    @property
    def currency(self) -> str:
        """The currency every amount of the plan is in (the payload's `currency`)."""
        return self.payload.get("currency", "")

    @property
    def is_editable(self) -> bool:
        return self.status == PlanStatus.DRAFT

    @property
    def is_rejected(self) -> bool:
        return self.status == PlanStatus.REJECTED

    @property
    def is_discarded(self) -> bool:
        return self.status == PlanStatus.DISCARDED

    @property
    def is_stale(self) -> bool:
        """A draft whose parent is no longer its track's current version: it must be rebased
        (edited and saved) before it can be submitted. Reads `track`."""
        return self.is_editable and self.parent_id != self.track.current_version_id

    @property
    def can_submit(self) -> bool:
        return self.is_editable and not self.is_stale

    @property
    def is_outdated(self) -> bool:
        return self.status == PlanStatus.OUTDATED

    @property
    def can_withdraw(self) -> bool:
        return self.status == PlanStatus.PENDING_APPROVAL
