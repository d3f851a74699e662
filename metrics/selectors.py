"""The ops metrics (seed 003 "Metrics (ops)" and issue #11), each one aggregate query.

Every function asks one domain's selectors (approvals, agents, optimization, plans) for the
tenants in `scope` and both ranges at once (the range shown and the one before it, told apart by
a `period` column), and hands back the grouped rows the database computed: no Python loop ever
walks tickets, QC results or change-set items. The apps own their tables, their reads and the
indexes those reads need; metrics imports no app's models, views or services (pyproject.toml's
contracts), and nothing imports metrics.

Definitions, where the seed leaves room:
- time to approve: opened → approved, of tickets approved in the range (A6 overrides are
  approved as they are opened and are left out);
- auto-approved: agent change sets that went through the guardrails (not blocked as
  structural) and applied with no ticket;
- QC first pass: QC results of a subtask's first attempt that passed;
- failure codes and loop depth: the correction loops (`agent_qc_loops`) of runs started in range;
- A8 rate by QC pattern: runs started in the range, grouped by a failure code met in any of
  their loops, and the share of them that raised an A8;
- grains under the floor: a task (main_task_id) or subtask grain whose QC pass rate over the
  range is under its tenant's success_floor with at least min_sample_global results;
- rollback after approval: an applied agent change set rolled back (an applied rollback that
  `reverts` it) within N days, and an approved version whose successor, approved within N days,
  brings back the payload it replaced;
- SLA breach: a ticket opened in the range with a due time, resolved after it or still open
  past it; by role, the approval slots not filled by the due time of a breached ticket;
- spend at risk: the daily budget (sum of |after − before| of daily_budget items) that change
  sets waiting for a person hold, and for how long;
- A3 what-if: A3s whose every channel stayed within the drift bound and whose largest move was
  at most a looser threshold would have applied by themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from agents import selectors as agents
from agents.selectors import ALL_RUNS, DEPTH_CAP, NO_FAILURE
from approvals import selectors as approvals
from config.sql import CURRENT, PREVIOUS, ComparedRanges
from metrics.periods import Ranges
from optimization import alignment as alignment_selector
from optimization import selectors as optimization
from plans import selectors as plans

__all__ = ["ALL_RUNS", "CURRENT", "DEPTH_CAP", "NO_FAILURE", "PREVIOUS", "Scope"]

QC_DIMENSIONS = {"main_task_id": "Main task", "agent": "Agent", "model": "Model"}


@dataclass(frozen=True)
class Scope:
    tenant_ids: tuple[int, ...]
    ranges: Ranges
    now: datetime

    @property
    def since(self) -> datetime:
        return self.ranges.previous.start

    @property
    def split(self) -> datetime:
        return self.ranges.current.start

    @property
    def until(self) -> datetime:
        return self.ranges.current.end

    @property
    def compared(self) -> ComparedRanges:
        return ComparedRanges(since=self.since, split=self.split, until=self.until)


# --- 1. Time to approve ---------------------------------------------------------------------------
def time_to_approve(scope: Scope) -> list[dict]:
    """Per ticket type and period: approvals, mean, median and p90 seconds opened → approved."""
    return approvals.approval_times_by_type(tenant_ids=scope.tenant_ids, ranges=scope.compared)


# --- 2. Changes auto-approved ---------------------------------------------------------------------
def auto_approved(scope: Scope) -> list[dict]:
    """Per track and period: agent change sets through the guardrails, and those applied alone."""
    return optimization.auto_applied_by_track(tenant_ids=scope.tenant_ids, ranges=scope.compared)


# --- 3. QC first pass -----------------------------------------------------------------------------
def qc_first_pass(scope: Scope, *, by: str) -> list[dict]:
    """Per main task, agent or model and period: first attempts and those that passed."""
    if by not in QC_DIMENSIONS:
        raise ValueError(f"first pass by one of {', '.join(QC_DIMENSIONS)}")
    return agents.qc_first_attempts(tenant_ids=scope.tenant_ids, ranges=scope.compared, by=by)


# --- 4. Failure codes and correction-loop depth ---------------------------------------------------
def failure_codes(scope: Scope) -> list[dict]:
    """Per failure code and period: the loops that met it, how deep they went on average and how
    many ended passing (loops of runs started in the range)."""
    return agents.qc_failure_codes(tenant_ids=scope.tenant_ids, ranges=scope.compared)


def loop_depth(scope: Scope) -> list[dict]:
    """Per depth (attempts, 4 and more together) and period: loops and those that ended passing."""
    return agents.qc_loop_depths(tenant_ids=scope.tenant_ids, ranges=scope.compared)


# --- 5. A8 rate next to the QC fail patterns of the same runs -------------------------------------
def a8_by_qc_pattern(scope: Scope) -> list[dict]:
    """Per QC failure code met on a run (NO_FAILURE: runs that met none; ALL_RUNS: every run)
    and period: runs started in the range and those that raised an A8."""
    return agents.a8_runs_by_failure_code(tenant_ids=scope.tenant_ids, ranges=scope.compared)


# --- 6. Grains under the success floor, alerts and recovery ---------------------------------------
def grains_under_floor(scope: Scope) -> list[dict]:
    """Per grain kind (task / subtask) and period: grains with QC results, those with enough
    results to judge (min_sample_global) and those whose pass rate is under success_floor."""
    return agents.qc_grains_under_floor(tenant_ids=scope.tenant_ids, ranges=scope.compared)


def qc_alerts_opened(scope: Scope) -> list[dict]:
    return agents.qc_alerts_opened(tenant_ids=scope.tenant_ids, ranges=scope.compared)


def qc_recoveries(scope: Scope) -> list[dict]:
    """Alerts that recovered in the range: how many, and the mean and median seconds to it."""
    return agents.qc_alert_recoveries(tenant_ids=scope.tenant_ids, ranges=scope.compared)


# --- 7. Rollback after approval -------------------------------------------------------------------
def change_set_rollbacks(scope: Scope, *, days: int) -> list[dict]:
    """Per approval (a person, or the guardrails alone) and period: agent change sets applied
    in the range, and those an applied rollback reverted within `days` days."""
    return optimization.change_sets_rolled_back(
        tenant_ids=scope.tenant_ids, ranges=scope.compared, days=days
    )


def version_reverts(scope: Scope, *, days: int) -> list[dict]:
    """Per period: versions approved in the range that replaced an earlier one, and those whose
    successor, approved within `days` days, brought back the payload they replaced."""
    return plans.versions_reverted(tenant_ids=scope.tenant_ids, ranges=scope.compared, days=days)


# --- 8. Manual overrides over time ----------------------------------------------------------------
def overrides_over_time(scope: Scope, *, bucket: str) -> list[dict]:
    """Per bucket (day, week or month on the range's wall clock) and period: A6 overrides."""
    return approvals.overrides_by_bucket(
        tenant_ids=scope.tenant_ids, ranges=scope.compared, bucket=bucket, zone=scope.ranges.zone
    )


# --- 9. SLA breaches, by type and by the role that had not approved -------------------------------
def sla_breaches_by_type(scope: Scope) -> list[dict]:
    return approvals.sla_breaches_by_type(
        tenant_ids=scope.tenant_ids, ranges=scope.compared, now=scope.now
    )


def sla_breaches_by_role(scope: Scope) -> list[dict]:
    """Per approval slot ("planner", "operator/admin") and period: tickets that needed it
    (approved or still open), and breached ones where it was not filled by the due time."""
    return approvals.sla_breaches_by_slot(
        tenant_ids=scope.tenant_ids, ranges=scope.compared, now=scope.now
    )


# --- 10. Spend at risk ----------------------------------------------------------------------------
def spend_at_risk(scope: Scope) -> list[dict]:
    """Per track: change sets waiting for a person now, the daily budget they hold and since
    when the oldest waits; and per range, change sets sent for approval, the mean seconds they
    waited (until decided, or now) and the budget-days they held (daily budget × days waited)."""
    return optimization.spend_held_by_track(
        tenant_ids=scope.tenant_ids, ranges=scope.compared, now=scope.now
    )


# --- 11. A3s a looser auto-approve threshold would have let through -------------------------------
def a3_what_if(scope: Scope, *, thresholds: list[Decimal]) -> list[dict]:
    """Per period: A3s opened in the range, and for each threshold the A3s that would have
    applied by themselves under it (every channel within the drift bound, no first launch, the
    largest move at most the threshold), with how many of those people then rejected."""
    return optimization.a3s_within_thresholds(
        tenant_ids=scope.tenant_ids, ranges=scope.compared, thresholds=thresholds
    )


def open_alignments(scope: Scope) -> list:
    """The tracks with alignment work left now (optimization/alignment.py, the one selector the
    dashboard reads too)."""
    return alignment_selector.open_alignments(tenant_ids=scope.tenant_ids, now=scope.now)
