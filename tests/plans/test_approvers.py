"""Who must approve a submitted version (plans/approvers.py): a pure rule, tested without the
database — one row per case of seed 000 "Human touchpoints" and seed 003 A1/A5/A7."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest

from plans.approvers import approval_needs
from plans.diff import plan_diff
from plans.envelope import EnvelopeCheck
from tests.plans.plan_samples import changed, search_up_12_pct, winter_plan

FITS = EnvelopeCheck(master=None, track_total=Decimal(0), tenant_total=Decimal(0), problems=())


def policy(**overrides):
    defaults = {
        "client_must_approve_budget_increase": True,
        "client_budget_increase_threshold_pct": Decimal("0"),
        "vertical_compliance_profile": "retail_standard",
    }
    return SimpleNamespace(**{**defaults, **overrides})


def version(kind, payload, *, parent=True, master_change=None):
    return SimpleNamespace(
        kind=kind, payload=payload, parent_id=1 if parent else None, master_change=master_change
    )


def needs(kind, proposed, *, parent, **kwargs):
    policy_overrides = kwargs.pop("policy", {})
    return approval_needs(
        version=version(kind, proposed, parent=parent is not None, **kwargs),
        policy=policy(**policy_overrides),
        diff=plan_diff(parent, proposed),
        envelope=FITS,
    )


def shift(plan):
    plan["channels"][0]["budget"] = 44000
    plan["channels"][1]["budget"] = 26000
    plan["channels"][1]["flights"][2]["budget"] = 4000


CASES = [
    # (name, kind, change, parent, extra kwargs, ticket, roles, compliance?)
    ("first plan", "initial", None, None, {}, "A1", ("planner",), True),
    ("revise, same total", "revise", shift, winter_plan(), {}, "A5", ("planner",), False),
    (
        "revise, budget up 12%",
        "revise",
        search_up_12_pct,
        winter_plan(),
        {},
        "A5",
        ("planner", "client"),
        False,
    ),
    (
        "budget up, client not asked by policy",
        "revise",
        search_up_12_pct,
        winter_plan(),
        {"policy": {"client_must_approve_budget_increase": False}},
        "A5",
        ("planner",),
        False,
    ),
    (
        "budget up under the threshold",
        "revise",
        search_up_12_pct,
        winter_plan(),
        {"policy": {"client_budget_increase_threshold_pct": Decimal("12")}},
        "A5",
        ("planner",),
        False,
    ),
    ("replan", "replan", shift, winter_plan(), {}, "A5", ("planner", "client"), False),
    (
        "master envelope changes",
        "revise",
        shift,
        winter_plan(),
        {"master_change": {"total_budget": "90000.00"}},
        "A5",
        ("planner", "client"),
        False,
    ),
    (
        "messaging changes",
        "revise",
        lambda p: p.update(messaging="New words"),
        winter_plan(),
        {},
        "A5",
        ("planner",),
        True,
    ),
    (
        "strict vertical",
        "revise",
        shift,
        winter_plan(),
        {"policy": {"vertical_compliance_profile": "health_strict"}},
        "A5",
        ("planner",),
        True,
    ),
]


@pytest.mark.parametrize(
    ("kind", "change", "parent", "extra", "ticket", "roles", "compliance"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_who_must_approve(kind, change, parent, extra, ticket, roles, compliance):
    proposed = changed(winter_plan(), change) if change else winter_plan()
    found = needs(kind, proposed, parent=parent, **extra)
    assert (found.ticket_type, found.required_roles) == (ticket, roles)
    assert bool(found.compliance_reasons) is compliance
    assert bool(found.client_reasons) is ("client" in roles)
