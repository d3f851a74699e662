"""The ticket rollups (issue 21.5): time to approve and SLA breaches (by type and by role) read
daily rollups where days are whole and raw tickets for the rest, and equal the raw aggregates
exactly, medians and percentiles included, for any range and any `now`."""

from __future__ import annotations

import random
from datetime import timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from hypothesis import strategies as st

from approvals import selectors
from approvals.models import TicketDay, TicketRollupMark, TicketStatus
from approvals.services.rollups import ticket_rollups_rebuild, ticket_rollups_refresh
from tests.metrics import factories
from tests.rollup_helpers import (
    NOW,
    any_range,
    assert_every_five_minutes,
    days_before_now,
    for_any_range,
    sorted_rows,
    two_tenants,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ROLES = [("planner",), ("operator/admin",), ("planner", "legal")]


@pytest.fixture
def world(make_tenant, django_user_model):
    """Two tenants on either side of the Atlantic, 150 tickets each over 60 days."""
    acme, globex = two_tenants(make_tenant)
    user = django_user_model.objects.create_user("rollup-approver")
    rng = random.Random(21)
    for tenant in (acme, globex):
        for _ in range(150):
            created = NOW - timedelta(minutes=rng.randrange(60 * 24 * 60))
            due = created + timedelta(hours=rng.choice([4, 24, 72])) if rng.random() < 0.8 else None
            kind = rng.choice(["approved", "approved", "open", "rejected", "cancelled"])
            resolved = created + timedelta(seconds=rng.randrange(1, 5 * 86400))
            ticket = factories.ticket(
                tenant,
                rng.choice(["A1", "A3", "A5", "A6", "A8"]),
                created=created,
                resolved=None if kind == "open" else resolved,
                status=kind,
                sla_due=due,
                required_roles=rng.choice(ROLES),
            )
            if kind in ("approved", "open") and rng.random() < 0.6:
                slot = rng.choice(ticket.required_roles)
                at = created + timedelta(minutes=rng.randrange(1, 60 * 96))
                factories.approval(ticket, user, slot=slot, at=at)
    return acme, globex


def _figures(tenant_ids, ranges, now, *, raw=False) -> dict:
    suffix = "_raw" if raw else ""
    return {
        "times": sorted_rows(
            getattr(selectors, "approval_times_by_type" + suffix)(
                tenant_ids=tenant_ids, ranges=ranges
            )
        ),
        **{
            name: sorted_rows(
                getattr(selectors, name + suffix)(tenant_ids=tenant_ids, ranges=ranges, now=now)
            )
            for name in ("sla_breaches_by_type", "sla_breaches_by_slot")
        },
        **{
            f"overrides {bucket} {zone}": sorted_rows(
                getattr(selectors, "overrides_by_bucket" + suffix)(
                    tenant_ids=tenant_ids, ranges=ranges, bucket=bucket, zone=ZoneInfo(zone)
                )
            )
            for bucket in ("day", "week", "month")
            for zone in ("Europe/Berlin", "America/New_York")
        },
    }


@for_any_range(later=st.integers(min_value=0, max_value=10 * 24 * 60))
def test_rollup_and_raw_figures_are_equal_for_any_range(world, edges, midnights, which, later):
    acme, globex = world
    if not TicketRollupMark.objects.exists():
        ticket_rollups_refresh(now=NOW)
    ranges, tenant_ids = any_range(world, edges, midnights, which)
    now = ranges.until + timedelta(minutes=later)  # open tickets breach as `now` moves on
    assert _figures(tenant_ids, ranges, now) == _figures(tenant_ids, ranges, now, raw=True)


def test_a_long_range_reads_rollup_days_and_its_figures_are_not_empty(world):
    acme, globex = world
    ticket_rollups_refresh(now=NOW)
    assert set(TicketDay.objects.values_list("metric", flat=True)) == {
        "time",
        "sla",
        "slot",
        "a6",
    }
    ranges = days_before_now(56, 28)
    figures = _figures((acme.pk, globex.pk), ranges, NOW)
    assert all(figures.values())
    assert any(row["breached"] for row in figures["sla_breaches_by_slot"])
    assert figures == _figures((acme.pk, globex.pk), ranges, NOW, raw=True)


def test_a_ticket_decided_after_its_day_is_recounted_by_the_next_refresh(world, django_user_model):
    acme, globex = world
    ticket_rollups_refresh(now=NOW)
    ranges = days_before_now(50, 25)
    created = NOW - timedelta(days=30)
    ticket = factories.ticket(
        acme, "A1", created=created, sla_due=created + timedelta(hours=4), status="open"
    )
    ticket_rollups_refresh(now=NOW)
    before = _figures((acme.pk,), ranges, NOW)
    assert before == _figures((acme.pk,), ranges, NOW, raw=True)
    ticket.status, ticket.resolved_at = TicketStatus.APPROVED, NOW - timedelta(days=2)
    ticket.save(update_fields=["status", "resolved_at", "updated_at"])
    ticket_rollups_refresh(now=NOW)
    after = _figures((acme.pk,), ranges, NOW)
    assert after == _figures((acme.pk,), ranges, NOW, raw=True)
    assert after["times"] != before["times"]


def test_refreshing_again_or_rebuilding_changes_nothing(world):
    def counted():
        return sorted(TicketDay.objects.values_list("tenant_id", "day", "metric", "key", "n", "m"))

    ticket_rollups_refresh(now=NOW)
    first = counted()
    ticket_rollups_refresh(now=NOW)
    assert counted() == first
    out = StringIO()
    call_command("rollups_rebuild", stdout=out)
    assert "ticket rollups:" in out.getvalue()
    assert counted() == first
    assert ticket_rollups_rebuild(now=NOW).days > 0


def test_setup_schedules_declares_the_ticket_rollups_every_five_minutes(db):
    assert_every_five_minutes("approvals.ticket_rollups", "approvals.tasks.ticket_rollups")
