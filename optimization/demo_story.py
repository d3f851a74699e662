"""acme's change-set story for seed_demo (optimization.demo): the bid optimizer keeps pushing
search over its guardrails and people keep approving it, over the last working days of the month
(tenants.demo_clock), through the real services. Every step is guarded by what exists (change
sets by their fixed ids), so a second run changes nothing."""

from __future__ import annotations

from approvals.selectors import subject_blocking_tickets
from approvals.services import ticket_decide_within
from approvals.types import Verdict
from audit.actors import Actor
from optimization.models import ChangeSet
from optimization.services import (
    ChangeSetRequest,
    change_set_approve_with_edit_within,
    change_set_rollback_within,
    change_set_submit_within,
)
from optimization.services.change_sets import SUBJECT_TYPE
from tenants.demo_clock import DemoClock, working_day_back
from tenants.models import Membership, Role, Tenant

OPTIMIZER = "bid-optimizer"


def _person(tenant: Tenant, role: str) -> Actor:
    membership = (
        Membership.objects.filter(tenant=tenant, role=role)
        .select_related("user")
        .order_by("user__username")
        .first()
    )
    return Actor.for_user(membership.user)


def _budget(entity_id: str, before: str, after: str) -> dict:
    return {"entity_id": entity_id, "field": "daily_budget", "before": before, "after": after}


def _working_days_into_month(tenant: Tenant) -> int:
    """How many working days back the month's first working day lies: the story's guardrail
    checks are figured against this month's flights, so no step of it is dated before them."""
    today = tenant.today()
    back = 0
    while working_day_back(today, back + 1).month == today.month:
        back += 1
    return back


class _History:
    """The steps of the story, each one skipped when what it would create exists already, each
    at its moment: (working days back, "HH:MM") in the tenant's zone."""

    def __init__(self, tenant: Tenant):
        self.tenant = tenant
        self.operator = _person(tenant, Role.OPERATOR)
        self.client = _person(tenant, Role.CLIENT)
        self.clock = DemoClock(tenant.time_zone)
        self.span = _working_days_into_month(tenant)

    def at(self, when: tuple[int, str]):
        days_back, at = when
        return self.clock.at(min(days_back, self.span), at)

    def submit(self, when, change_set_id: str, reason: str, *items: dict) -> ChangeSet:
        existing = ChangeSet.objects.filter(tenant=self.tenant, change_set_id=change_set_id).first()
        if existing is not None:
            return existing
        with self.at(when):
            return change_set_submit_within(
                tenant=self.tenant,
                request=ChangeSetRequest(
                    change_set_id=change_set_id,
                    track="always_on",
                    items=list(items),
                    agent=OPTIMIZER,
                    reason=reason,
                ),
                actor=Actor.service(OPTIMIZER),
            )

    def approve(self, change_set: ChangeSet, comment: str, *moments) -> ChangeSet:
        """Every open ticket of a change set waiting for approval, approved in each required
        role by the demo person holding it (operator first, then the client), one decision at
        each of `moments`."""
        change_set.refresh_from_db()
        if not change_set.is_pending:
            return change_set
        tickets = subject_blocking_tickets(
            tenant=self.tenant, subject_type=SUBJECT_TYPE, subject_id=change_set.change_set_id
        ).order_by("type")
        slots = [(ticket, slot) for ticket in tickets for slot in ticket.required_roles]
        for (ticket, slot), when in zip(slots, moments, strict=False):
            person = self.client if slot == Role.CLIENT else self.operator
            with self.at(when):
                ticket.refresh_from_db()
                ticket_decide_within(
                    ticket=ticket,
                    actor=person,
                    verdict=Verdict.APPROVE,
                    comment=comment if person is self.operator else "Fine for the winter push.",
                )
        change_set.refresh_from_db()
        return change_set

    def approve_smaller(
        self, change_set: ChangeSet, approved: str, comment: str, *moments
    ) -> ChangeSet:
        change_set.refresh_from_db()
        if not change_set.is_pending:
            return change_set
        with self.at(moments[0]):
            change_set_approve_with_edit_within(
                change_set=change_set, actor=self.operator, approved={0: approved}, comment=comment
            )
        return self.approve(change_set, comment, *moments[1:])

    def roll_back(self, when, change_set: ChangeSet, reason: str) -> None:
        change_set.refresh_from_db()
        if change_set.is_applied and not change_set.reverted_by.exists():
            with self.at(when):
                change_set_rollback_within(
                    change_set=change_set, actor=self.operator, reason=reason
                )


