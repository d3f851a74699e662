"""QC results (`agent_qc_results`) and correction loops (`agent_qc_loops`), and the success-floor
check (seed 003 `qc_threshold_policy`): a task or subtask grain whose pass rate over the last
`window_hours` is under `success_floor`, with at least `min_sample_global` results, raises an
alert on the dashboard; the alert records when the grain recovered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from agents.models import AgentRun, QcAlert, QcLoop, QcResult
from agents.services.runs import RunError
from approvals.events import LifecycleEvent, LifecycleKind, lifecycle_emit
from audit.actions import AuditAction
from audit.actors import Actor
from audit.services import audit_event_append
from config.text import text_problem
from tenants.models import TenantPolicy

MAX_CODES = 50
QC_ACTOR = Actor.system("qc")


@dataclass(frozen=True)
class GrainRate:
    main_task_id: str
    subtask_id: str
    passed: int
    sample: int

    @property
    def rate(self) -> Decimal:
        return (Decimal(self.passed) / Decimal(self.sample)).quantize(Decimal("0.0001"))


def _clean_codes(codes) -> list[str]:
    if not isinstance(codes, list) or len(codes) > MAX_CODES:
        raise RunError(
            f"failure_codes is a list of at most {MAX_CODES} codes.",
            fields={"failure_codes": ["a list of codes"]},
        )
    cleaned = []
    for code in codes:
        if not isinstance(code, str) or not code.strip() or len(code) > 100 or text_problem(code):
            raise RunError(
                "Each failure code is a short text.", fields={"failure_codes": ["short texts"]}
            )
        cleaned.append(code.strip())
    return cleaned


def grain_rate(*, tenant, main_task_id: str, subtask_id: str, since) -> GrainRate:
    results = QcResult.objects.filter(
        tenant=tenant, main_task_id=main_task_id, created_at__gte=since
    )
    if subtask_id:
        results = results.filter(subtask_id=subtask_id)
    counts = results.aggregate(sample=Count("id"), passed=Count("id", filter=Q(passed=True)))
    return GrainRate(main_task_id, subtask_id, counts["passed"], counts["sample"])


def _check_floor(tenant, policy: TenantPolicy, rate: GrainRate) -> None:
    """Open the grain's alert under the floor (enough samples), close it when it recovers."""
    # Long on purpose: open or close a grain's floor alert under the grain's lock; the sample
    # counts and the alert's words are read once and used by both branches.
    open_alert = QcAlert.objects.filter(
        tenant=tenant,
        main_task_id=rate.main_task_id,
        subtask_id=rate.subtask_id,
        recovered_at__isnull=True,
    ).first()
    enough = rate.sample >= policy.min_sample_global
    under = enough and rate.rate < policy.success_floor
    if under and open_alert is None:
        try:
            with transaction.atomic():
                alert = QcAlert.objects.create(
                    tenant=tenant,
                    main_task_id=rate.main_task_id,
                    subtask_id=rate.subtask_id,
                    success_rate=rate.rate,
                    sample=rate.sample,
                    floor=policy.success_floor,
                )
        except IntegrityError:  # another result opened it a moment ago
            return
        audit_event_append(
            tenant=tenant,
            actor=QC_ACTOR,
            action=AuditAction.QC_ALERT_OPENED,
            resource=alert,
            data={
                "main_task_id": rate.main_task_id,
                "subtask_id": rate.subtask_id,
                "success_rate": str(rate.rate),
                "sample": rate.sample,
                "floor": str(policy.success_floor),
            },
        )
        lifecycle_emit(
            [
                LifecycleEvent(
                    kind=LifecycleKind.QC_ALERT_OPENED,
                    tenant_id=tenant.pk,
                    actor_label=str(QC_ACTOR),
                    data={
                        "alert_id": alert.pk,
                        "main_task_id": rate.main_task_id,
                        "subtask_id": rate.subtask_id,
                        "success_rate": str(rate.rate),
                        "sample": rate.sample,
                        "floor": str(policy.success_floor),
                    },
                )
            ]
        )
    elif open_alert is not None and enough and not under:
        updated = QcAlert.objects.filter(pk=open_alert.pk, recovered_at__isnull=True).update(
            recovered_at=timezone.now(), recovered_rate=rate.rate
        )
        if updated:
            audit_event_append(
                tenant=tenant,
                actor=QC_ACTOR,
                action=AuditAction.QC_ALERT_RECOVERED,
                resource=open_alert,
                data={"success_rate": str(rate.rate), "sample": rate.sample},
            )


@transaction.atomic(durable=True)
def qc_result_record(
    *, run: AgentRun, subtask_id: str, passed: bool, failure_codes, attempt: int
) -> QcResult:
    if isinstance(attempt, bool) or not isinstance(attempt, int) or not 1 <= attempt <= 1000:
        raise RunError("attempt is a whole number from 1.", fields={"attempt": ["from 1"]})
    codes = _clean_codes(failure_codes)
    if passed and codes:
        raise RunError(
            "A passing result carries no failure codes.",
            fields={"failure_codes": ["must be empty"]},
        )
    result = QcResult.objects.create(
        tenant_id=run.tenant_id,
        run=run,
        main_task_id=run.main_task_id,
        subtask_id=subtask_id,
        agent=run.agent,
        model=run.model,
        passed=passed,
        failure_codes=codes,
        attempt=attempt,
    )
    loop, _created = QcLoop.objects.select_for_update().get_or_create(
        run=run, subtask_id=subtask_id
    )
    loop.attempts = max(loop.attempts, attempt)
    loop.passed = loop.passed or passed
    loop.failure_codes = sorted(set(loop.failure_codes) | set(codes))
    loop.save(update_fields=["attempts", "passed", "failure_codes", "updated_at"])
    policy = TenantPolicy.objects.get(tenant_id=run.tenant_id)
    since = timezone.now() - timedelta(hours=policy.window_hours)
    for grain in (subtask_id, ""):
        _check_floor(
            run.tenant,
            policy,
            grain_rate(
                tenant=run.tenant, main_task_id=run.main_task_id, subtask_id=grain, since=since
            ),
        )
    return result
