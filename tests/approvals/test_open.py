"""ticket_open, ticket_comment_add, ticket_cancel and the ticket selectors."""

from __future__ import annotations

import re
import threading
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import IntegrityError, transaction

from approvals.models import Ticket, TicketComment, TicketStatus
from approvals.selectors import (
    subject_blocking_tickets,
    ticket_allowed_verdicts,
    ticket_progress,
    ticket_required_roles,
    tickets_for_user,
)
from approvals.services import (
    TicketConflict,
    TicketError,
    TicketInvalid,
    TicketNotAllowed,
    ticket_cancel,
    ticket_comment_add,
    ticket_decide,
    ticket_open,
)
from audit.actors import Actor
from audit.models import AuditEvent
from tenants.models import Role
from tenants.services import tenant_policy_update
from tests.approvals.factories import SYSTEM, open_ticket, stand_in_subject

BERLIN = ZoneInfo("Europe/Berlin")


def test_opening_a_ticket_stores_it_and_audits_it(acme):
    agent = Actor.service("optimizer")
    ticket = ticket_open(
        tenant=acme,
        type="A3",
        actor=agent,
        title="Search budget +18% on always_on",
        summary="Daily budget 400 → 472 EUR",
        subject_type="change_set",
        subject_id="cs-1",
        change_set_id="cs-1",
        platform="google_ads",
        diff={"summary": ["Search budget up 18%"], "changes": []},
    )
    assert re.fullmatch(r"A3-[0-9A-HJKMNP-TV-Z]{8}", ticket.public_id)
    stored = Ticket.objects.get(public_id=ticket.public_id)
    assert stored.status == TicketStatus.OPEN
    assert stored.required_roles == ["operator"]
    assert stored.client_visible is False
    assert stored.requesting_agent == "optimizer"
    assert stored.opened_by == "optimizer"
    event = AuditEvent.objects.get(action="ticket.opened")
    assert (event.resource_type, event.resource_id) == ("ticket", ticket.public_id)
    assert event.data["type"] == "A3"
    assert event.data["subject"] == "change_set:cs-1"


def test_the_same_dedupe_key_returns_the_open_ticket(acme):
    first = open_ticket(acme, "A5", dedupe_key="revise:always_on:drift")
    again = open_ticket(acme, "A5", dedupe_key="revise:always_on:drift", title="other title")
    assert again.pk == first.pk
    assert Ticket.objects.count() == 1
    assert AuditEvent.objects.filter(action="ticket.opened").count() == 1


def test_a_dedupe_key_is_free_again_once_the_ticket_closed(acme):
    first = open_ticket(acme, "A5", dedupe_key="k")
    ticket_cancel(ticket=first, actor=SYSTEM, reason="draft withdrawn")
    second = open_ticket(acme, "A5", dedupe_key="k")
    assert second.pk != first.pk
    assert Ticket.objects.filter(dedupe_key="k").count() == 2


def test_dedupe_keys_are_per_tenant(acme, globex):
    ours = open_ticket(acme, "A4", dedupe_key="dns")
    theirs = open_ticket(globex, "A4", dedupe_key="dns")
    assert ours.pk != theirs.pk


