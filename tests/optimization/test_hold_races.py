"""A hold and an approval at the same instant on PostgreSQL (issue 16 item 3): the approval either
applies before the hold starts or waits for the hold to end — never applies during it — and a
resume racing the last approval never strands a change set that waits for a hold that is over."""

from __future__ import annotations

import threading
import time
import uuid
from unittest import mock

import pytest

from approvals.models import Ticket
from approvals.services import ticket_decide
from audit.actors import Actor
from audit.verify import audit_chains_verify
from optimization.models import AppliedChange, ChangeSet, ExecutionManifestEntry, TrackHold
from optimization.services import (
    ChangeSetRequest,
    change_set_submit,
    holds,
    track_hold_end,
    track_hold_start,
)
from plans.models import Track
from tenants.models import Role, TenantPolicy
from tests.plans.test_lock_order import at_once, refusals

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
AGENT = Actor.service("optimizer")


def live_budget(entity_id) -> str:
    return ExecutionManifestEntry.objects.get(entity_id=entity_id).state["daily_budget"]


@pytest.fixture
def last_approval(live, people):
    """search-generic €200 → €290 waits for the operator's approval of its A3, the last it
    needs; the operator's colleague pauses all spend on always_on."""
    TenantPolicy.objects.filter(tenant=live).update(client_must_approve_budget_increase=False)
    change_set = change_set_submit(
        tenant=live,
        request=ChangeSetRequest(
            change_set_id=f"cs-{uuid.uuid4().hex[:10]}",
            track="always_on",
            items=[
                {
                    "entity_id": "search-generic",
                    "field": "daily_budget",
                    "before": "200.00",
                    "after": "290.00",
                }
            ],
            agent="optimizer",
            reason="CPA is good",
        ),
        actor=AGENT,
    )
    assert change_set.status == "pending_approval"
    a3 = Ticket.objects.get(public_id=change_set.ticket)
    track = Track.objects.get(tenant=live, key="always_on")
    admin = Actor.for_user(people[Role.ADMIN])
    return (
        change_set,
        track,
        lambda: ticket_decide(
            ticket=a3, actor=Actor.for_user(people[Role.OPERATOR]), verdict="approve"
        ),
        lambda: track_hold_start(track=track, actor=admin, reason="client asked"),
        lambda: track_hold_end(track=track, actor=admin),
    )


def assert_nothing_applied_during_the_hold(change_set) -> None:
    change_set.refresh_from_db()
    hold = TrackHold.objects.get()
    if change_set.status == "applied":
        # It applied before the hold: the hold then paused it along with the rest.
        pause_rows = AppliedChange.objects.filter(change_set=hold.pause)
        assert AppliedChange.objects.get(change_set=change_set).pk < min(
            row.pk for row in pause_rows
        )
        assert live_budget("search-generic") == "290.00"
    else:
        assert change_set.status == "approved_waiting"
        assert live_budget("search-generic") == "200.00"
    assert ExecutionManifestEntry.objects.get(entity_id="search-generic").state["status"] == (
        "paused"
    )


def test_an_approval_that_meets_a_hold_holding_the_entities_waits(last_approval):
    """The interleaving of the demo, made to happen every time: the hold has taken the track's
    entities when the last approval arrives; the approval waits for them, then sees the hold."""
    change_set, track, decide, hold, _resume = last_approval
    entities_taken = threading.Event()
    take = holds._lock_track_entities

    def hold_takes_the_entities_then_dawdles(track_row):
        take(track_row)
        entities_taken.set()
        time.sleep(0.5)  # the decision now queues behind the entities

    def decide_once_the_hold_has_them():
        assert entities_taken.wait(timeout=10)
        return decide()

    with mock.patch.object(holds, "_lock_track_entities", hold_takes_the_entities_then_dawdles):
        results = at_once(hold, decide_once_the_hold_has_them)

    assert refusals(results) == []
    change_set.refresh_from_db()
    assert change_set.status == "approved_waiting"
    assert_nothing_applied_during_the_hold(change_set)
    track_hold_end(track=track, actor=AGENT)
    change_set.refresh_from_db()
    assert change_set.status == "applied"
    assert live_budget("search-generic") == "290.00"
    assert audit_chains_verify().ok


@pytest.mark.parametrize("attempt", range(4))
def test_a_hold_and_the_last_approval_at_once_never_apply_during_the_hold(last_approval, attempt):
    change_set, _track, decide, hold, _resume = last_approval
    results = at_once(hold, decide)
    assert refusals(results) == []
    assert_nothing_applied_during_the_hold(change_set)
    assert audit_chains_verify().ok


@pytest.mark.parametrize("attempt", range(4))
def test_a_resume_and_the_last_approval_at_once_leave_nothing_waiting(last_approval, attempt):
    change_set, _track, decide, hold, resume = last_approval
    hold()
    results = at_once(resume, decide)
    assert refusals(results) == []
    change_set.refresh_from_db()
    assert change_set.status == "applied"
    assert live_budget("search-generic") == "290.00"
    assert not ChangeSet.objects.filter(status="approved_waiting").exists()
    assert not TrackHold.objects.filter(ended_at__isnull=True).exists()
