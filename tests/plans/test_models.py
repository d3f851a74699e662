"""The plan version status table (docs/rules.md "Plans, tracks and versions"): draft →
pending_approval → approved → superseded, or → rejected; "request changes" and withdraw send a
pending version back to draft; a planner may discard a draft, for good. Every other move is
refused."""

import itertools

import pytest

from plans.models import PlanStatus, PlanVersion, Track, can_transition

ALLOWED = {
    ("draft", "pending_approval"),
    ("draft", "discarded"),
    ("draft", "outdated"),
    ("pending_approval", "outdated"),
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


# What the pages ask a version, answered from the status enum (templates compare no strings).
CURRENT, OLDER = 7, 5


@pytest.mark.parametrize(
    ("status", "parent_id", "editable", "stale", "submit", "withdraw", "rejected"),
    [
        pytest.param("draft", CURRENT, True, False, True, False, False, id="draft"),
        pytest.param("draft", OLDER, True, True, False, False, False, id="draft-left-behind"),
        pytest.param("pending_approval", CURRENT, False, False, False, True, False, id="pending"),
        pytest.param("approved", CURRENT, False, False, False, False, False, id="approved"),
        pytest.param("superseded", OLDER, False, False, False, False, False, id="superseded"),
        pytest.param("rejected", CURRENT, False, False, False, False, True, id="rejected"),
        pytest.param("discarded", CURRENT, False, False, False, False, False, id="discarded"),
    ],
)
def test_a_version_says_what_can_be_done_with_it(
    status, parent_id, editable, stale, submit, withdraw, rejected
):
    version = PlanVersion(
        status=status, parent_id=parent_id, track=Track(key="always_on", current_version_id=CURRENT)
    )
    assert (
        version.is_editable,
        version.is_stale,
        version.can_submit,
        version.can_withdraw,
        version.is_rejected,
    ) == (editable, stale, submit, withdraw, rejected)