def test_the_database_refuses_two_open_tickets_with_one_dedupe_key(acme):
    ticket = open_ticket(acme, "A4", dedupe_key="dns")
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.create(
            tenant=acme, type="A4", title="dup", public_id="A4-DUPLICAT", dedupe_key="dns"
        )
    assert Ticket.objects.filter(dedupe_key=ticket.dedupe_key).count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"type": "A0"}, "type", id="unknown-type"),
        pytest.param({"title": "  "}, "title", id="empty-title"),
        pytest.param({"type": "A8", "client_visible": True}, "client_visible", id="A8-internal"),
        pytest.param({"type": "A6", "client_visible": True}, "client_visible", id="A6-internal"),
        pytest.param(
            {"type": "A5", "required_roles": ["planner", "client"], "client_visible": False},
            "client_visible",
            id="client-approver-must-see-it",
        ),
        pytest.param(
            {"type": "A7", "required_roles": ["legal"]}, "required_roles", id="drop-planner"
        ),
        pytest.param(
            {"type": "A5", "required_roles": ["planner", "ceo"]},
            "required_roles",
            id="unknown-role",
        ),
        pytest.param(
            {"type": "A5", "required_roles": ["planner", "planner"]},
            "required_roles",
            id="role-twice",
        ),
        pytest.param({"type": "A8", "red_flag": {}}, "red_flag", id="A8-without-figures"),
        pytest.param(
            {"type": "A8", "red_flag": {"loop_type": "tool_rounds", "attempt_count": "six"}},
            "red_flag",
            id="A8-attempts-not-a-number",
        ),
        pytest.param(
            {"type": "A9", "red_flag": {"estimated_usd": "1.00", "actual_usd": "lots"}},
            "red_flag",
            id="A9-amount-not-a-number",
        ),
        pytest.param(
            {"type": "A9", "red_flag": {"estimated_usd": "NaN", "actual_usd": "3"}},
            "red_flag",
            id="A9-amount-nan",
        ),
        pytest.param({"type": "A1", "red_flag": {"x": 1}}, "red_flag", id="A1-is-no-red-flag"),
        pytest.param({"sla_kind": "whenever"}, "sla_kind", id="unknown-sla-kind"),
        pytest.param({"diff": ["not", "an", "object"]}, "diff", id="diff-not-an-object"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(acme, kwargs, field):
    spec = {"tenant": acme, "type": "A1", "actor": SYSTEM, "title": "x", **kwargs}
    events = AuditEvent.objects.count()
    with pytest.raises(TicketInvalid) as excinfo:
        ticket_open(**spec)
    assert field in excinfo.value.fields
    assert not Ticket.objects.exists()
    assert AuditEvent.objects.count() == events


def test_red_flag_figures_are_stored_with_money_as_strings(acme):
    a8 = open_ticket(acme, "A8", red_flag={"loop_type": "qc_correction", "attempt_count": "3"})
    a9 = open_ticket(acme, "A9", red_flag={"estimated_usd": Decimal("0.40"), "actual_usd": 1.2})
    assert Ticket.objects.get(pk=a8.pk).red_flag == {
        "loop_type": "qc_correction",
        "attempt_count": 3,
    }
    assert Ticket.objects.get(pk=a9.pk).red_flag == {"estimated_usd": "0.40", "actual_usd": "1.2"}
    assert a8.is_red_flag and a9.is_red_flag


@pytest.mark.parametrize(
    ("sla_kind", "due"),
    [
        pytest.param("approval", datetime(2026, 12, 1, 18, 0, tzinfo=BERLIN), id="approval-2"),
        pytest.param(
            "revise_draft", datetime(2026, 11, 30, 18, 0, tzinfo=BERLIN), id="revise-draft-1"
        ),
        pytest.param(
            "replan_draft", datetime(2026, 12, 1, 18, 0, tzinfo=BERLIN), id="replan-draft-2"
        ),
    ],
)
def test_the_sla_comes_from_the_tenants_calendar_and_policy(acme, sla_kind, due):
    with time_machine.travel(datetime(2026, 11, 27, 19, 30, tzinfo=BERLIN), tick=False):
        ticket = open_ticket(acme, "A5", sla_kind=sla_kind)
    assert ticket.sla_due_at == due


def test_a_tenant_with_one_approval_day_gets_a_shorter_sla(globex):
    tenant_policy_update(tenant=globex, actor=SYSTEM, changes={"sla_approval_days": 1})
    new_york = ZoneInfo("America/New_York")
    with time_machine.travel(datetime(2026, 11, 25, 10, 0, tzinfo=new_york), tick=False):
        ticket = open_ticket(globex, "A1")
    assert ticket.sla_due_at == datetime(2026, 11, 27, 10, 0, tzinfo=new_york)  # Thanksgiving


def test_a_budget_increase_over_the_threshold_adds_the_client(acme):
    tenant_policy_update(
        tenant=acme, actor=SYSTEM, changes={"client_budget_increase_threshold_pct": Decimal("10")}
    )
    assert ticket_required_roles(tenant=acme, type="A5", budget_increase_pct=Decimal("12")) == [
        "planner",
        "client",
    ]
    assert ticket_required_roles(tenant=acme, type="A5", budget_increase_pct=Decimal("8")) == [
        "planner"
    ]
    assert ticket_required_roles(tenant=acme, type="A7") == ["planner", "legal"]


# --- comments -----------------------------------------------------------------------------------
def test_a_comment_is_stored_and_audited(acme, alice):
    ticket = open_ticket(acme, "A1", plan_version=4)
    comment = ticket_comment_add(ticket=ticket, actor=Actor.for_user(alice), body=" Looks fine ")
    assert list(ticket.comments.values_list("author_label", "body")) == [("alice", "Looks fine")]
    event = AuditEvent.objects.get(action="ticket.commented")
    assert (event.resource_id, event.plan_version, event.data["comment_id"]) == (
        ticket.public_id,
        4,
        comment.pk,
    )


@pytest.mark.parametrize("body", ["", "   ", "x" * 10_001], ids=["empty", "blank", "too-long"])
def test_an_empty_or_huge_comment_is_refused(acme, alice, body):
    ticket = open_ticket(acme, "A1")
    with pytest.raises(TicketError):
        ticket_comment_add(ticket=ticket, actor=Actor.for_user(alice), body=body)
    assert not TicketComment.objects.exists()


def test_a_client_cannot_comment_on_an_internal_ticket(acme, make_member):
    client = make_member("cleo", acme, Role.CLIENT)
    internal = open_ticket(acme, "A1")
    shown = open_ticket(acme, "A5", required_roles=["planner", "client"])
    with pytest.raises(TicketNotAllowed):
        ticket_comment_add(ticket=internal, actor=Actor.for_user(client), body="hi")
    ticket_comment_add(ticket=shown, actor=Actor.for_user(client), body="Fine by us")
    assert list(TicketComment.objects.values_list("ticket_id", flat=True)) == [shown.pk]


def test_someone_of_another_tenant_cannot_comment(acme, bob):
    ticket = open_ticket(acme, "A1")
    with pytest.raises(TicketNotAllowed):
        ticket_comment_add(ticket=ticket, actor=Actor.for_user(bob), body="hi")
    assert not TicketComment.objects.exists()


# --- cancel -------------------------------------------------------------------------------------
def test_cancelling_closes_the_ticket_and_tells_the_subject(acme, monkeypatch):
    calls = []
    stand_in_subject(monkeypatch, "widget", lambda t, outcome, a: calls.append(outcome))
    ticket = open_ticket(acme, "A5", subject_type="widget", subject_id="9")
    ticket_cancel(ticket=ticket, actor=Actor.service("plans"), reason="draft withdrawn")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolution_note, ticket.resolved_by_label) == (
        "cancelled",
        "draft withdrawn",
        "plans",
    )
    assert ticket.resolved_at is not None
    assert calls == ["cancelled"]
    ticket_cancel(ticket=ticket, actor=Actor.service("plans"), reason="again")
    assert calls == ["cancelled"]
    assert AuditEvent.objects.filter(action="ticket.cancelled").count() == 1


