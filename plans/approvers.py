"""Who must approve a submitted version, and which tickets it opens (pure: no database).

Seed 000 "Human touchpoints" and seed 003 A1/A5/A7: a first plan opens A1, a revise or replan A5,
both for a planner; the client signs off a replan, a budget increase above the tenant's threshold
and a change of the master envelope; compliance (A7, planner and legal) reviews new or changed
messaging, creative themes or objective, and everything of a tenant whose profile is strict.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from approvals.types import TicketType
from config.formatting import percent
from plans.envelope import EnvelopeCheck
from plans.models import PlanKind
from tenants.compliance import profile_spec
from tenants.models import Role


@dataclass(frozen=True)
class ApprovalNeeds:
    ticket_type: str  # A1 or A5
    required_roles: tuple[str, ...]
    client_reasons: tuple[str, ...]
    compliance_reasons: tuple[str, ...]
    envelope: EnvelopeCheck


def approval_needs(
    *, version: Any, policy: Any, diff: dict, envelope: EnvelopeCheck
) -> ApprovalNeeds:
    """`version` needs `kind`, `parent_id`, `payload` and `master_change`; `policy` the tenant's
    approval policy fields; `diff` is the parent → version diff (plans/diff.py) and `envelope`
    the master envelope check, both computed by the caller."""
    has_parent = version.parent_id is not None
    client_reasons = []
    if version.kind == PlanKind.REPLAN:
        client_reasons.append("a full replan needs the client's sign-off")
    before_total = Decimal(diff["totals"]["before"])
    after_total = Decimal(diff["totals"]["after"])
    if has_parent and after_total > before_total:
        rise_pct = (after_total - before_total) / before_total * 100 if before_total else None
        threshold = policy.client_budget_increase_threshold_pct
        if policy.client_must_approve_budget_increase and (
            rise_pct is None or rise_pct > threshold
        ):
            client_reasons.append(
                f"the budget rises {percent(rise_pct)}, above the client threshold of "
                f"{percent(threshold)}"
                if rise_pct is not None
                else "the budget rises from nothing"
            )
    if version.master_change:
        client_reasons.append("the master budget envelope changes")

    compliance = []
    profile = profile_spec(policy.vertical_compliance_profile)  # tenants/compliance.py
    if profile.review_every_plan:
        compliance.append(
            f"the tenant's compliance profile is {policy.vertical_compliance_profile}"
        )
    guarded = set(profile.plan_fields)
    if not has_parent:
        if {"messaging", "creative_themes"} & guarded and (
            version.payload.get("messaging") or version.payload.get("creative_themes")
        ):
            compliance.append("new messaging and creative themes")
    else:
        if "messaging" in guarded and diff["messaging"]:
            compliance.append("the messaging changes")
        if "creative_themes" in guarded and (
            diff["creative_themes"]["added"] or diff["creative_themes"]["removed"]
        ):
            compliance.append("the creative themes change")
        if "objective" in guarded and diff["objective"]:
            compliance.append("the objective changes")
    roles = [Role.PLANNER.value] + ([Role.CLIENT.value] if client_reasons else [])
    return ApprovalNeeds(
        ticket_type=TicketType.A5 if has_parent else TicketType.A1,
        required_roles=tuple(roles),
        client_reasons=tuple(client_reasons),
        compliance_reasons=tuple(compliance),
        envelope=envelope,
    )
