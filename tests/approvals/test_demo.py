"""The demo world: every ticket type open for acme (plan tickets from plans.demo, the rest from
approvals.demo), some overdue, two red flags; idempotent."""

from __future__ import annotations

from django.core.management import call_command
from django.utils import timezone

from approvals import demo
from approvals.models import Ticket


def test_the_demo_opens_every_type_once_with_overdue_tickets_and_two_red_flags(acme):
    lines = []
    demo.seed(log=lines.append)
    demo.seed(log=lines.append)

    tickets = Ticket.objects.filter(tenant=acme)
    assert tickets.count() == len(demo.DEMO_TICKETS)
    assert set(tickets.values_list("status", flat=True)) == {"open"}
    assert tickets.filter(sla_due_at__lt=timezone.now()).count() >= 3
    red = {t.type: t.red_flag for t in tickets.filter(type__in=["A8", "A9"])}
    assert red == {
        "A8": {"loop_type": "qc_correction", "attempt_count": 3},
        "A9": {"estimated_usd": "0.84", "actual_usd": "2.61"},
    }
    assert tickets.filter(client_visible=True).count() >= 3
    assert all(t.diff.get("summary") for t in tickets)
    assert lines[-1].startswith("tickets: 0 opened")


def test_the_whole_demo_world_has_every_type_open_with_real_plan_tickets(db):
    call_command("seed_demo")
    call_command("seed_demo")

    open_tickets = Ticket.objects.filter(tenant__slug="acme", status="open")
    assert set(open_tickets.values_list("type", flat=True)) == {f"A{n}" for n in range(1, 10)}
    plan_tickets = open_tickets.filter(subject_type="plan_version")
    assert set(plan_tickets.values_list("type", flat=True)) == {"A1", "A5", "A7"}
    a5 = plan_tickets.get(type="A5")
    assert a5.required_roles == ["planner", "client"]
    assert a5.client_visible is True
    assert a5.diff["budget_table"]["rows"]


def test_the_demo_skips_without_acme(db):
    lines = []
    demo.seed(log=lines.append)
    assert lines == ["no tenant acme: skipped"]
    assert not Ticket.objects.exists()