def test_a_decided_ticket_cannot_be_cancelled(acme, alice):
    ticket = open_ticket(acme, "A1")
    ticket_decide(ticket=ticket, actor=Actor.for_user(alice), verdict="approve")
    with pytest.raises(TicketConflict):
        ticket_cancel(ticket=ticket, actor=SYSTEM, reason="late")
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.APPROVED


def test_cancelling_needs_a_reason(acme):
    ticket = open_ticket(acme, "A1")
    with pytest.raises(TicketError):
        ticket_cancel(ticket=ticket, actor=SYSTEM, reason=" ")
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.OPEN


# --- selectors ----------------------------------------------------------------------------------
def test_people_see_their_tenants_tickets_and_clients_only_client_visible_ones(
    acme, globex, alice, bob, make_member
):
    client = make_member("cleo", acme, Role.CLIENT)
    internal = open_ticket(acme, "A1")
    shown = open_ticket(acme, "A5", required_roles=["planner", "client"])
    red = open_ticket(acme, "A8")
    other = open_ticket(globex, "A1")
    assert set(tickets_for_user(user=alice)) == {internal, shown, red}
    assert set(tickets_for_user(user=client)) == {shown}
    assert set(tickets_for_user(user=bob)) == {other}


def test_open_tickets_block_their_subject_until_they_resolve(acme, alice):
    ticket = open_ticket(acme, "A1", subject_type="plan_version", subject_id="12")
    open_ticket(acme, "A1", subject_type="plan_version", subject_id="13")
    blocking = subject_blocking_tickets(tenant=acme, subject_type="plan_version", subject_id="12")
    assert list(blocking) == [ticket]
    ticket_decide(ticket=ticket, actor=Actor.for_user(alice), verdict="approve")
    assert not subject_blocking_tickets(
        tenant=acme, subject_type="plan_version", subject_id="12"
    ).exists()


