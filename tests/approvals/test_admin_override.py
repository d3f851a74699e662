"""A6 manual override: the ticket_override service and the Django admin action that calls it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from approvals.models import Ticket, TicketDecision, TicketStatus
from approvals.services import TicketConflict, TicketError, TicketNotAllowed, ticket_override
from audit.actors import Actor
from audit.models import AuditEvent
from tenants.models import Role
from tests.approvals.factories import SYSTEM, open_ticket, stand_in_subject
from tests.conftest import PASSWORD


@pytest.fixture
def acme_admin(acme, make_member):
    return make_member("adam", acme, Role.ADMIN)


@pytest.fixture
def calls(monkeypatch):
    seen = []
    stand_in_subject(monkeypatch, "agent_run", lambda t, outcome, a: seen.append((t.type, outcome)))
    return seen


def test_an_admin_overrides_a_ticket_through_an_approved_a6(acme, acme_admin, calls):
    stuck = open_ticket(
        acme, "A8", subject_type="agent_run", subject_id="run-42", run_id="run-42", plan_version=3
    )
    override = ticket_override(
        ticket=stuck, actor=Actor.for_user(acme_admin), reason="Loop was a provider outage"
    )

    stuck.refresh_from_db()
    assert (override.type, override.status, override.overrides_id) == ("A6", "approved", stuck.pk)
    assert (override.subject_type, override.subject_id) == ("ticket", stuck.public_id)
    assert (override.run_id, override.plan_version) == ("run-42", 3)
    assert override.resolved_by == acme_admin
    assert override.summary == "Loop was a provider outage"
    assert list(override.decisions.values_list("role", "verdict")) == [("admin", "approve")]
    assert stuck.status == TicketStatus.APPROVED
    assert stuck.resolved_by == acme_admin
    assert (
        stuck.resolution_note == f"Manual override {override.public_id}: Loop was a provider outage"
    )
    assert calls == [("A8", "approved")]  # the subject hears it once; the A6 has no handler
    trail = list(
        AuditEvent.objects.filter(action__startswith="ticket.")
        .exclude(action="ticket.opened", resource_id=stuck.public_id)
        .values_list("action", "resource_id")
    )
    assert trail == [
        ("ticket.opened", override.public_id),
        ("ticket.decided", override.public_id),
        ("ticket.approved", override.public_id),
        ("ticket.overridden", stuck.public_id),
        ("ticket.approved", stuck.public_id),
    ]


def test_a_superuser_may_override_in_any_tenant(acme):
    root = get_user_model().objects.create_superuser("root", "root@x.test", PASSWORD)
    ticket = open_ticket(acme, "A1")
    override = ticket_override(ticket=ticket, actor=Actor.for_user(root), reason="Go")
    assert override.status == TicketStatus.APPROVED
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.APPROVED


@pytest.mark.parametrize("role", [Role.PLANNER, Role.OPERATOR, Role.LEGAL, Role.CLIENT])
def test_only_admins_override(acme, make_member, role):
    person = make_member(f"p-{role}", acme, role)
    ticket = open_ticket(acme, "A1")
    with pytest.raises(TicketNotAllowed):
        ticket_override(ticket=ticket, actor=Actor.for_user(person), reason="please")
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.OPEN
    assert not Ticket.objects.filter(type="A6").exists()


def test_an_admin_of_another_tenant_cannot_override(acme, globex, make_member):
    globex_admin = make_member("gina", globex, Role.ADMIN)
    ticket = open_ticket(acme, "A1")
    with pytest.raises(TicketNotAllowed):
        ticket_override(ticket=ticket, actor=Actor.for_user(globex_admin), reason="x")
    assert not Ticket.objects.filter(type="A6").exists()


def test_an_override_needs_a_reason(acme, acme_admin):
    ticket = open_ticket(acme, "A1")
    with pytest.raises(TicketError, match="reason"):
        ticket_override(ticket=ticket, actor=Actor.for_user(acme_admin), reason="  ")
    assert Ticket.objects.count() == 1


def test_a_closed_ticket_cannot_be_overridden(acme, acme_admin):
    from approvals.services import ticket_cancel

    ticket = open_ticket(acme, "A1")
    ticket_cancel(ticket=ticket, actor=SYSTEM, reason="withdrawn")
    with pytest.raises(TicketConflict, match="already cancelled"):
        ticket_override(ticket=ticket, actor=Actor.for_user(acme_admin), reason="x")
    assert not Ticket.objects.filter(type="A6").exists()


def test_an_override_cannot_be_overridden(acme, acme_admin):
    ticket = open_ticket(acme, "A1")
    override = ticket_override(ticket=ticket, actor=Actor.for_user(acme_admin), reason="x")
    with pytest.raises(TicketConflict):
        ticket_override(ticket=override, actor=Actor.for_user(acme_admin), reason="y")


# --- the admin action ---------------------------------------------------------------------------
CHANGELIST = "/admin/approvals/ticket/"


@pytest.fixture
def staff_client(client, acme, make_member):
    superuser = get_user_model().objects.create_superuser("root", "root@x.test", PASSWORD)
    client.force_login(superuser)
    return client


def test_the_changelist_lists_tickets_with_filters(acme, staff_client):
    ticket = open_ticket(acme, "A3", title="Search budget +18%")
    response = staff_client.get(CHANGELIST, {"status__exact": "open", "type__exact": "A3"})
    assert response.status_code == 200
    content = response.content.decode()
    assert ticket.public_id in content
    assert "Search budget +18%" in content
    assert "By escalation level" in content


def test_the_action_asks_for_a_reason_first(acme, staff_client):
    ticket = open_ticket(acme, "A1", title="Approve v9")
    response = staff_client.post(
        CHANGELIST, {"action": "manual_override", "_selected_action": [ticket.pk]}
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "Manual override (A6)" in content
    assert "Approve v9" in content
    assert 'name="reason"' in content
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.OPEN


def test_the_action_without_a_reason_changes_nothing(acme, staff_client):
    ticket = open_ticket(acme, "A1")
    response = staff_client.post(
        CHANGELIST,
        {"action": "manual_override", "_selected_action": [ticket.pk], "apply": "1", "reason": " "},
    )
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.OPEN
    assert not TicketDecision.objects.exists()


def test_the_action_overrides_open_tickets_and_reports_the_rest(acme, staff_client):
    open_one = open_ticket(acme, "A2", title="Confirm launch")
    closed = open_ticket(acme, "A1")
    from approvals.services import ticket_cancel

    ticket_cancel(ticket=closed, actor=SYSTEM, reason="withdrawn")
    response = staff_client.post(
        CHANGELIST,
        {
            "action": "manual_override",
            "_selected_action": [open_one.pk, closed.pk],
            "apply": "1",
            "reason": "Client confirmed by phone",
        },
        follow=True,
    )
    assert response.status_code == 200
    content = response.content.decode()
    override = Ticket.objects.get(type="A6")
    assert f"{open_one.public_id} approved by manual override {override.public_id}" in content
    assert f"{closed.public_id} not overridden" in content
    assert Ticket.objects.get(pk=open_one.pk).status == TicketStatus.APPROVED
    assert Ticket.objects.get(pk=closed.pk).status == TicketStatus.CANCELLED
    assert override.overrides_id == open_one.pk
    assert AuditEvent.objects.filter(action="ticket.overridden").count() == 1


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_admin_overrides_a_stuck_ticket_in_the_django_admin(
    acme, make_member, page, browser_login, screenshot
):
    from playwright.sync_api import expect

    admin_user = make_member("root", acme, Role.ADMIN, is_superuser=True)
    stuck = open_ticket(
        acme,
        "A8",
        title="Agent loop exhausted on run-7c1e",
        run_id="run-7c1e",
        red_flag={"loop_type": "qc_correction", "attempt_count": 3},
    )
    browser_login(page, admin_user.username)
    page.goto(CHANGELIST)
    expect(page).to_have_title("Select ticket to change | Django site admin")
    page.get_by_role("checkbox", name="Select this object for an action").first.check()
    page.get_by_role("combobox", name="Action").select_option("manual_override")
    page.get_by_role("button", name="Go").click()

    expect(page.get_by_role("heading", name="Manual override (A6)")).to_be_visible()
    expect(page.get_by_text("Agent loop exhausted on run-7c1e")).to_be_visible()
    # The browser itself refuses an empty reason (the server does too, tested above).
    expect(page.get_by_label("Reason:")).to_have_attribute("required", "")
    screenshot("admin-override-reason")
    page.get_by_label("Reason:").fill("Provider outage caused the QC failures; rerun is safe")
    page.get_by_role("button", name="Override 1 ticket").click()

    expect(page.get_by_text(f"{stuck.public_id} approved by manual override A6-")).to_be_visible()
    screenshot("admin-override-done")
    stuck.refresh_from_db()
    assert stuck.status == TicketStatus.APPROVED
    override = Ticket.objects.get(type="A6")
    assert (override.overrides_id, override.resolved_by_label) == (stuck.pk, "root")
