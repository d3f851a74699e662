"""The approval table's *Blocks* column (docs/rules.md "What blocks what") for A2 and A7: with the
ticket open the blocked action is refused or held and nothing changes; after approval it goes
through."""

from __future__ import annotations

import pytest

from approvals.models import Ticket
from approvals.services import ticket_decide, ticket_open
from approvals.types import Opener
from audit.actors import Actor
from config.errors import Blocked
from optimization.models import ChangeSet, ExecutionManifestEntry
from optimization.services import manifest_sync
from tenants.models import Role
from tests.conftest import TEST_ACTOR
from tests.optimization.conftest import entry
from tests.optimization.test_change_sets import submit

pytestmark = pytest.mark.django_db


def status_of(entity_id: str) -> str:
    return ExecutionManifestEntry.objects.get(entity_id=entity_id).state["status"]


def approve(ticket: Ticket, *actors: Actor) -> None:
    for actor in actors:
        ticket_decide(ticket=Ticket.objects.get(pk=ticket.pk), actor=actor, verdict="approve")


def test_a2_of_a_change_set_holds_the_first_go_live_until_approved(live, people):
    change_set = submit(
        live, {"entity_id": "search-new", "field": "status", "before": "paused", "after": "active"}
    )
    a2 = Ticket.objects.get(public_id=change_set.ticket)
    assert a2.type == "A2"
    assert status_of("search-new") == "paused"  # blocked while open: nothing changed
    approve(a2, Actor.for_user(people[Role.OPERATOR]))
    assert status_of("search-new") == "active"


def test_a2_of_a_manifest_launch_holds_the_first_go_live_until_approved(live, people):
    result = manifest_sync(
        tenant=live,
        track_key="always_on",
        entries=[entry("search-brand-2", "search", "50.00")],
        actor=TEST_ACTOR,
    )
    a2 = Ticket.objects.get(public_id=result.ticket)
    assert a2.type == "A2"
    assert status_of("search-brand-2") == "pending"
    again = manifest_sync(
        tenant=live,
        track_key="always_on",
        entries=[entry("search-brand-2", "search", "50.00")],
        actor=TEST_ACTOR,
    )
    assert again.ticket == a2.public_id and status_of("search-brand-2") == "pending"
    approve(a2, Actor.for_user(people[Role.OPERATOR]))
    assert status_of("search-brand-2") == "active"


def test_a7_on_a_track_blocks_creative_rotation_until_approved(live, people, make_member):
    a7 = ticket_open(
        tenant=live,
        type="A7",
        actor=Actor.system("qc-agent"),
        title="Winter copy check",
        subject_type="track",
        subject_id="always_on",
        opener=Opener.AGENT,
    )
    rotate = {
        "entity_id": "social-prospecting",
        "field": "creative_rotation",
        "before": None,
        "after": ["winter-sale-v2"],
    }
    with pytest.raises(Blocked) as refused:
        submit(live, rotate)
    assert (refused.value.code, refused.value.ticket) == ("blocked_by_compliance", a7.public_id)
    assert not ChangeSet.objects.exists()
    assert (
        "creative_rotation"
        not in ExecutionManifestEntry.objects.get(entity_id="social-prospecting").state
    )
    legal = Actor.for_user(make_member("lena", live, Role.LEGAL))
    approve(a7, Actor.for_user(people[Role.PLANNER]), legal)
    assert submit(live, rotate).status == "applied"  # acme's standard profile reviews no rotation
    assert ExecutionManifestEntry.objects.get(entity_id="social-prospecting").state[
        "creative_rotation"
    ] == ["winter-sale-v2"]
