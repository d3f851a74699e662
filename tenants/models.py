from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from tenants.compliance import profile_error, profile_spec
from tenants.policy import FLAT_DEFAULTS as D
from tenants.policy import LOOP_CEILINGS, TRIP_MULTIPLIER_CEILING, policy_errors
from tenants.roles import INTERNAL_ROLES, Role  # noqa: F401 (named here by every app)


def validate_time_zone(value: str) -> None:
    if value not in available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone")


class Tenant(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=200)
    vertical = models.CharField(max_length=50, help_text="e.g. retail, health")
    country = models.CharField(max_length=2, help_text="ISO 3166 code, for business days")
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    created_at = models.DateTimeField(auto_now_add=True)
    # How long its audit events stay in the database; older monthly partitions go to an archive
    # file with their checkpoint (`manage.py audit_retention`, audit/retention.py).
    audit_retention_years = models.PositiveSmallIntegerField(default=7)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def today(self, now: datetime | None = None) -> date:
        """The tenant's date — in its time zone — now, or at `now`."""
        return (now or timezone.now()).astimezone(ZoneInfo(self.time_zone)).date()


class Membership(models.Model):
    """One role per person per tenant (docs/rules.md "Who uses it")."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    # Away (tenants/away.py): from the first to the last day, in the tenant's time zone, the
    # person's assignments and notifications in this tenant go to the stand-in, who holds the
    # same role here.
    away_from = models.DateField(null=True, blank=True)
    away_until = models.DateField(null=True, blank=True)
    stand_in = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="who takes over while away (same tenant, same role)",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="one_role_per_tenant"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
            # Away has both ends or neither, in order, and a stand-in who is someone else.
            models.CheckConstraint(
                condition=(Q(away_from__isnull=True) & Q(away_until__isnull=True))
                | (
                    Q(away_from__isnull=False)
                    & Q(away_until__isnull=False)
                    & Q(away_from__lte=models.F("away_until"))
                ),
                name="membership_away_dates",
            ),
            models.CheckConstraint(
                condition=~Q(stand_in=models.F("user")), name="membership_stand_in_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.tenant.slug} · {self.role}"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class ComplianceProfile(models.TextChoices):
    STANDARD = "standard", "Standard"
    HEALTH_STRICT = "health_strict", "Health (strict)"
    FINANCE_STRICT = "finance_strict", "Finance (strict)"


def _pct(**kw):
    return models.DecimalField(max_digits=6, decimal_places=2, **kw)


class TenantPolicy(models.Model):
    """Seed 003 "Configuration per tenant", seed 000 trigger thresholds and the SLAs.

    Defaults and ceilings come from tenants/policy.py. The database refuses a looser loop or
    cost policy too (check constraints), in case anything writes around the service.
    """

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="policy")

    # approval_policy
    first_launch_requires_human = models.BooleanField(default=D["first_launch_requires_human"])
    auto_approve_optimization_under_pct = _pct(
        default=D["auto_approve_optimization_under_pct"], validators=[MinValueValidator(0)]
    )
    client_must_approve_budget_increase = models.BooleanField(
        default=D["client_must_approve_budget_increase"]
    )
    client_budget_increase_threshold_pct = _pct(
        default=D["client_budget_increase_threshold_pct"], validators=[MinValueValidator(0)]
    )
    vertical_compliance_profile = models.CharField(
        max_length=32, choices=ComplianceProfile.choices, default=D["vertical_compliance_profile"]
    )
    client_approves_creative_themes = models.BooleanField(
        null=True,
        blank=True,
        default=D["client_approves_creative_themes"],
        help_text="empty: as the compliance profile says (tenants/compliance.py)",
    )
    separation_of_duties = models.BooleanField(default=D["separation_of_duties"])
    # loop_policy (hard ceilings)
    qc_correction_max = models.PositiveSmallIntegerField(default=D["qc_correction_max"])
    tool_rounds_max = models.PositiveSmallIntegerField(default=D["tool_rounds_max"])
    orchestrator_retry_max = models.PositiveSmallIntegerField(default=D["orchestrator_retry_max"])
    global_steps_per_run_id_max = models.PositiveSmallIntegerField(
        default=D["global_steps_per_run_id_max"]
    )
    on_exhaustion = models.CharField(max_length=32, default=D["on_exhaustion"])
    # cost_guard_policy
    trip_multiplier = models.DecimalField(
        max_digits=4, decimal_places=2, default=D["trip_multiplier"]
    )
    block_on_trip = models.BooleanField(default=D["block_on_trip"])
    # qc_threshold_policy
    success_floor = models.DecimalField(max_digits=4, decimal_places=3, default=D["success_floor"])
    window_hours = models.PositiveIntegerField(default=D["window_hours"])
    min_sample_global = models.PositiveIntegerField(default=D["min_sample_global"])
    # revise_triggers
    drift_pct = _pct(default=D["drift_pct"], validators=[MinValueValidator(0)])
    drift_window_days = models.PositiveIntegerField(default=D["drift_window_days"])
    guardrail_approvals_max = models.PositiveIntegerField(default=D["guardrail_approvals_max"])
    guardrail_approvals_window_days = models.PositiveIntegerField(
        default=D["guardrail_approvals_window_days"]
    )
    kpi_miss_days = models.PositiveIntegerField(default=D["kpi_miss_days"])
    structural_block_max = models.PositiveIntegerField(default=D["structural_block_max"])
    seasonality_lead_days = models.PositiveIntegerField(default=D["seasonality_lead_days"])
    # reconciliation
    reconciliation_tolerance_pct = _pct(
        default=D["reconciliation_tolerance_pct"], validators=[MinValueValidator(0)]
    )
    # sla (business days; working hours in the tenant's time zone)
    sla_revise_draft_days = models.PositiveSmallIntegerField(default=D["sla_revise_draft_days"])
    sla_replan_draft_days = models.PositiveSmallIntegerField(default=D["sla_replan_draft_days"])
    sla_approval_days = models.PositiveSmallIntegerField(default=D["sla_approval_days"])
    sla_revise_approval_days = models.PositiveSmallIntegerField(
        default=D["sla_revise_approval_days"]
    )
    working_hours_start = models.PositiveSmallIntegerField(default=D["working_hours_start"])
    working_hours_end = models.PositiveSmallIntegerField(default=D["working_hours_end"])
    a3_lapse_days = models.PositiveSmallIntegerField(default=D["a3_lapse_days"])
    alignment_sla_hours = models.PositiveSmallIntegerField(default=D["alignment_sla_hours"])

    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "tenant policies"
        constraints = [
            *[
                models.CheckConstraint(
                    condition=Q(**{f"{key}__lte": maximum}), name=f"policy_{key}_ceiling"
                )
                for key, maximum in LOOP_CEILINGS.items()
            ],
            models.CheckConstraint(
                condition=Q(trip_multiplier__lte=TRIP_MULTIPLIER_CEILING)
                & Q(trip_multiplier__gte=Decimal("1")),
                name="policy_trip_multiplier_ceiling",
            ),
            models.CheckConstraint(
                condition=Q(on_exhaustion="red_flag_a8"), name="policy_on_exhaustion_never_retry"
            ),
            models.CheckConstraint(condition=Q(block_on_trip=True), name="policy_block_on_trip"),
        ]

    def __str__(self) -> str:
        return f"Policy of {self.tenant}"

    def values(self) -> dict:
        return {key: getattr(self, key) for key in D}

    @property
    def creative_themes_need_the_client(self) -> bool:
        """approval_policy.client_approves_creative_themes, or the profile's default."""
        if self.client_approves_creative_themes is not None:
            return self.client_approves_creative_themes
        return profile_spec(self.vertical_compliance_profile).client_approves_creative_themes

    def clean(self) -> None:
        errors = policy_errors(self.values())
        if self.tenant_id is not None:
            problem = profile_error(self.tenant.vertical, self.vertical_compliance_profile)
            if problem:
                errors["vertical_compliance_profile"] = problem
        if errors:
            raise ValidationError(errors)


