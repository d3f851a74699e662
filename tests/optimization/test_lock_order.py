"""Change-set transitions started at the same instant on PostgreSQL (config/locks.py): a rollback
and the last approval of another change set's A3 on the same channel both go through, one after
the other — never a deadlock that sends one person a 409 "try again" (issue 14: 9 races in 20
deadlocked)."""

from __future__ import annotations

import threading
import uuid
from unittest import mock

import pytest

from approvals.models import Ticket, TicketStatus
from approvals.services import ticket_decide
from audit.actors import Actor
from audit.verify import audit_chains_verify
from optimization.models import ChangeSet, ExecutionManifestEntry
from optimization.services import (
    ChangeSetRequest,
    change_set_rollback,
    change_set_submit,
    change_sets,
    tickets,
)
from tenants.models import Role, TenantPolicy
from tests.plans.test_lock_order import at_once, refusals

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
AGENT = Actor.service("optimizer")


def submit(tenant, entity_id, before, after) -> ChangeSet:
    return change_set_submit(
        tenant=tenant,
        request=ChangeSetRequest(
            change_set_id=f"cs-{uuid.uuid4().hex[:10]}",
            track="always_on",
            items=[
                {"entity_id": entity_id, "field": "daily_budget", "before": before, "after": after}
            ],
            agent="optimizer",
            reason="CPA is good",
        ),
        actor=AGENT,
    )


def live_budget(entity_id) -> str:
    return ExecutionManifestEntry.objects.get(entity_id=entity_id).state["daily_budget"]


@pytest.fixture
def a_rollback_and_an_a3(live, people):
    """An applied change set on search (to roll back) and another on search that waits for the
    operator's approval of its A3, the last it needs."""
    TenantPolicy.objects.filter(tenant=live).update(client_must_approve_budget_increase=False)
    applied = submit(live, "search-brand", "300.00", "320.00")  # +4%: applied at once
    waiting = submit(live, "search-generic", "200.00", "290.00")  # +18%: waits for its A3
    assert (applied.status, waiting.status) == ("applied", "pending_approval")
    a3 = Ticket.objects.get(public_id=waiting.ticket)
    return (
        lambda: change_set_rollback(change_set=applied, actor=Actor.for_user(people[Role.ADMIN])),
        lambda: ticket_decide(
            ticket=a3, actor=Actor.for_user(people[Role.OPERATOR]), verdict="approve"
        ),
        applied,
        waiting,
    )


def assert_both_went_through(results, applied, waiting) -> None:
    assert refusals(results) == []
    rollback = results[0]
    waiting.refresh_from_db()
    assert (rollback.status, rollback.reverts_id) == ("applied", applied.pk)
    assert waiting.status == "applied"
    assert Ticket.objects.get(public_id=waiting.ticket).status == TicketStatus.APPROVED
    assert (live_budget("search-brand"), live_budget("search-generic")) == ("300.00", "290.00")
    assert audit_chains_verify().ok


def test_a_rollback_holding_the_channel_and_a_decision_holding_its_ticket_both_go_through(
    a_rollback_and_an_a3,
):
    """The interleaving that deadlocked, made to happen every time: the decision has locked its
    ticket and waits for the channel; the rollback holds the channel and commits. The decision
    locked the ticket's tenant row too, which the rollback's new rows reference — their
    foreign-key checks at commit waited for the decision, and the decision for the rollback."""
    roll_back, decide, applied, waiting = a_rollback_and_an_a3
    ticket_locked, channel_locked = threading.Event(), threading.Event()
    lock_change_set, lock_entries = tickets.change_set_lock, change_sets._lock_entries

    def decision_locks_the_change_set(change_set):
        ticket_locked.set()
        channel_locked.wait(timeout=10)
        return lock_change_set(change_set)

    def rollback_locks_the_channel(*args):
        locked = lock_entries(*args)
        channel_locked.set()
        return locked

    def rollback_after_the_ticket_is_locked():
        assert ticket_locked.wait(timeout=10)
        return roll_back()

    with (
        mock.patch.object(tickets, "change_set_lock", decision_locks_the_change_set),
        mock.patch.object(change_sets, "_lock_entries", rollback_locks_the_channel),
    ):
        results = at_once(rollback_after_the_ticket_is_locked, decide)

    assert_both_went_through(results, applied, waiting)


# And at the same instant, as people click: each attempt is a new race.
@pytest.mark.parametrize("attempt", range(5))
def test_a_rollback_and_the_last_a3_approval_on_the_same_channel_both_go_through(
    a_rollback_and_an_a3, attempt
):
    roll_back, decide, applied, waiting = a_rollback_and_an_a3

    results = at_once(roll_back, decide)

    assert_both_went_through(results, applied, waiting)
