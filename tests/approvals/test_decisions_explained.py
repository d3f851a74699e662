"""Decisions explain themselves (issue #10, item 2), on the ticket page and in the services:
slots never read "—", a rejection asks for a reason and a confirmation, a decision that withdraws
other tickets says so before and after and the withdrawn ones link their cause, an A6 override
links both ways, the message says what happened, an internal A4 never waits for the client, and
a cleared red flag reads "Cleared"."""

from __future__ import annotations

from html import unescape

import pytest
from django.urls import reverse

from approvals.models import Ticket, TicketDecision, TicketStatus, TicketWaitingRole
from approvals.selectors import ticket_progress, ticket_withdraws
from approvals.services import ticket_decide, ticket_override
from audit.actors import Actor
from audit.models import AuditEvent
from plans.models import PlanStatus
from plans.services import plan_version_create_draft, plan_version_submit
from tenants.models import Role
from tests.approvals.factories import open_ticket
from tests.plans.plan_samples import changed, search_up_12_pct, winter_plan


@pytest.fixture
def staff(acme, make_member):
    """One person per role in acme, and a second planner (four eyes: alice drafts, pete
    approves)."""
    people = {role: make_member(f"acme-{role}", acme, role) for role in Role.values}
    people["author"] = make_member("alice", acme, Role.PLANNER)
    return people


@pytest.fixture
def v2(acme, acme_v1, staff):
    """A revise of always_on that raises search 12% and rewrites the messaging: pending its
    A5 (planner and client) and its A7 (planner and legal)."""

    def search_up_and_new_words(plan):
        search_up_12_pct(plan)
        plan["messaging"] = "Warmer than ever: the winter sale goes on."

    draft = plan_version_create_draft(
        tenant=acme,
        track_key="always_on",
        kind="revise",
        payload=changed(winter_plan(), search_up_and_new_words),
        actor=Actor.for_user(staff["author"]),
        reason="search converts well",
    )
    plan_version_submit(version=draft, actor=Actor.for_user(staff["author"]))
    return draft


def tickets_of(version) -> dict[str, Ticket]:
    return {
        t.type: t
        for t in Ticket.objects.filter(tenant_id=version.tenant_id, plan_version=version.number)
    }


def page_of(client, ticket) -> str:
    return client.get(reverse("ticket", kwargs={"public_id": ticket.public_id})).content.decode()


def decide_url(ticket) -> str:
    return reverse("ticket_decide", kwargs={"public_id": ticket.public_id})


# --- Reject asks for a reason and confirms ------------------------------------------------------
def test_reject_first_asks_for_a_reason_and_writes_nothing(client, staff, v2):
    a5 = tickets_of(v2)["A5"]
    client.force_login(staff[Role.PLANNER])

    response = client.post(decide_url(a5), {"verdict": "reject"})

    page = response.content.decode()
    assert response.status_code == 200
    assert "Nothing is changed until you confirm." in page
    assert f"Decision: A5 for v{v2.number}" in page
    assert 'aria-describedby="decision-title">Confirm: reject</button>' in page
    assert "Why do you reject it? (required; the requester sees it)" in page
    assert 'name="comment" rows="3" required' in page
    assert not TicketDecision.objects.exists()
    assert Ticket.objects.get(pk=a5.pk).status == TicketStatus.OPEN


def test_a_confirmed_reject_without_a_reason_is_refused(client, staff, v2):
    a5 = tickets_of(v2)["A5"]
    client.force_login(staff[Role.PLANNER])

    response = client.post(decide_url(a5), {"verdict": "reject", "comment": " ", "confirm": "1"})

    assert response.status_code == 422
    assert "Say why you reject it" in response.content.decode()
    assert not TicketDecision.objects.exists()


def test_a_confirmed_reject_with_a_reason_rejects_and_says_what_happened(client, staff, v2):
    a5, a7 = tickets_of(v2)["A5"], tickets_of(v2)["A7"]
    client.force_login(staff[Role.PLANNER])

    response = client.post(
        decide_url(a5),
        {"verdict": "reject", "comment": "Not before the January figures.", "confirm": "1"},
        follow=True,
    )

    page = response.content.decode()
    assert Ticket.objects.get(pk=a5.pk).status == TicketStatus.REJECTED
    assert (
        f"You rejected {a5.public_id} as planner: v{v2.number} is rejected. "
        f"{a7.public_id} (compliance / policy, waiting for the planner and legal) was withdrawn "
        "with it." in page
    )
    assert "is now" not in page


def test_a_reject_the_person_may_not_give_is_refused_at_once(client, staff, v2):
    a5 = tickets_of(v2)["A5"]
    client.force_login(staff[Role.OPERATOR])

    response = client.post(decide_url(a5), {"verdict": "reject"})

    assert response.status_code == 403
    assert "can&#x27;t reject" in response.content.decode()
    assert 'data-testid="confirm"' not in response.content.decode()
    assert not TicketDecision.objects.exists()