# --- Login throttling (tenants/throttle.py) ------------------------------------------------------
class KnownLoginAddress(models.Model):
    """A (username, address) pair that has logged in: it keeps working while its address is
    locked for other usernames (an office behind one address is not locked out by one person's
    typos, nor by an attack on its address). Its own failures still lock it."""

    username = models.CharField(max_length=150)
    ip_address = models.GenericIPAddressField()
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["username", "ip_address"], name="known_login_pair")
        ]

    def __str__(self) -> str:
        return f"{self.username} from {self.ip_address}"


class LockoutKind(models.TextChoices):
    USERNAME = "username", "Username from this address"
    ADDRESS = "address", "Every new username from this address"


class LoginLockout(models.Model):
    """One lockout as the throttle decided it, kept after it ends (shown to the tenant's admins,
    who may lift it). `username` is empty for an address lockout no known person has met yet."""

    kind = models.CharField(max_length=16, choices=LockoutKind.choices)
    username = models.CharField(max_length=150, blank=True)
    ip_address = models.GenericIPAddressField()
    failures = models.PositiveIntegerField()
    locked_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-locked_at"]
        indexes = [models.Index(fields=["username", "-locked_at"], name="lockout_username")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=LockoutKind.values), name="lockout_kind_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.username or '*'} from {self.ip_address}"

    @property
    def is_address_lockout(self) -> bool:
        return self.kind == LockoutKind.ADDRESS
