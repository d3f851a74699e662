"""Every pair of transitions that touch the same ticket or version, started at the same instant
on PostgreSQL (config/locks.py): each pair ends with one consistent outcome, a clear refusal for
the loser, never a deadlock — and the audit chain still verifies."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from approvals.models import Ticket, TicketStatus
from approvals.services import ticket_decide, ticket_override
from audit.actors import Actor
from audit.verify import audit_chains_verify
from config.errors import DomainError
from plans.models import PlanStatus, PlanVersion
from plans.services import (
    plan_version_create_draft,
    plan_version_edit,
    plan_version_submit,
    plan_version_withdraw,
)
from tenants.models import Role
from tests.plans.plan_samples import changed, search_up_12_pct, winter_plan

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def at_once(*calls) -> list:
    """Run the calls in threads released together; each result is its return value or the
    exception it raised."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:  # the assertions read it
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def refusals(results) -> list[DomainError]:
    """The domain refusals among the results; anything else raised fails the test."""
    unexpected = [
        r for r in results if isinstance(r, BaseException) and not isinstance(r, DomainError)
    ]
    assert unexpected == [], unexpected
    return [r for r in results if isinstance(r, DomainError)]


@pytest.fixture
def people(acme, alice, make_member):
    return {
        "author": alice,
        Role.PLANNER: make_member("paul", acme, Role.PLANNER),
        Role.LEGAL: make_member("lena", acme, Role.LEGAL),
        Role.ADMIN: make_member("ada", acme, Role.ADMIN),
    }


def as_(user) -> Actor:
    return Actor.for_user(user)


def shift_to_search(plan: dict) -> None:
    """€4,000 moves from social's January flight to search: the total stays, so no client."""
    search, social = plan["channels"]
    search["budget"] = 44000
    social["budget"] = 26000
    social["flights"][2]["budget"] = 4000


def submitted(acme, people, *, compliance: bool) -> PlanVersion:
    """A revise of acme_v1 submitted for approval: A5 for a planner alone (the total budget
    stays), and A7 (planner and legal) when `compliance`."""

    def change(plan):
        shift_to_search(plan)
        if compliance:
            plan["messaging"] = "Winter, closer to home."

    draft = plan_version_create_draft(
        tenant=acme,
        track_key="always_on",
        kind="revise",
        payload=changed(winter_plan(), change),
        actor=as_(people["author"]),
    )
    version = plan_version_submit(version=draft, actor=as_(people["author"]))
    assert {t.type: t.required_roles for t in tickets_of(version).values()} == (
        {"A5": ["planner"], "A7": ["planner", "legal"]} if compliance else {"A5": ["planner"]}
    )
    return version


def tickets_of(version) -> dict[str, Ticket]:
    return {
        t.type: t
        for t in Ticket.objects.filter(tenant_id=version.tenant_id, subject_id=str(version.number))
    }


def assert_consistent(version) -> None:
    """No version left pending without an open ticket, no open ticket on a settled version."""
    version.refresh_from_db()
    open_tickets = [t for t in tickets_of(version).values() if t.status == TicketStatus.OPEN]
    if version.status == PlanStatus.PENDING_APPROVAL:
        assert open_tickets
    else:
        assert open_tickets == []
    assert audit_chains_verify().ok


def test_withdraw_and_approve_at_once(acme, acme_v1, people):
    version = submitted(acme, people, compliance=False)
    a5 = tickets_of(version)["A5"]
    results = at_once(
        lambda: plan_version_withdraw(version=version, actor=as_(people["author"])),
        lambda: ticket_decide(
            ticket=a5, actor=as_(people[Role.PLANNER]), verdict="approve", role=Role.PLANNER
        ),
    )
    assert len(refusals(results)) == 1
    version.refresh_from_db()
    a5.refresh_from_db()
    assert (version.status, a5.status) in [
        (PlanStatus.DRAFT, TicketStatus.CANCELLED),
        (PlanStatus.APPROVED, TicketStatus.APPROVED),
    ]
    assert_consistent(version)