def _seed_change_sets(tenant: Tenant) -> None:
    """Live at the start: search brand €250 + generic €388.71 (v3's €638.71 a day in December),
    social €300 (v3: €387.10). Each comment gives the guardrail check the services will make.
    The agent submits over the last four working days (never before this month's flights), and
    people decide within hours — the next morning when it came in late."""
    # Long on purpose: the demo's story in order, one service call per event at its moment with
    # the guardrail check it meets as a comment; reading it as one sequence is the point.
    story = _History(tenant)
    brand, generic, social = "acme-search-brand", "acme-search-generic", "acme-social-prospecting"
    story.submit(
        (4, "12:15"),
        "demo-01-social-audience",
        "Gift buyers convert at twice the rate of the lookalikes: add them.",
        {
            "entity_id": social,
            "field": "audiences",
            "before": ["lookalike 1%", "winter shoppers"],
            "after": ["lookalike 1%", "winter shoppers", "gift buyers"],
        },
    )  # no budget moves: applied
    story.submit(
        (4, "13:05"),
        "demo-02-generic-up",
        "Generic search impression share lost to budget: raise it a little.",
        _budget(generic, "388.71", "420.00"),
    )  # +4.9% of search's live budget, drift 4.9%: applied
    story.approve(
        story.submit(
            (4, "14:30"),
            "demo-03-brand-up",
            "Brand search sells out by noon every day in December.",
            _budget(brand, "250.00", "320.00"),
        ),  # +10.45% (beyond 10%), drift 15.9%: A3, operator and client
        "Brand search is capped by noon; approved.",
        (4, "16:10"),
        (3, "09:30"),
    )
    story.approve(
        story.submit(
            (3, "10:20"),
            "demo-04-generic-up",
            "Generic search CPA is €31 this week: more of it.",
            _budget(generic, "420.00", "450.00"),
        ),  # +4.1%, but drift 20.6%: A3
        "Approved while the CPA holds.",
        (3, "11:45"),
        (3, "15:00"),
    )
    story.approve_smaller(
        story.submit(
            (3, "16:30"),
            "demo-05-brand-up",
            "Brand search still capped: +25%.",
            _budget(brand, "320.00", "400.00"),
        ),  # +10.4%, drift 33%: A3 — the operator approves half of it
        "360.00",
        "Half of it: +€40 a day on brand, then we look again.",
        (2, "09:10"),
        (2, "09:12"),
        (2, "10:30"),
    )
    stale = story.submit(
        (2, "11:00"),
        "demo-06-generic-up",
        "Generic search: another +11% for the gift weeks.",
        _budget(generic, "450.00", "500.00"),
    )  # drift 33%: A3 — approved below only after the agent moved the entity again
    story.submit(
        (2, "11:40"),
        "demo-07-generic-trim",
        "Generic search CPA rose overnight: trim it.",
        _budget(generic, "450.00", "430.00"),
    )  # −2.5%, back towards the plan: applied, and demo-06's `before` is no longer live
    story.approve(
        stale, "Approved for the gift weeks.", (2, "14:00"), (2, "15:30")
    )  # stale: nothing applied
    raise_social = story.submit(
        (2, "16:00"),
        "demo-08-social-up",
        "Social under plan while gift buyers convert: +10%.",
        _budget(social, "300.00", "331.00"),
    )  # +10.33%: A3, operator and client
    story.approve(raise_social, "Social is under plan; approved.", (2, "16:45"), (1, "09:05"))
    story.roll_back(
        (1, "09:50"), raise_social, "Social CPA rose to €52 after the raise: back to €300 a day."
    )  # −9.4%, back to the plan: the rollback applies by itself
    story.approve(
        story.submit(
            (1, "10:20"),
            "demo-09-generic-up",
            "Generic search: the gift weeks start, +€40 a day.",
            _budget(generic, "430.00", "470.00"),
        ),  # drift 30%: A3 — the sixth approved in 14 days
        "Approved; the plan needs a revise for this.",
        (1, "10:50"),
        (1, "11:30"),
    )
    story.submit(
        (1, "12:10"),
        "demo-10-social-up",
        "Social gift-buyer audience beats the CPA target: +15%.",
        _budget(social, "300.00", "345.00"),
    )  # +15%: A3 waiting for the operator and the client
    story.submit(
        (1, "12:40"),
        "demo-11-tiktok-launch",
        "TikTok creatives are approved: go live.",
        {
            "entity_id": "acme-tiktok-winter",
            "field": "status",
            "before": "paused",
            "after": "active",
        },
    )  # first launch: A2 waiting
    story.submit(
        (1, "13:05"),
        "demo-12-add-pinterest",
        "Competitors' gift boards on Pinterest convert well: add Pinterest.",
        {"entity_id": None, "field": "channel", "before": None, "after": "pinterest"},
    )  # structural: blocked
    story.submit(
        (1, "13:20"),
        "demo-13-target-switzerland",
        "Swiss shoppers order from the German shop: target CH too.",
        {"entity_id": None, "field": "geo", "before": None, "after": "CH"},
    )  # structural: blocked — the second one
