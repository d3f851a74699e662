"""Issue 16's defect bullets re-walked on main (issue 16 Show: "tests for each defect"). Most have
their test beside the item that fixed them — named here so the walk can be repeated:

- competing versions (v5 stays approvable, the client's item stays): tests/plans/
  test_competing_versions.py;
- an approval for a smaller move the portal did not show: tests/optimization/
  test_what_was_approved.py (item 2);
- a hold that did not hold, pause with no reason: tests/optimization/test_what_was_approved.py
  (item 3) and test_hold_races.py;
- the change set page measuring "as asked" and "on what was approved" against two plans, a
  social-only approval resetting search's drift, a rollback of a rollback without a ticket:
  tests/optimization/test_one_drift.py;
- a version's approvals and the entities that implemented it: tests/plans/test_version_history.py;
- the weekly report's anchor, drift and exact sums: tests/metrics/test_report_anchor.py.

What had no test yet is here: the change set's history said "Within the guardrails: applied"
while its status was *Waiting for approval*."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from approvals.models import Ticket
from audit.actors import Actor
from optimization.models import ChangeSetStatus
from optimization.services import ChangeSetRequest, change_set_approve_with_edit, change_set_submit
from tenants.models import Role, TenantPolicy

pytestmark = pytest.mark.django_db


def test_the_history_of_a_change_set_still_waiting_never_says_applied(live, people, client):
    """The operator approves a smaller move; the client still has to approve it: the log says
    the smaller move is within the guardrails, not that it was applied."""
    TenantPolicy.objects.filter(tenant=live).update(auto_approve_optimization_under_pct=5)
    change_set = change_set_submit(
        tenant=live,
        request=ChangeSetRequest(
            change_set_id=f"cs-{uuid.uuid4().hex[:10]}",
            track="always_on",
            items=[
                {
                    "entity_id": "search-brand",
                    "field": "daily_budget",
                    "before": "300.00",
                    "after": "345.00",
                }
            ],
            agent="optimizer",
        ),
        actor=Actor.service("optimizer"),
    )
    change_set = change_set_approve_with_edit(
        change_set=change_set,
        actor=Actor.for_user(people[Role.OPERATOR]),
        approved={0: "320.00"},  # +4% of search: within the guardrails
    )
    assert change_set.status == ChangeSetStatus.PENDING_APPROVAL  # the client's turn
    assert Ticket.objects.get(public_id=change_set.ticket).status == "open"
    for event in change_set.events.all():
        assert "applied." not in event.message.lower().replace("is applied", ""), event.message
    client.force_login(people[Role.OPERATOR])
    page = client.get(reverse("optimization:change_set", args=["acme", change_set.change_set_id]))
    text = " ".join(strip_tags(page.content.decode()).split())
    assert "Within the guardrails: applied" not in text
    assert "within the guardrails" in text.lower()