def test_with_htmx_the_confirmation_is_swapped_into_the_decision_region(client, staff, v2):
    a5 = tickets_of(v2)["A5"]
    client.force_login(staff[Role.PLANNER])

    response = client.post(decide_url(a5), {"verdict": "reject"}, HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert page.lstrip().startswith('<section id="decision"')
    assert 'data-testid="confirm"' in page and 'hx-post="' in page
    assert not TicketDecision.objects.exists()


# --- Request changes that withdraws the version's other tickets --------------------------------
def test_request_changes_says_before_that_it_withdraws_the_versions_a7(client, staff, v2):
    tickets = tickets_of(v2)
    ticket_decide(
        ticket=tickets["A7"], actor=Actor.for_user(staff[Role.PLANNER]), verdict="approve"
    )
    client.force_login(staff[Role.PLANNER])

    page = unescape(page_of(client, tickets["A5"]))
    confirm = unescape(
        client.post(
            decide_url(tickets["A5"]), {"verdict": "request_changes", "comment": "Split by month."}
        ).content.decode()
    )

    warning = f"also withdraws {tickets['A7'].public_id} (legal's review)."
    assert f"Rejecting or requesting changes {warning}" in page
    assert f"This {warning}" in confirm
    assert f"Decision: A5 for v{v2.number}" in confirm
    assert ">Confirm: request changes</button>" in confirm
    assert Ticket.objects.get(pk=tickets["A7"].pk).status == TicketStatus.OPEN  # not yet


def test_request_changes_withdraws_the_a7_which_names_and_links_its_cause(client, staff, v2):
    tickets = tickets_of(v2)
    a5, a7 = tickets["A5"], tickets["A7"]
    client.force_login(staff[Role.PLANNER])

    response = client.post(
        decide_url(a5),
        {"verdict": "request_changes", "comment": "Split by month.", "confirm": "1"},
        follow=True,
    )

    after = response.content.decode()
    assert (
        f"You requested changes on {a5.public_id} as planner: v{v2.number} is back in draft. "
        f"{a7.public_id} (compliance / policy, waiting for the planner and legal) was withdrawn "
        "with it." in after
    )
    a7.refresh_from_db()
    v2.refresh_from_db()
    assert (v2.status, a7.status, a7.cancelled_by_id) == (
        PlanStatus.DRAFT,
        TicketStatus.CANCELLED,
        a5.pk,
    )
    assert (
        AuditEvent.objects.get(resource_id=a7.public_id, action="ticket.cancelled").data[
            "cancelled_by"
        ]
        == a5.public_id
    )

    client.force_login(staff[Role.LEGAL])
    withdrawn = page_of(client, a7)
    link = reverse("ticket", kwargs={"public_id": a5.public_id})
    assert "Withdrawn because" in withdrawn
    assert (
        f'<a href="{link}" class="mono">{a5.public_id}</a> was sent back for changes' in withdrawn
    )
    assert "Split by month." in withdrawn
    assert "withdrawn</span>" in withdrawn  # each open slot says so, never "—"
    assert ">—<" not in withdrawn.split('id="decision"')[1].split("</section>")[0]


def test_a_ticket_alone_on_its_subject_withdraws_nothing(acme, staff):
    ticket = open_ticket(acme, "A3", change_set_id="cs-1")
    assert ticket_withdraws(ticket) == []


def test_a_ticket_cancelled_from_outside_a_decision_has_no_cause(acme, staff, v2):
    from plans.services import plan_version_withdraw

    plan_version_withdraw(version=v2, actor=Actor.for_user(staff["author"]))

    assert {t.cancelled_by_id for t in tickets_of(v2).values()} == {None}


# --- Slots after a rejection or a veto ----------------------------------------------------------
def test_legal_rejecting_an_a7_reads_rejected_in_the_legal_slot(client, staff, v2):
    a7 = tickets_of(v2)["A7"]
    ticket_decide(
        ticket=a7, actor=Actor.for_user(staff[Role.LEGAL]), verdict="reject", comment="Claims."
    )
    client.force_login(staff[Role.PLANNER])

    region = page_of(client, a7).split('id="decision"')[1].split("</section>")[0]

    assert '<span class="slot-role">Legal</span>' in region
    assert '<span class="label label-danger">rejected</span>' in region
    assert "by acme-legal as legal" in region
    assert ">—<" not in region


def test_an_admin_rejecting_an_a7_is_a_veto(client, staff, v2):
    a7 = tickets_of(v2)["A7"]
    ticket_decide(
        ticket=a7, actor=Actor.for_user(staff[Role.ADMIN]), verdict="reject", comment="No."
    )
    client.force_login(staff[Role.PLANNER])

    region = page_of(client, a7).split('id="decision"')[1].split("</section>")[0]

    assert region.count("vetoed by admin") == 2  # the planner's and legal's slots


# --- A6 override links both ways ----------------------------------------------------------------
def test_an_override_links_both_ways(client, acme, staff):
    stuck = open_ticket(acme, "A3", title="Search budget over guardrail", change_set_id="cs-9")
    override = ticket_override(
        ticket=stuck, actor=Actor.for_user(staff[Role.ADMIN]), reason="Client agreed by phone."
    )
    client.force_login(staff[Role.OPERATOR])

    original = page_of(client, stuck)
    a6 = page_of(client, override)

    assert (
        f'Overridden by <a href="{reverse("ticket", kwargs={"public_id": override.public_id})}"'
        in original
    )
    assert "Client agreed by phone." in original
    assert f"overridden by {override.public_id}" in original  # in the operator's slot
    stuck_url = reverse("ticket", kwargs={"public_id": stuck.public_id})
    assert f'Overrides <a href="{stuck_url}" class="mono">{stuck.public_id}</a>' in a6
    assert f'<a href="{stuck_url}" data-testid="subject-link">{stuck.public_id}</a>' in a6


# --- Messages after a decision -------------------------------------------------------------------
def test_a_partial_approval_says_whom_the_ticket_now_waits_for(client, staff, v2):
    a7 = tickets_of(v2)["A7"]
    client.force_login(staff[Role.LEGAL])

    page = client.post(decide_url(a7), {"verdict": "approve"}, follow=True).content.decode()

    assert f"You approved {a7.public_id} as legal; it now waits for the planner." in page


def test_the_last_approval_says_which_version_is_now_current(client, staff, v2):
    tickets = tickets_of(v2)
    for ticket, role in ((tickets["A7"], Role.LEGAL), (tickets["A7"], Role.PLANNER)):
        ticket_decide(ticket=ticket, actor=Actor.for_user(staff[role]), verdict="approve")
    ticket_decide(ticket=tickets["A5"], actor=Actor.for_user(staff[Role.CLIENT]), verdict="approve")
    client.force_login(staff[Role.PLANNER])

    page = client.post(
        decide_url(tickets["A5"]), {"verdict": "approve"}, HTTP_HX_REQUEST="true"
    ).content.decode()

    assert (
        f"You approved {tickets['A5'].public_id} as planner: it is approved, and "
        f"v{v2.number} is now the current version of always_on." in page
    )


# --- An internal A4 never waits for the client --------------------------------------------------
def test_an_internal_a4_waits_only_for_the_admin(client, acme, staff):
    a4 = open_ticket(acme, "A4", title="DNS record for acme-shop.de")
    client.force_login(staff[Role.OPERATOR])

    page = page_of(client, a4)
    inbox = client.get(reverse("dashboard")).content.decode()

    assert "Nothing for you to decide here: waiting for admin." in page
    assert "admin or client" not in page and "admin or client" not in inbox
    assert set(TicketWaitingRole.objects.filter(ticket=a4).values_list("role", flat=True)) == {
        "admin"
    }
    assert ticket_progress(a4).pending == ["admin"]


def test_a_client_visible_a4_still_waits_for_admin_or_client(acme, staff):
    a4 = open_ticket(acme, "A4", client_visible=True)

    assert ticket_progress(a4).pending == ["admin/client"]
    assert set(TicketWaitingRole.objects.filter(ticket=a4).values_list("role", flat=True)) == {
        "admin",
        "client",
    }


# --- Clear A8 reads cleared ---------------------------------------------------------------------
def test_a_cleared_red_flag_reads_cleared_but_keeps_its_stored_status(client, acme, staff):
    a8 = open_ticket(acme, "A8", title="Reporting agent loops", run_id="run-93ab")
    client.force_login(staff[Role.OPERATOR])

    response = client.post(decide_url(a8), {"verdict": "approve"}, follow=True)

    page = response.content.decode()
    assert Ticket.objects.get(pk=a8.pk).status == TicketStatus.APPROVED
    assert f"You cleared {a8.public_id} as operator: it is cleared." in page
    assert 'data-testid="status">Cleared<' in page
    inbox = client.get(reverse("dashboard"), {"status": "approved"}).content.decode()
    assert 'data-testid="status">Cleared<' in inbox


# --- The decision's heading names the subject in full, never the ticket; buttons are one word ----
@pytest.mark.parametrize(
    ("kwargs", "label"),
    [
        pytest.param(
            {"type": "A3", "change_set_id": "cs-7f3a9c41d2"},
            "Decision: A3 for change set cs-7f3a9c41d2",
            id="change-set",
        ),
        pytest.param(
            {"type": "A4", "title": "DNS record for acme-shop.de"},
            "Decision: A4 for “DNS record for acme-shop.de”",
            id="no-subject",
        ),
    ],
)
def test_the_decision_names_the_subject_and_never_the_ticket(client, acme, staff, kwargs, label):
    ticket = open_ticket(acme, kwargs.pop("type"), **kwargs)
    client.force_login(staff[Role.ADMIN] if ticket.type == "A4" else staff[Role.OPERATOR])

    page = page_of(client, ticket)

    assert f'<h2 id="decision-title">{label}</h2>' in page
    buttons = page.split('class="actions"')[1].split("</div>")[0]
    assert ticket.public_id not in buttons
    assert 'aria-describedby="decision-title">Approve</button>' in buttons
