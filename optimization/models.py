"""Execution state (docs/rules.md "Execution and optimization").

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
    first_active_at = models.DateTimeField(
        null=True, blank=True, help_text="when the entity first went live (first launch: A2)"
    )
    waiting_launch = models.ForeignKey(
        "optimization.ManifestLaunch",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
        help_text="the launch (A2) its first go-live through a manifest sync waits for",
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


class ManifestVersionLink(models.Model):
    """Which plan version a manifest entity implemented, from when until when (issue 16 item 6:
    a version's page keeps listing the entities that implemented it after they move on).

    Written by the database, not by Python: triggers (migration 0007) add a link when an entry is
    inserted and, when an entry's `plan_version` changes, close its open link and open the next —
    whoever writes the manifest (a sync, an alignment, the admin)."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    entry = models.ForeignKey(
        ExecutionManifestEntry, on_delete=models.CASCADE, related_name="version_links"
    )
    plan_version = models.PositiveIntegerField()
    since = models.DateTimeField()
    until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["entry_id", "since"]
        indexes = [
            models.Index(fields=["tenant", "plan_version"], name="manifest_link_version"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["entry"],
                condition=models.Q(until__isnull=True),
                name="manifest_link_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id} → v{self.plan_version} ({self.since}–{self.until or 'now'})"


# --- The optimization log -------------------------------------------------------------------------
TACTICAL_FIELDS = (
    "daily_budget",
    "bid",
    "bid_strategy",
    "audiences",
    "creative_rotation",
    "status",
)
STRUCTURAL_FIELDS = ("channel", "objective", "geo")
DAILY_BUDGET = "daily_budget"
STATUS = "status"
CREATIVE_ROTATION = "creative_rotation"


class ChangeSetStatus(models.TextChoices):
    APPLIED = "applied", "Applied"
    PENDING_APPROVAL = "pending_approval", "Waiting for approval"
    BLOCKED = "blocked", "Blocked (structural)"
    REJECTED = "rejected", "Rejected"
    STALE = "stale", "Not applied: live state moved"
    LAPSED = "lapsed", "Lapsed"
    # Every approval it needed landed while its track was on hold: it applies (or is refused)
    # when the hold ends, after a fresh compare-and-swap and guardrail check.
    APPROVED_WAITING = "approved_waiting", "Approved, waiting for the hold to end"
    REFUSED = "refused", "Refused after the hold"


# The one transition table: only a change set waiting for approval moves on; the others are final
# (a correction is a new change set, never an edit).
CHANGE_SET_TRANSITIONS: dict[str, frozenset[str]] = {
    ChangeSetStatus.PENDING_APPROVAL: frozenset(
        {
            ChangeSetStatus.APPLIED,
            ChangeSetStatus.REJECTED,
            ChangeSetStatus.STALE,
            ChangeSetStatus.LAPSED,
            ChangeSetStatus.APPROVED_WAITING,
        }
    ),
    ChangeSetStatus.APPROVED_WAITING: frozenset(
        {ChangeSetStatus.APPLIED, ChangeSetStatus.STALE, ChangeSetStatus.REFUSED}
    ),
    ChangeSetStatus.REFUSED: frozenset(),
    ChangeSetStatus.APPLIED: frozenset(),
    ChangeSetStatus.BLOCKED: frozenset(),
    ChangeSetStatus.REJECTED: frozenset(),
    ChangeSetStatus.STALE: frozenset(),
    ChangeSetStatus.LAPSED: frozenset(),
}


class ChangeSetKind(models.TextChoices):
    AGENT = "agent", "Agent change"
    ROLLBACK = "rollback", "Rollback"
    HOLD = "hold", "Pause all spend"
    RESUME = "resume", "Resume spend"
    # Moves live entities exactly to an approved version's targets (optimization/alignment.py):
    # no guardrail ticket, the plan was approved.
    ALIGNMENT = "alignment", "Alignment"


class ChangePath(models.TextChoices):
    OPTIMIZATION = "optimization", "Optimization"
    REVISE = "revise", "Plan revise"
    REPLAN = "replan", "Full replan"


class ChangeSet(models.Model):
    """What an agent (or an operator's rollback or hold) applied or wants to apply to the live
    state of one track. The row and its items are never edited: what happens to it afterwards is
    appended to its log (ChangeSetEvent), and its status moves only along CHANGE_SET_TRANSITIONS."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    change_set_id = models.CharField(max_length=100, help_text="chosen by the agent")
    track = models.ForeignKey("plans.Track", on_delete=models.PROTECT, related_name="change_sets")
    run_id = models.CharField(max_length=100, blank=True)
    agent = models.CharField(max_length=100, blank=True)
    reason = models.TextField(blank=True)
    kind = models.CharField(
        max_length=16, choices=ChangeSetKind.choices, default=ChangeSetKind.AGENT
    )
    status = models.CharField(max_length=20, choices=ChangeSetStatus.choices)
    path = models.CharField(max_length=16, choices=ChangePath.choices)
    status_reason = models.TextField(blank=True, help_text="why it is blocked, waiting or stale")
    guardrails = models.JSONField(
        default=dict, blank=True, help_text="the guardrail check per channel, as proposed"
    )
    ticket = models.CharField(max_length=16, blank=True, help_text="its A3 (or A2) ticket")
    reverts = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reverted_by"
    )
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "change_set_id"], name="change_set_unique_id"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ChangeSetStatus.values),
                name="change_set_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ChangeSetKind.values), name="change_set_kind_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["track", "-created_at"], name="change_set_track_log"),
            models.Index(
                fields=["tenant", "run_id"], condition=~models.Q(run_id=""), name="change_set_run"
            ),
            models.Index(
                fields=["track", "created_at"],
                condition=models.Q(status="blocked"),
                name="change_set_track_blocked",
            ),
            # The ops metrics' range reads (optimization.selectors): one tenant's change sets
            # made in a range, applied in a range, and waiting for a person now.
            models.Index(fields=["tenant", "created_at"], name="change_set_tenant_created"),
            models.Index(
                fields=["tenant", "applied_at"],
                condition=models.Q(status=ChangeSetStatus.APPLIED),
                name="change_set_tenant_applied",
            ),
            models.Index(
                fields=["tenant"],
                condition=models.Q(status=ChangeSetStatus.PENDING_APPROVAL),
                name="change_set_tenant_waiting",
            ),
            # The held-spend metric's raw part on rollup days (optimization/rollups.py): change
            # sets sent to a person and not decided yet, which the rollups leave out.
            models.Index(
                fields=["tenant", "created_at"],
                condition=models.Q(decided_at__isnull=True) & ~models.Q(ticket=""),
                name="change_set_tenant_undecided",
            ),
        ]

    def __str__(self) -> str:
        return self.change_set_id

    @property
    def audit_id(self) -> str:
        return self.change_set_id

    @property
    def is_pending(self) -> bool:
        return self.status == ChangeSetStatus.PENDING_APPROVAL

    @property
    def is_waiting_for_hold(self) -> bool:
        return self.status == ChangeSetStatus.APPROVED_WAITING

    @property
    def is_applied(self) -> bool:
        return self.status == ChangeSetStatus.APPLIED

    @property
    def is_rollback(self) -> bool:
        return self.kind == ChangeSetKind.ROLLBACK


class ChangeSetItem(models.Model):
    """One asked change: an entity's field from `before` to `after` (structural items name no
    entity). Never edited; an approver's smaller move is recorded on the approval event and what
    was applied in AppliedChange."""

    change_set = models.ForeignKey(ChangeSet, on_delete=models.PROTECT, related_name="items")
    position = models.PositiveSmallIntegerField()
    manifest_entry = models.ForeignKey(
        ExecutionManifestEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    entity_id = models.CharField(max_length=120, blank=True)
    channel = models.CharField(max_length=60, blank=True)
    field = models.CharField(max_length=32)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["change_set_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["change_set", "position"], name="change_set_item_position"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entity_id or '—'}.{self.field}: {self.before} → {self.after}"


class ChangeSetEventKind(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    APPLIED = "applied", "Applied"
    PENDING_APPROVAL = "pending_approval", "Sent for approval"
    BLOCKED = "blocked", "Blocked"
    APPROVED = "approved", "Approved"
    EDITED = "edited", "Approved for a smaller move"
    REJECTED = "rejected", "Rejected"
    STALE = "stale", "Not applied: live state moved"
    LAPSED = "lapsed", "Lapsed"
    ROLLED_BACK = "rolled_back", "Rolled back"
    WAITING = "approved_waiting", "Approved, waiting for the hold to end"
    REFUSED = "refused", "Refused after the hold"


class ChangeSetEvent(models.Model):
    """The optimization log itself: one row per thing that happened to a change set, appended
    and never changed (the database refuses UPDATE and DELETE)."""

    change_set = models.ForeignKey(ChangeSet, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=ChangeSetEventKind.choices)
    actor = models.CharField(max_length=150)
    message = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.change_set_id} {self.kind}"


class AppliedChange(models.Model):
    """What a change set actually moved on the live state, one row per item applied (asked or
    approved value). The drift scan sums the daily-budget deltas; append-only like the log."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    track = models.ForeignKey("plans.Track", on_delete=models.PROTECT, related_name="+")
    change_set = models.ForeignKey(ChangeSet, on_delete=models.PROTECT, related_name="applied")
    item = models.ForeignKey(ChangeSetItem, on_delete=models.PROTECT, related_name="+")
    manifest_entry = models.ForeignKey(
        ExecutionManifestEntry, on_delete=models.PROTECT, related_name="applied_changes"
    )
    channel = models.CharField(max_length=60)
    field = models.CharField(max_length=32)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    delta = models.DecimalField(
        max_digits=16, decimal_places=2, null=True, blank=True, help_text="daily budget change"
    )
    # Moved by an alignment change set: onto the approved plan, so it closes drift and is not
    # drift (optimization/drift.py reads this column, not a join to the change set).
    aligns = models.BooleanField(default=False, db_default=False)
    applied_at = models.DateTimeField()

    class Meta:
        ordering = ["applied_at", "id"]
        indexes = [
            # The drift scan: a track's daily-budget moves per channel since a point in time.
            models.Index(
                fields=["track", "channel", "applied_at"],
                condition=models.Q(field="daily_budget"),
                name="applied_budget_drift",
            ),
            models.Index(fields=["manifest_entry", "applied_at"], name="applied_entity_history"),
        ]

    def __str__(self) -> str:
        return f"{self.manifest_entry_id}.{self.field} {self.before} → {self.after}"


class TrackHold(models.Model):
    """An optimization hold ("Pause all spend"): every active entity of the track paused through
    one change set, and resumed through another. One active hold per track."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    track = models.ForeignKey("plans.Track", on_delete=models.PROTECT, related_name="holds")
    pause = models.ForeignKey(ChangeSet, on_delete=models.PROTECT, related_name="+")
    resume = models.ForeignKey(
        ChangeSet, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)
    started_by = models.CharField(max_length=150)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_by = models.CharField(max_length=150, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["track"],
                condition=models.Q(ended_at__isnull=True),
                name="one_hold_per_track",
            ),
        ]

    def __str__(self) -> str:
        return f"hold on {self.track_id}"

    @property
    def is_active(self) -> bool:
        return self.ended_at is None


class LaunchStatus(models.TextChoices):
    WAITING = "waiting", "Waiting for launch confirmation"
    LAUNCHED = "launched", "Launched"
    REFUSED = "refused", "Not launched"


class ManifestLaunch(models.Model):
    """The first go-live of entities a manifest sync brought live (new and active, or active
    without ever having been live), waiting for its A2 when the tenant asks a person to confirm
    first launches. The entities keep a status that is not live (`waiting_launch` points here)
    until the A2 is approved; a refused launch leaves them as they were."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    track = models.ForeignKey("plans.Track", on_delete=models.PROTECT, related_name="launches")
    launch_id = models.CharField(max_length=40, help_text="the A2's subject id")
    status = models.CharField(
        max_length=16, choices=LaunchStatus.choices, default=LaunchStatus.WAITING
    )
    entities = models.JSONField(default=list, help_text='"platform:entity_id" of each entity')
    ticket = models.CharField(max_length=16, blank=True, help_text="its A2 ticket")
    requested_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "launch_id"], name="launch_unique_id"),
            models.CheckConstraint(
                condition=models.Q(status__in=LaunchStatus.values),
                name="launch_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.launch_id

    @property
    def is_waiting(self) -> bool:
        return self.status == LaunchStatus.WAITING


class ThemeStatus(models.TextChoices):
    IN_REVIEW = "in_review", "In compliance review"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class CreativeTheme(models.Model):
    """An agent's or planner's new angle for a track (headlines, an imagery note, the claims it
    makes), reviewed through its A7 — with a client slot where the tenant's policy says so.
    Creatives carry their theme (`creative_theme` in an entity's state, or `{"creative",
    "theme"}` in a rotation); a creative whose theme is not approved cannot go live."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    track = models.ForeignKey("plans.Track", on_delete=models.PROTECT, related_name="themes")
    theme_id = models.CharField(max_length=100, help_text="chosen by whoever proposes it")
    name = models.CharField(max_length=200)
    headlines = models.JSONField(default=list)
    imagery_note = models.TextField(blank=True)
    claims = models.JSONField(default=list)
    status = models.CharField(
        max_length=16, choices=ThemeStatus.choices, default=ThemeStatus.IN_REVIEW
    )
    ticket = models.CharField(max_length=16, blank=True, help_text="its A7")
    proposed_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "theme_id"], name="theme_unique_id"),
            models.CheckConstraint(
                condition=models.Q(status__in=ThemeStatus.values), name="theme_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.theme_id}: {self.name}"

    @property
    def is_approved(self) -> bool:
        return self.status == ThemeStatus.APPROVED


# --- Performance, the seasonality calendar and revise recommendations -----------------------------
PRIMARY_SOURCE = "ga4"


class PerformanceRow(models.Model):
    """One day of one channel of a track, as one source reports it (GA4 is the primary source
    where several report the same day)."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    track = models.ForeignKey("plans.Track", on_delete=models.PROTECT, related_name="+")
    date = models.DateField()
    channel = models.CharField(max_length=60)
    source = models.CharField(max_length=40)
    spend = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    conversions = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    kpi = models.CharField(max_length=60, blank=True)
    kpi_value = models.DecimalField(max_digits=20, decimal_places=6, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["track_id", "date", "channel", "source"]
        constraints = [
            models.UniqueConstraint(
                fields=["track", "date", "channel", "source"], name="performance_row_unique"
            ),
        ]
        indexes = [
            # The KPI-miss read of the scan (optimization/triggers.py): the last days of every
            # track, read from the index alone.
            models.Index(
                fields=["date", "track", "channel", "source"],
                include=["spend", "conversions", "kpi_value"],
                name="performance_row_recent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.track_id} {self.date} {self.channel} ({self.source})"


class SeasonalChange(models.Model):
    """A configured flight change on the seasonality calendar: from `starts_on` to `ends_on` the
    channel's flight budget becomes `budget`. 14 days before (the tenant's lead time) the scan
    pre-drafts a revise carrying it."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    track = models.ForeignKey("plans.Track", on_delete=models.PROTECT, related_name="seasonal")
    channel = models.CharField(max_length=60)
    starts_on = models.DateField()
    ends_on = models.DateField()
    budget = models.DecimalField(max_digits=14, decimal_places=2)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["track_id", "starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="seasonal_change_dates",
            ),
            models.CheckConstraint(
                condition=models.Q(budget__gte=0), name="seasonal_change_budget"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.starts_on}–{self.ends_on}"


class Signal(models.TextChoices):
    DRIFT = "drift", "Cumulative budget drift"
    GUARDRAIL_APPROVALS = "guardrail_approvals", "Guardrail approvals"
    KPI_MISS = "kpi_miss", "KPI below target"
    STRUCTURAL_BLOCK = "structural_block", "Structural change blocked"
    SEASONALITY = "seasonality", "Seasonality calendar"
    AGENT = "agent", "Agent recommendation"


class RecommendationStatus(models.TextChoices):
    OPEN = "open", "Open"
    DRAFTED = "drafted", "Turned into a draft"
    ACCEPTED = "accepted", "Accepted: the planner drafts it"
    DISMISSED = "dismissed", "Dismissed"


class Recommendation(models.Model):
    """A `plan.revise.recommended`: a signal (or an agent) says a track's plan should be revised
    or replanned. It opens a ticket for the planner and never approves anything; one open
    recommendation per (track, signal, subject) — the database refuses a second."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    track = models.ForeignKey(
        "plans.Track", on_delete=models.PROTECT, related_name="recommendations"
    )
    signal = models.CharField(max_length=24, choices=Signal.choices)
    subject_key = models.CharField(
        max_length=100, blank=True, help_text="the channel, calendar entry, … it is about"
    )
    path = models.CharField(max_length=16, choices=ChangePath.choices)
    reason = models.TextField()
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=RecommendationStatus.choices, default=RecommendationStatus.OPEN
    )
    ticket = models.CharField(max_length=16, blank=True)
    draft_number = models.PositiveIntegerField(null=True, blank=True)
    source = models.CharField(max_length=100, help_text="the scan or the agent that raised it")
    created_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["track", "signal", "subject_key"],
                condition=models.Q(status="open"),
                name="one_open_recommendation",
            ),
            models.CheckConstraint(
                condition=models.Q(signal__in=Signal.values), name="recommendation_signal_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.signal} on {self.track_id}"

    @property
    def audit_id(self) -> str:
        return str(self.pk)

    @property
    def is_open(self) -> bool:
        return self.status == RecommendationStatus.OPEN


# --- Reconciliation: what the platforms run against the manifest (A6) -----------------------------
class PlatformObservation(models.Model):
    """What an agent saw one platform entity run at one moment (POST /api/v1/tracks/{track}/
    observations). Appended, never edited: the same entity and moment sent again is the same
    observation. `reconcile` compares the latest one of each entity with the manifest."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    track = models.ForeignKey("plans.Track", on_delete=models.PROTECT, related_name="+")
    manifest_entry = models.ForeignKey(
        ExecutionManifestEntry, on_delete=models.PROTECT, related_name="observations"
    )
    status = models.CharField(max_length=20, blank=True)
    daily_budget = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    spend_to_date = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    observed_at = models.DateTimeField()
    reported_by = models.CharField(max_length=150)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["manifest_entry_id", "-observed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["manifest_entry", "observed_at"], name="observation_unique_moment"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.manifest_entry_id} at {self.observed_at:%Y-%m-%d %H:%M}"


class ReconciliationStatus(models.TextChoices):
    OPEN = "open", "Waiting for an admin"
    ACCEPTED = "accepted", "Platform's value accepted"
    RESTORING = "restoring", "Manifest's value being restored"
    RESTORED = "restored", "Manifest's value restored"
    DISMISSED = "dismissed", "Withdrawn"


# An entity whose reconciliation is in one of these takes no automated change and no new A6.
RECONCILIATION_PENDING = (ReconciliationStatus.OPEN, ReconciliationStatus.RESTORING)

RECONCILIATION_TRANSITIONS: dict[str, frozenset[str]] = {
    ReconciliationStatus.OPEN: frozenset(
        {
            ReconciliationStatus.ACCEPTED,
            ReconciliationStatus.RESTORING,
            ReconciliationStatus.DISMISSED,
        }
    ),
    ReconciliationStatus.RESTORING: frozenset({ReconciliationStatus.RESTORED}),
    ReconciliationStatus.ACCEPTED: frozenset(),
    ReconciliationStatus.RESTORED: frozenset(),
    ReconciliationStatus.DISMISSED: frozenset(),
}


class Reconciliation(models.Model):
    """A difference `reconcile` found between an entity's manifest and what its platform runs,
    and what an admin decided about it through its A6. `differences` holds both figures per
    field ({"daily_budget": {"manifest": "280.00", "platform": "310.00"}}). One pending per
    entity: the database refuses a second, so two reconciles at once open one A6."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    track = models.ForeignKey("plans.Track", on_delete=models.PROTECT, related_name="+")
    manifest_entry = models.ForeignKey(
        ExecutionManifestEntry, on_delete=models.PROTECT, related_name="reconciliations"
    )
    observation = models.ForeignKey(PlatformObservation, on_delete=models.PROTECT, related_name="+")
    differences = models.JSONField()
    tolerance_pct = models.DecimalField(max_digits=6, decimal_places=2)
    status = models.CharField(
        max_length=12, choices=ReconciliationStatus.choices, default=ReconciliationStatus.OPEN
    )
    ticket = models.CharField(max_length=16, blank=True, help_text="its A6")
    decided_by = models.CharField(max_length=150, blank=True)
    decision_note = models.TextField(blank=True)
    opened_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["manifest_entry"],
                condition=models.Q(status__in=["open", "restoring"]),
                name="one_pending_reconciliation",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ReconciliationStatus.values),
                name="reconciliation_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"reconciliation {self.pk} of {self.manifest_entry_id}"

    @property
    def audit_id(self) -> str:
        return str(self.pk)

    @property
    def is_open(self) -> bool:
        return self.status == ReconciliationStatus.OPEN

    @property
    def is_pending(self) -> bool:
        return self.status in RECONCILIATION_PENDING


# --- Onboarding: the platform accounts a tenant's entities run on (A4) ----------------------------
class AccountKind(models.TextChoices):
    AD_ACCOUNT = "ad_account", "Ad account"
    BUSINESS_MANAGER = "business_manager", "Business Manager"
    TRACKING_DOMAIN = "tracking_domain", "Tracking domain (DNS verification)"
    PIXEL = "pixel", "Pixel"
    GA4_PROPERTY = "ga4_property", "GA4 property"


class OnboardingState(models.TextChoices):
    REQUESTED = "requested", "Requested"
    GRANTED = "granted", "Granted, not verified yet"
    READY = "ready", "Ready"
    REFUSED = "refused", "Refused"


class PlatformAccount(models.Model):
    """An account, domain or property the agency needs access to (docs/rules.md "Onboarding"):
    requested by an agent (an A4 opens), granted when the A4 is approved, ready when the agent
    reports the access verified. A manifest entity naming it (`state.account`) syncs live only
    once it is ready."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    platform = models.CharField(max_length=60)
    kind = models.CharField(max_length=20, choices=AccountKind.choices)
    external_id = models.CharField(max_length=120, help_text="the platform's id or the domain")
    client_owned = models.BooleanField(
        default=False, help_text="the client owns it: the client may grant the A4"
    )
    state = models.CharField(
        max_length=12, choices=OnboardingState.choices, default=OnboardingState.REQUESTED
    )
    ticket = models.CharField(max_length=16, blank=True, help_text="its A4")
    requested_by = models.CharField(max_length=150)
    requested_at = models.DateTimeField(auto_now_add=True)
    granted_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["tenant_id", "platform", "kind", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "platform", "external_id"], name="platform_account_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(state__in=OnboardingState.values),
                name="platform_account_state_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=AccountKind.values),
                name="platform_account_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.platform}:{self.external_id}"

    @property
    def audit_id(self) -> str:
        return f"{self.platform}:{self.external_id}"

    @property
    def is_ready(self) -> bool:
        return self.state == OnboardingState.READY


class ChangeSetDay(models.Model):
    """One tenant's change sets of one local day (in its time zone), counted for one ops metric
    (issue 21.5; optimization/rollups.py reads them, optimization/services/rollups.py keeps
    them). Derived data: rebuilt, never edited. The day is the metric's own: created_at for
    `auto`, `held` and `a3`, applied_at for `rollback`. Columns by metric:
    - auto (per track): n change sets through the guardrails, m applied alone;
    - rollback (per `key` "0" guardrails / "1" a person): n applied, `figures` the seconds to
      the first applied rollback of those rolled back;
    - held (per track; only change sets decided by now): n sent, `totals` [seconds waited,
      budget × seconds waited];
    - a3: n A3s, `figures` the largest move of those that could have applied alone, `others`
      that of those among them people rejected.
    Sums and exact numbers (JSON numbers keep PostgreSQL's numeric digits), so a range's figure
    from rollup days equals the raw aggregate's."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    metric = models.CharField(max_length=16)
    track = models.ForeignKey(
        "plans.Track", null=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    key = models.CharField(max_length=16, blank=True)
    n = models.BigIntegerField(default=0)
    m = models.BigIntegerField(default=0)
    totals = models.JSONField(default=list)
    figures = models.JSONField(default=list)
    others = models.JSONField(default=list)

    class Meta:
        indexes = [models.Index(fields=["tenant", "day"], name="change_set_day_tenant_day")]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.day} {self.metric}"


class ChangeSetRollupMark(models.Model):
    """How far the change-set rollups have read (a single row): change sets and their log by
    insertion id. `seen_*` is the highest id of the last refresh, `rescan_*` the one of the
    refresh before (each refresh re-reads from there: a row committed after a higher id was
    seen is still caught). `complete_until`: rollup days ending before it are read."""

    seen_id = models.BigIntegerField(default=0)
    rescan_from_id = models.BigIntegerField(default=0)
    seen_event_id = models.BigIntegerField(default=0)
    rescan_from_event_id = models.BigIntegerField(default=0)
    complete_until = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"change sets ≤ {self.seen_id}, events ≤ {self.seen_event_id}"