def test_allowed_verdicts_say_which_buttons_to_show(acme, alice, make_member):
    legal = make_member("lena", acme, Role.LEGAL)
    admin = make_member("adam", acme, Role.ADMIN)
    operator = make_member("otto", acme, Role.OPERATOR)
    ticket = open_ticket(acme, "A7")
    assert ticket_allowed_verdicts(ticket=ticket, user=alice) == [
        "approve",
        "reject",
        "request_changes",
    ]
    assert ticket_allowed_verdicts(ticket=ticket, user=admin) == ["reject", "request_changes"]
    assert ticket_allowed_verdicts(ticket=ticket, user=operator) == []
    ticket_decide(ticket=ticket, actor=Actor.for_user(alice), verdict="approve")
    assert ticket_allowed_verdicts(ticket=ticket, user=alice) == ["reject", "request_changes"]
    progress = ticket_progress(ticket)
    assert (progress.approved, progress.pending) == (["planner"], ["legal"])
    ticket_decide(ticket=ticket, actor=Actor.for_user(legal), verdict="approve")
    ticket.refresh_from_db()
    assert ticket_allowed_verdicts(ticket=ticket, user=legal) == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_scans_opening_the_same_ticket_at_once_make_one_row(acme):
    from django.db import connection

    barrier = threading.Barrier(2)
    ids = []

    def scan():
        try:
            barrier.wait()
            ids.append(open_ticket(acme, "A5", dedupe_key="revise:always_on:kpi").pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(ids) == 2 and ids[0] == ids[1]
    assert Ticket.objects.filter(dedupe_key="revise:always_on:kpi").count() == 1
    assert AuditEvent.objects.filter(action="ticket.opened").count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"title": "bad\x00title"}, "title", id="nul-in-title"),
        pytest.param({"summary": "a\x00b"}, "summary", id="nul-in-summary"),
        pytest.param({"diff": {"raw": {"x": float("nan")}}}, "diff", id="nan-in-diff"),
        pytest.param({"diff": {"note": "a\x00"}}, "diff", id="nul-in-diff"),
        pytest.param({"subject_id": "x" * 101}, "subject_id", id="subject-id-too-long"),
        pytest.param({"platform": "p" * 51}, "platform", id="platform-too-long"),
        pytest.param({"plan_version": 2**40}, "plan_version", id="plan-version-out-of-range"),
        pytest.param({"plan_version": 0}, "plan_version", id="plan-version-zero"),
    ],
)
def test_values_no_database_can_store_are_refused_by_name(acme, kwargs, field):
    with pytest.raises(TicketInvalid) as excinfo:
        ticket_open(**{"tenant": acme, "type": "A1", "actor": SYSTEM, "title": "x", **kwargs})
    assert field in excinfo.value.fields
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("verb", ["comment", "decide", "cancel"])
def test_a_nul_character_in_a_comment_or_reason_is_refused(acme, alice, verb):
    ticket = open_ticket(acme, "A1")
    actor = Actor.for_user(alice)
    with pytest.raises(TicketError, match="NUL"):
        if verb == "comment":
            ticket_comment_add(ticket=ticket, actor=actor, body="a\x00b")
        elif verb == "decide":
            ticket_decide(ticket=ticket, actor=actor, verdict="reject", comment="a\x00b")
        else:
            ticket_cancel(ticket=ticket, actor=actor, reason="a\x00b")
    assert Ticket.objects.get(pk=ticket.pk).status == TicketStatus.OPEN