@pytest.mark.parametrize("verdict", ["request_changes", "reject"])
def test_a_veto_on_the_compliance_ticket_and_an_approval_of_the_plan_ticket_at_once(
    acme, acme_v1, people, verdict
):
    version = submitted(acme, people, compliance=True)
    tickets = tickets_of(version)
    results = at_once(
        lambda: ticket_decide(
            ticket=tickets["A7"], actor=as_(people[Role.LEGAL]), verdict=verdict, role=Role.LEGAL
        ),
        lambda: ticket_decide(
            ticket=tickets["A5"],
            actor=as_(people[Role.PLANNER]),
            verdict="approve",
            role=Role.PLANNER,
        ),
    )
    refusals(results)
    version.refresh_from_db()
    target = PlanStatus.DRAFT if verdict == "request_changes" else PlanStatus.REJECTED
    assert version.status == target
    assert_consistent(version)


@pytest.mark.parametrize("verdict", ["request_changes", "reject"])
def test_a_decision_against_and_an_approval_of_the_same_ticket_at_once(
    acme, acme_v1, people, make_member, verdict
):
    version = submitted(acme, people, compliance=False)
    a5 = tickets_of(version)["A5"]
    second_planner = make_member("pete", acme, Role.PLANNER)
    results = at_once(
        lambda: ticket_decide(
            ticket=a5, actor=as_(second_planner), verdict=verdict, comment="no", role=Role.PLANNER
        ),
        lambda: ticket_decide(
            ticket=a5, actor=as_(people[Role.PLANNER]), verdict="approve", role=Role.PLANNER
        ),
    )
    assert len(refusals(results)) == 1
    version.refresh_from_db()
    a5.refresh_from_db()
    assert a5.status != TicketStatus.OPEN
    assert (
        version.status
        == {
            TicketStatus.APPROVED: PlanStatus.APPROVED,
            TicketStatus.REJECTED: PlanStatus.REJECTED,
            TicketStatus.CHANGES_REQUESTED: PlanStatus.DRAFT,
        }[a5.status]
    )
    assert_consistent(version)


def test_edit_and_submit_at_once(acme, acme_v1, people):
    draft = plan_version_create_draft(
        tenant=acme,
        track_key="always_on",
        kind="revise",
        payload=changed(winter_plan(), search_up_12_pct),
        actor=as_(people["author"]),
    )
    bigger = changed(winter_plan(), lambda p: p["channels"][0].update(budget=45000))
    results = at_once(
        lambda: plan_version_edit(version=draft, payload=bigger, actor=as_(people["author"])),
        lambda: plan_version_submit(version=draft, actor=as_(people["author"])),
    )
    refused = refusals(results)
    draft.refresh_from_db()
    assert draft.status == PlanStatus.PENDING_APPROVAL
    # Either the edit came first and was submitted, or the submit came first and the edit of a
    # version no longer a draft was refused: the ticket always shows the payload submitted.
    if refused:
        assert refused[0].code == "invalid_status"
        assert draft.payload["channels"][0]["budget"] == "44800.00"
    else:
        assert draft.payload["channels"][0]["budget"] == "45000.00"
    (a5,) = [t for t in tickets_of(draft).values() if t.status == TicketStatus.OPEN]
    assert (
        a5.diff["raw"]["totals"]["after"]
        == str(sum(int(float(c["budget"])) for c in draft.payload["channels"])) + ".00"
    )
    assert_consistent(draft)


@pytest.mark.parametrize("other", ["approve_same", "veto_sibling"])
def test_an_override_and_a_decision_at_once(acme, acme_v1, people, other):
    version = submitted(acme, people, compliance=True)
    tickets = tickets_of(version)

    def decide():
        if other == "approve_same":
            return ticket_decide(
                ticket=tickets["A5"],
                actor=as_(people[Role.PLANNER]),
                verdict="approve",
                role=Role.PLANNER,
            )
        return ticket_decide(
            ticket=tickets["A7"],
            actor=as_(people[Role.LEGAL]),
            verdict="request_changes",
            comment="claims",
            role=Role.LEGAL,
        )

    results = at_once(
        lambda: ticket_override(
            ticket=tickets["A5"], actor=as_(people[Role.ADMIN]), reason="client called"
        ),
        decide,
    )
    refusals(results)
    tickets["A5"].refresh_from_db()
    assert tickets["A5"].status != TicketStatus.OPEN
    overrides = Ticket.objects.filter(type="A6", overrides=tickets["A5"])
    assert overrides.count() == (1 if not isinstance(results[0], DomainError) else 0)
    assert_consistent(version)
