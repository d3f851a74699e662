from django.db import models


class AgentKey(models.Model):
    """A per-tenant API key. Only its SHA-256 is stored; the key is shown once, at creation.

    The key reads `ht_<prefix>_<secret>`: the prefix finds the row, the hash proves the secret.
    """

    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="agent_keys"
    )
    name = models.CharField(max_length=100, help_text="the agent or service using it")
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["tenant", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.tenant.slug}, ht_{self.prefix}_…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


# --- Runs, the gate and the Cost Guard ------------------------------------------------------------
class RunState(models.TextChoices):
    RUNNING = "running", "Running"
    BLOCKED = "blocked", "Blocked"
    ENDED = "ended", "Ended"


class GateKind(models.TextChoices):
    STEP = "step", "Step"
    TOOL_ROUND = "tool_round", "Tool round"
    QC_CORRECTION = "qc_correction", "QC correction"
    ORCHESTRATOR_RETRY = "orchestrator_retry", "Orchestrator retry"
    LLM_CALL = "llm_call", "LLM call"


# Each kind's own counter column and the loop-policy key that bounds it (`step` has no limit of
# its own; every kind but `llm_call` also counts one global step).
COUNTER_OF = {
    GateKind.STEP: "steps",
    GateKind.TOOL_ROUND: "tool_rounds",
    GateKind.QC_CORRECTION: "qc_corrections",
    GateKind.ORCHESTRATOR_RETRY: "orchestrator_retries",
}
CEILING_OF = {
    "tool_rounds": "tool_rounds_max",
    "qc_corrections": "qc_correction_max",
    "orchestrator_retries": "orchestrator_retry_max",
    "global_steps": "global_steps_per_run_id_max",
}
COUNTER_NAMES = {
    "steps": "step",
    "tool_rounds": "tool_round",
    "qc_corrections": "qc_correction",
    "orchestrator_retries": "orchestrator_retry",
    "global_steps": "global",
}


class AgentRun(models.Model):
    """One run of an agent (seed 003 "Loop limits", "Cost Guard"): its counters, its spend and
    what blocks it. The gate updates the counters in one conditional UPDATE of this row, so
    concurrent calls can never let more steps through than the ceiling."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    run_id = models.CharField(max_length=100)
    main_task_id = models.CharField(max_length=100)
    agent = models.CharField(max_length=100)
    model = models.CharField(max_length=100)
    estimated_cost_usd = models.DecimalField(max_digits=14, decimal_places=6)
    actual_cost_usd = models.DecimalField(max_digits=14, decimal_places=6, default=0)
    reserved_usd = models.DecimalField(
        max_digits=14, decimal_places=6, default=0, help_text="open reservations of llm calls"
    )
    input_tokens = models.BigIntegerField(default=0)
    output_tokens = models.BigIntegerField(default=0)
    steps = models.PositiveIntegerField(default=0)
    tool_rounds = models.PositiveIntegerField(default=0)
    qc_corrections = models.PositiveIntegerField(default=0)
    orchestrator_retries = models.PositiveIntegerField(default=0)
    global_steps = models.PositiveIntegerField(default=0)
    llm_calls = models.PositiveIntegerField(default=0)
    ended = models.BooleanField(default=False)
    loop_block = models.CharField(
        max_length=32, blank=True, help_text="the exhausted counter while an A8 is open"
    )
    cost_block = models.BooleanField(default=False, help_text="the Cost Guard tripped (A9)")
    loop_ticket = models.CharField(max_length=16, blank=True)
    cost_ticket = models.CharField(max_length=16, blank=True)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "run_id"], name="agent_run_unique_id"),
            models.CheckConstraint(
                condition=models.Q(estimated_cost_usd__gt=0), name="agent_run_estimate_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(actual_cost_usd__gte=0) & models.Q(reserved_usd__gte=0),
                name="agent_run_money_not_negative",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="agent_run_list")]

    def __str__(self) -> str:
        return self.run_id

    @property
    def audit_id(self) -> str:
        return self.run_id

    @property
    def state(self) -> str:
        if self.ended:
            return RunState.ENDED
        if self.loop_block or self.cost_block:
            return RunState.BLOCKED
        return RunState.RUNNING

    @property
    def is_blocked(self) -> bool:
        return self.state == RunState.BLOCKED

    @property
    def counts(self) -> dict[str, int]:
        return {name: getattr(self, column) for column, name in COUNTER_NAMES.items()}


class GateCall(models.Model):
    """The run's own log: every gate call, allowed or refused (its timeline). Not in the audit
    chain: only what changes a run's standing is audited, or one tenant's chain would serialise
    every agent's every step."""

    run = models.ForeignKey(AgentRun, on_delete=models.CASCADE, related_name="gate_calls")
    kind = models.CharField(max_length=24, choices=GateKind.choices)
    allowed = models.BooleanField()
    reason = models.CharField(max_length=64, blank=True)
    global_steps = models.PositiveIntegerField(default=0, help_text="the global count after it")
    expected_cost_usd = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["run", "-at"], name="gate_call_timeline")]

    def __str__(self) -> str:
        return f"{self.run_id} {self.kind} {'allowed' if self.allowed else 'refused'}"


class ReservationStatus(models.TextChoices):
    OPEN = "open", "Open"
    SETTLED = "settled", "Settled"
    RELEASED = "released", "Released"
    LAPSED = "lapsed", "Lapsed"


