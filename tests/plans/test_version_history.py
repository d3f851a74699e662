"""Version history (issue 16 item 6): a version keeps every approval it received (who, role,
when) and shows them — `approved_by` alone names only the last approver — and the entities that
implemented it stay listed after they move on (from the manifest's history)."""

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from approvals.models import Ticket, TicketStatus
from approvals.services import ticket_decide
from audit.actors import Actor
from optimization.models import ManifestVersionLink
from optimization.services import manifest_sync
from plans.models import PlanStatus
from plans.selectors import version_approvals
from plans.services import (
    plan_version_create_draft,
    plan_version_import_approved,
    plan_version_submit,
)
from tenants.models import Role
from tests.conftest import TEST_ACTOR
from tests.plans.plan_samples import changed, search_up_12_pct, winter_plan

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved_by_two(acme, acme_v1, alice, make_member):
    """v2 raises the search budget: a planner and the client approve it."""
    pete = make_member("pete", acme, Role.PLANNER)
    carol = make_member("carol", acme, Role.CLIENT)
    v2 = plan_version_create_draft(
        tenant=acme,
        track_key="always_on",
        kind="revise",
        payload=changed(winter_plan(), search_up_12_pct),
        actor=Actor.for_user(alice),
        reason="search converts",
    )
    v2 = plan_version_submit(version=v2, actor=Actor.for_user(alice))
    ticket = Ticket.objects.get(subject_id=str(v2.number), status=TicketStatus.OPEN)
    assert sorted(ticket.required_roles) == ["client", "planner"]
    ticket_decide(ticket=ticket, actor=Actor.for_user(pete), verdict="approve", role=Role.PLANNER)
    ticket_decide(ticket=ticket, actor=Actor.for_user(carol), verdict="approve", role=Role.CLIENT)
    v2.refresh_from_db()
    assert v2.status == PlanStatus.APPROVED
    return v2, ticket


def test_a_version_keeps_every_approval_not_only_the_last(approved_by_two):
    v2, ticket = approved_by_two
    assert v2.approved_by == "carol"  # the field names the last approver only
    assert [(a["who"], a["role"], a["ticket"]) for a in version_approvals(v2)] == [
        ("pete", "planner", ticket.public_id),
        ("carol", "client", ticket.public_id),
    ]


def test_the_version_page_shows_every_approval(client, approved_by_two, alice):
    v2, ticket = approved_by_two
    client.force_login(alice)
    html = client.get(reverse("plans:version", args=["acme", v2.number])).content.decode()
    text = " ".join(strip_tags(html).split())
    assert "pete (planner)" in text
    assert "carol (client)" in text


def test_an_imported_version_names_who_approved_it_outside(acme_v1):
    assert [a["who"] for a in version_approvals(acme_v1)] == [acme_v1.approved_by]


def sync(tenant, number):
    manifest_sync(
        tenant=tenant,
        track_key="always_on",
        entries=[
            {
                "platform": "google_ads",
                "entity_id": "cmp-search-1",
                "channel": "search",
                "plan_version": number,
                "state": {"daily_budget": "500.00", "status": "active"},
            }
        ],
        actor=TEST_ACTOR,
    )


def test_an_entity_that_moved_on_stays_listed_on_the_version_it_implemented(
    client, acme, acme_v1, alice
):
    sync(acme, acme_v1.number)
    v2 = plan_version_import_approved(
        tenant=acme,
        track_key="always_on",
        kind="revise",
        payload=changed(winter_plan(), search_up_12_pct),
        actor=TEST_ACTOR,
        approved_by="alice",
    )
    sync(acme, v2.number)  # re-synced to v2: it no longer implements v1 live
    links = ManifestVersionLink.objects.filter(entry__entity_id="cmp-search-1").order_by("pk")
    assert [(link.plan_version, link.until is None) for link in links] == [(1, False), (2, True)]
    client.force_login(alice)
    v1_page = client.get(reverse("plans:version", args=["acme", 1])).content.decode()
    assert "Entities that implemented v1 before" in v1_page
    assert "cmp-search-1" in v1_page.split("Entities that implemented v1 before")[1]
    v2_page = client.get(reverse("plans:version", args=["acme", v2.number])).content.decode()
    assert "cmp-search-1" in v2_page
    assert "Entities that implemented v2 before" not in v2_page
