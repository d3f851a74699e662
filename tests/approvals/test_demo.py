"""The demo world: every ticket type open for acme — plan tickets from plans.demo, A2/A3 from
optimization.demo's change sets, A8/A9 from agents.demo's runs, the rest from approvals.demo —
some overdue (but never due before they were opened), client items for globex; idempotent."""

from __future__ import annotations

from django.core.management import call_command
from django.utils import timezone

from approvals import demo
from approvals.models import Ticket


def test_the_demo_opens_its_tickets_once_some_overdue_none_due_before_opened(acme, globex):
    lines = []
    demo.seed(log=lines.append)
    demo.seed(log=lines.append)

    tickets = Ticket.objects.filter(tenant=acme)
    assert tickets.count() == len(demo.DEMO_TICKETS)
    assert set(tickets.values_list("status", flat=True)) == {"open"}
    assert tickets.filter(sla_due_at__lt=timezone.now()).count() >= 2
    assert all(t.created_at < t.sla_due_at for t in Ticket.objects.all())
    assert tickets.filter(client_visible=True).count() >= 2
    assert all(t.diff.get("summary") for t in tickets)
    globex_items = Ticket.objects.filter(tenant=globex, client_visible=True, status="open")
    assert globex_items.count() == len(demo.GLOBEX_TICKETS)
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
    # Every red flag comes from a run that exists, every A2/A3 from a real change set.
    from agents.models import AgentRun, QcAlert
    from optimization.models import ChangeSet

    for ticket in open_tickets.filter(type__in=["A8", "A9"]):
        run = AgentRun.objects.get(tenant=ticket.tenant, run_id=ticket.run_id)
        assert run.state == "blocked"
    red = {t.type: t.red_flag for t in open_tickets.filter(type__in=["A8", "A9"])}
    assert red["A8"]["loop_type"] == "qc_correction"
    assert (red["A9"]["estimated_usd"], red["A9"]["actual_usd"]) == ("0.840000", "2.610000")
    for ticket in open_tickets.filter(type__in=["A2", "A3"]):
        assert ChangeSet.objects.get(tenant=ticket.tenant, change_set_id=ticket.change_set_id)
    assert QcAlert.objects.filter(tenant__slug="acme", recovered_at__isnull=True).exists()
    assert all(t.created_at <= t.sla_due_at for t in Ticket.objects.all())
    # Due times are business times: a working day, within the tenant's working hours.
    from zoneinfo import ZoneInfo

    for ticket in Ticket.objects.select_related("tenant"):
        local = ticket.sla_due_at.astimezone(ZoneInfo(ticket.tenant.time_zone))
        assert local.weekday() < 5 and 9 <= local.hour <= 18, (ticket.public_id, local)


def test_the_demo_skips_without_acme(db):
    lines = []
    demo.seed(log=lines.append)
    assert lines[:2] == ["no tenant acme: skipped", "no tenant globex: skipped"]
    assert not Ticket.objects.exists()