class Reservation(models.Model):
    """An llm_call's expected cost, held against the Cost Guard's line from the gate until the
    spend report settles it (or it is released, or lapses after 15 minutes)."""

    run = models.ForeignKey(AgentRun, on_delete=models.CASCADE, related_name="reservations")
    public_id = models.CharField(max_length=32, unique=True)
    amount_usd = models.DecimalField(max_digits=14, decimal_places=6)
    status = models.CharField(
        max_length=16, choices=ReservationStatus.choices, default=ReservationStatus.OPEN
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["run", "expires_at"],
                condition=models.Q(status="open"),
                name="reservation_open_expiry",
            )
        ]

    def __str__(self) -> str:
        return self.public_id


class SpendReport(models.Model):
    """One LLM call's tokens and cost as the agent reported it (the run's cost timeline)."""

    run = models.ForeignKey(AgentRun, on_delete=models.CASCADE, related_name="spend_reports")
    input_tokens = models.PositiveIntegerField()
    output_tokens = models.PositiveIntegerField()
    cost_usd = models.DecimalField(max_digits=14, decimal_places=6)
    reservation = models.ForeignKey(
        Reservation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actual_after_usd = models.DecimalField(max_digits=14, decimal_places=6)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.run_id} ${self.cost_usd}"


# --- QC ---------------------------------------------------------------------------------------
class QcResult(models.Model):
    """`agent_qc_results` (seed 003): one QC verdict on a subtask's attempt."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    run = models.ForeignKey(AgentRun, on_delete=models.CASCADE, related_name="qc_results")
    main_task_id = models.CharField(max_length=100)
    subtask_id = models.CharField(max_length=100)
    agent = models.CharField(max_length=100)
    model = models.CharField(max_length=100)
    passed = models.BooleanField()
    failure_codes = models.JSONField(default=list, blank=True)
    attempt = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["tenant", "main_task_id", "subtask_id", "created_at"],
                name="qc_result_grain",
            ),
            models.Index(fields=["run", "subtask_id"], name="qc_result_run"),
            # The ops metrics' range reads (agents.selectors): one tenant's results of a range.
            models.Index(fields=["tenant", "created_at"], name="qc_result_tenant_created"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.subtask_id}#{self.attempt} {'pass' if self.passed else 'fail'}"


class QcLoop(models.Model):
    """`agent_qc_loops` (seed 003): the correction loop of one subtask of a run — how deep it
    went, whether it ended passing, and the failure codes met on the way."""

    run = models.ForeignKey(AgentRun, on_delete=models.CASCADE, related_name="qc_loops")
    subtask_id = models.CharField(max_length=100)
    attempts = models.PositiveSmallIntegerField(default=0)
    passed = models.BooleanField(default=False)
    failure_codes = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "subtask_id"], name="qc_loop_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}/{self.subtask_id} ×{self.attempts}"


class QcAlert(models.Model):
    """A task or subtask grain whose QC success rate fell under the tenant's floor (with enough
    samples in the window): shown on the dashboard beside the red flags, closed when the rate
    recovers. One open alert per grain."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="+")
    main_task_id = models.CharField(max_length=100)
    subtask_id = models.CharField(max_length=100, blank=True, help_text="empty: the whole task")
    success_rate = models.DecimalField(max_digits=5, decimal_places=4)
    sample = models.PositiveIntegerField()
    floor = models.DecimalField(max_digits=4, decimal_places=3)
    opened_at = models.DateTimeField(auto_now_add=True)
    recovered_at = models.DateTimeField(null=True, blank=True)
    recovered_rate = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "main_task_id", "subtask_id"],
                condition=models.Q(recovered_at__isnull=True),
                name="qc_alert_one_open_per_grain",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.main_task_id}/{self.subtask_id or '*'} {self.success_rate}"

    @property
    def is_open(self) -> bool:
        return self.recovered_at is None


class QcResultDay(models.Model):
    """The QC results of one tenant's local day (in its time zone) per grain, agent and model,
    counted: the ops metrics read these for whole past days and raw results only for the rest
    (issue 21.5; agents/rollups.py keeps them in step). Derived data: rebuilt, never edited."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    main_task_id = models.CharField(max_length=100)
    subtask_id = models.CharField(max_length=100)
    agent = models.CharField(max_length=100)
    model = models.CharField(max_length=100)
    results = models.PositiveIntegerField()
    passed = models.PositiveIntegerField()
    first_attempts = models.PositiveIntegerField()
    first_passed = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "main_task_id", "subtask_id", "agent", "model"],
                name="qc_result_day_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.day} {self.main_task_id}/{self.subtask_id}"


class RunDay(models.Model):
    """The runs one tenant started on one local day (its time zone), counted for the ops
    metrics' run figures (issue 21.5; agents/rollups_runs.py reads them, agents/services/
    rollups.py keeps them). Derived data: rebuilt, never edited. By metric:
    - code (per failure code): n loops that met it, m of them ended passing, `attempts` summed;
    - depth (per depth, 4 and more together): n loops, m of them ended passing;
    - a8 (per failure code met, "" none, "*" every run): n runs, m of them raised an A8."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    metric = models.CharField(max_length=8)
    key = models.CharField(max_length=100, blank=True)
    n = models.BigIntegerField(default=0)
    m = models.BigIntegerField(default=0)
    attempts = models.BigIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["tenant", "day"], name="run_day_tenant_day")]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.day} {self.metric} {self.key}"


class RollupWatermark(models.Model):
    """How far a rollup has read its append-only source (by insertion id). `seen_id` is the
    highest id of the last refresh, `rescan_from_id` the one of the refresh before it: each
    refresh re-reads from there, so a row whose transaction committed after a higher id was
    already seen (within one refresh interval) is still counted. `complete_until`: rollup days
    ending before it hold every row (the refresh's time less a margin for open transactions)."""

    name = models.CharField(max_length=100, unique=True)
    seen_id = models.BigIntegerField(default=0)
    rescan_from_id = models.BigIntegerField(default=0)
    complete_until = models.DateTimeField(null=True, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ≤ {self.seen_id}"
