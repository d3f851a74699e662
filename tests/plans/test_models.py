"""The plan version status table (DESIGN.md "Plans, tracks and versions"): draft →
pending_approval → approved → superseded, or → rejected; "request changes" and withdraw send a
pending version back to draft. Every other move is refused."""

import itertools

import pytest

from plans.models import PlanStatus, can_transition

ALLOWED = {
    ("draft", "pending_approval"),
    ("pending_approval", "approved"),
    ("pending_approval", "rejected"),
    ("pending_approval", "draft"),
    ("approved", "superseded"),
}
EVERY_PAIR = [
    pytest.param(current, target, (current, target) in ALLOWED, id=f"{current} to {target}")
    for current, target in itertools.product(PlanStatus.values, repeat=2)
]


@pytest.mark.parametrize(("current", "target", "allowed"), EVERY_PAIR)
def test_a_version_moves_only_along_the_designed_lifecycle(current, target, allowed):
    assert can_transition(current, target) is allowed
