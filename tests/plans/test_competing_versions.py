"""Competing versions (issue 16 item 1): two drafts built on the same version of a track — when one
is approved, the other is outdated in the same transaction (its tickets withdrawn, its client
items out of "Waiting for you", its drafter told) and can be carried forward onto the new current
version."""

from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from approvals.models import Ticket, TicketDecision, TicketStatus
from approvals.services import ticket_decide
from audit.actors import Actor
from audit.models import AuditEvent
from notifications.models import Notification
from notifications.outbox import outbox_process
from plans.models import PlanStatus, PlanVersion
from plans.services import (
    PlanStateError,
    plan_version_carry_forward,
    plan_version_create_draft,
    plan_version_submit,
)
from tenants.models import Role
from tests.plans.plan_samples import changed, channel, search_up_12_pct, winter_plan

pytestmark = pytest.mark.django_db
WINTER = winter_plan()


@pytest.fixture
def people(acme, alice, make_member):
    return {
        "alice": alice,
        "paul": make_member("paul", acme, Role.PLANNER),
        Role.PLANNER: make_member("pete", acme, Role.PLANNER),
        Role.CLIENT: make_member("carol", acme, Role.CLIENT),
    }


def draft(tenant, user, payload, reason="search is converting well"):
    return plan_version_create_draft(
        tenant=tenant,
        track_key="always_on",
        kind="revise",
        payload=payload,
        actor=Actor.for_user(user),
        reason=reason,
    )


def text_of(html: str) -> str:
    """A page's words, without its tags and with its spaces collapsed."""
    return " ".join(strip_tags(html).split())


def open_tickets(version):
    return list(
        Ticket.objects.filter(
            tenant_id=version.tenant_id, subject_id=str(version.number), status=TicketStatus.OPEN
        ).order_by("type")
    )


def approve(version, people):
    for ticket in open_tickets(version):
        for slot in ticket.required_roles:
            role = slot.split("/")[0]
            ticket_decide(
                ticket=ticket, actor=Actor.for_user(people[role]), verdict="approve", role=role
            )
    version.refresh_from_db()
    assert version.status == PlanStatus.APPROVED
    return version


def social_up(plan):
    social = channel(plan, "social")
    social["budget"] = 34000
    social["flights"][1]["budget"] = 16000


def social_up_more(plan):
    social = channel(plan, "social")
    social["budget"] = 36000
    social["flights"][1]["budget"] = 18000


def new_messaging(plan):
    plan["messaging"] = "Winter deals, warmly wrapped."


@pytest.fixture
def competing(acme, acme_v1, people):
    """alice's v2 (search +12%, new messaging) is pending; paul's v3 (social up) is approved:
    both were built on v1."""
    v2 = draft(acme, people["alice"], changed(changed(WINTER, search_up_12_pct), new_messaging))
    v2 = plan_version_submit(version=v2, actor=Actor.for_user(people["alice"]))
    v3 = draft(acme, people["paul"], changed(WINTER, social_up), reason="social converts")
    v3 = plan_version_submit(version=v3, actor=Actor.for_user(people["paul"]))
    v2_tickets = open_tickets(v2)
    approve(v3, people)
    v2.refresh_from_db()
    return v2, v3, v2_tickets


def test_approving_a_version_outdates_the_pending_version_built_on_the_same_parent(competing):
    v2, v3, v2_tickets = competing
    assert v2.status == PlanStatus.OUTDATED
    assert v2.outdated_by_id == v3.pk
    assert v2.outdated_at == v3.approved_at
    for ticket in v2_tickets:
        ticket.refresh_from_db()
        assert ticket.status == TicketStatus.CANCELLED
        assert "v3" in ticket.resolution_note and "approved" in ticket.resolution_note
        # Linked to the approval that caused it: the ticket whose decision approved v3.
        assert ticket.cancelled_by.subject_id == str(v3.number)
        assert ticket.cancelled_by.status == TicketStatus.APPROVED
    event = AuditEvent.objects.get(action="plan_version.outdated", plan_version=v2.number)
    assert event.data["by_version"] == v3.number
    assert event.data["withdrawn_tickets"] == [t.public_id for t in v2_tickets]
    # In the approval's transaction: its audit row comes right after the approval's.
    approved = AuditEvent.objects.get(action="plan_version.approved", plan_version=v3.number)
    assert event.seq > approved.seq


def test_a_draft_built_on_the_superseded_version_is_outdated_too(acme, acme_v1, people):
    v2 = draft(acme, people["alice"], changed(WINTER, new_messaging))
    v3 = plan_version_submit(
        version=draft(acme, people["paul"], changed(WINTER, social_up)),
        actor=Actor.for_user(people["paul"]),
    )
    approve(v3, people)
    v2.refresh_from_db()
    assert (v2.status, v2.outdated_by_id) == (PlanStatus.OUTDATED, v3.pk)


def test_versions_of_other_tracks_or_parents_are_left_alone(acme, acme_v1, people):
    branding = plan_version_create_draft(
        tenant=acme,
        track_key="branding",
        kind="track_draft",
        payload=WINTER,
        actor=Actor.for_user(people["alice"]),
        reason="a branding flight",
    )
    v3 = plan_version_submit(
        version=draft(acme, people["paul"], changed(WINTER, social_up)),
        actor=Actor.for_user(people["paul"]),
    )
    approve(v3, people)
    branding.refresh_from_db()
    assert branding.status == PlanStatus.DRAFT


def test_nobody_can_approve_the_outdated_version_any_more(competing, people):
    v2, _v3, v2_tickets = competing
    with pytest.raises(Exception, match="(?i)not open|already|cancelled|withdrawn"):
        ticket_decide(
            ticket=v2_tickets[0],
            actor=Actor.for_user(people[Role.PLANNER]),
            verdict="approve",
            role=Role.PLANNER,
        )
    v2.refresh_from_db()
    assert v2.status == PlanStatus.OUTDATED


def test_at_most_one_pending_version_per_parent_stays_approvable(competing):
    v2, v3, _ = competing
    pending = PlanVersion.objects.filter(
        tenant_id=v2.tenant_id, parent_id=v2.parent_id, status=PlanStatus.PENDING_APPROVAL
    )
    assert not pending.exists()


def test_the_drafter_is_told_on_the_dashboard_and_in_notifications(client, competing, people):
    v2, v3, _ = competing
    outbox_process()  # after commit, as production does
    assert Notification.objects.filter(
        user=people["alice"], title__contains=f"v{v2.number} is outdated"
    ).exists()
    client.force_login(people["alice"])
    page = client.get(reverse("dashboard")).content.decode()
    assert reverse("plans:version", args=["acme", v2.number]) in page
    page = text_of(page)
    assert f"v{v2.number} of always_on is outdated" in page
    assert f"v{v3.number} was approved" in page


def test_the_client_item_leaves_waiting_for_you_with_a_plain_sentence(client, competing, people):
    v2, v3, v2_tickets = competing
    client_visible = [t for t in v2_tickets if t.client_visible]
    assert client_visible, "a budget increase asks the client"
    client.force_login(people[Role.CLIENT])
    home = client.get(reverse("portal:home")).content.decode()
    assert client_visible[0].public_id not in home
    item = client.get(reverse("portal:item", args=[client_visible[0].public_id])).content.decode()
    day = v3.approved_at.astimezone(ZoneInfo(v3.tenant.time_zone)).strftime("%-d %b")
    assert f"Replaced by the plan you approved on {day}" in item
    assert "Approve" not in item.split("Replaced by")[1][:400]


def test_an_outdated_version_is_carried_forward_onto_the_current_version(competing, people):
    v2, v3, _ = competing
    carried = plan_version_carry_forward(version=v2, actor=Actor.for_user(people["alice"]))
    assert carried.status == PlanStatus.DRAFT
    assert carried.parent_id == v3.pk
    assert carried.carried_from_id == v2.pk
    # v2's changes re-applied on v3: search +12% and the new messaging, and v3's social move kept.
    assert channel(carried.payload, "search")["budget"] == "44800.00"
    assert channel(carried.payload, "social")["budget"] == "34000.00"
    assert carried.payload["messaging"] == "Winter deals, warmly wrapped."
    assert carried.carry_collisions == []
    event = AuditEvent.objects.get(action="plan_version.drafted", plan_version=carried.number)
    assert event.data["carried_from"] == v2.number


def test_changes_that_collide_are_not_re_applied_and_are_listed(acme, acme_v1, people):
    v2 = draft(acme, people["alice"], changed(changed(WINTER, social_up), new_messaging))
    v3 = draft(
        acme,
        people["paul"],
        changed(WINTER, social_up_more),
    )
    approve(plan_version_submit(version=v3, actor=Actor.for_user(people["paul"])), people)
    v2.refresh_from_db()
    carried = plan_version_carry_forward(version=v2, actor=Actor.for_user(people["alice"]))
    assert channel(carried.payload, "social")["budget"] == "36000.00"  # v3's, not v2's
    assert carried.payload["messaging"] == "Winter deals, warmly wrapped."
    assert [c["what"] for c in carried.carry_collisions] == ["social budget and flights"]


def test_only_an_outdated_version_is_carried_forward(acme, acme_v1, people):
    v2 = draft(acme, people["alice"], changed(WINTER, new_messaging))
    with pytest.raises(PlanStateError):
        plan_version_carry_forward(version=v2, actor=Actor.for_user(people["alice"]))


def test_carrying_forward_twice_returns_the_same_draft(competing, people):
    v2, _v3, _ = competing
    first = plan_version_carry_forward(version=v2, actor=Actor.for_user(people["alice"]))
    second = plan_version_carry_forward(version=v2, actor=Actor.for_user(people["alice"]))
    assert first.pk == second.pk


def test_the_editor_and_the_submit_step_say_another_version_of_the_track_is_open(
    client, acme, acme_v1, people
):
    v2 = draft(acme, people["alice"], changed(WINTER, new_messaging))
    v3 = plan_version_submit(
        version=draft(acme, people["paul"], changed(WINTER, social_up)),
        actor=Actor.for_user(people["paul"]),
    )
    client.force_login(people["alice"])
    editor = text_of(client.get(reverse("plans:edit", args=["acme", v2.number])).content.decode())
    assert f"v{v3.number} (pending approval, by paul) is also built on v1" in editor
    page = text_of(client.get(reverse("plans:version", args=["acme", v2.number])).content.decode())
    assert f"v{v3.number} (pending approval, by paul) is also built on v1" in page
    assert "whichever is approved first outdates the other" in page


def test_the_outdated_version_page_offers_to_carry_it_forward(client, competing, people):
    v2, v3, _ = competing
    client.force_login(people["alice"])
    page = text_of(client.get(reverse("plans:version", args=["acme", v2.number])).content.decode())
    assert "Outdated" in page
    assert f"v{v3.number} was approved" in page
    response = client.post(reverse("plans:carry_forward", args=["acme", v2.number]))
    carried = PlanVersion.objects.get(carried_from=v2)
    assert response.status_code == 302
    assert response["Location"] == reverse("plans:version", args=["acme", carried.number])
    page = text_of(client.get(response["Location"]).content.decode())
    assert f"Carried forward from v{v2.number}" in page


def test_the_plans_list_and_the_versions_name_every_approver_with_their_role(
    client, competing, people
):
    """Issue 18 item 6: v3 was approved by a planner (and its other slots), never only by the
    last person to approve it."""
    _v2, v3, _tickets = competing
    approvers = [
        f"{d.user.get_username()} ({d.role})"
        for d in TicketDecision.objects.filter(
            ticket__subject_type="plan_version",
            ticket__subject_id=str(v3.number),
            verdict="approve",
        ).order_by("created_at", "pk")
    ]
    assert "pete (planner)" in approvers
    client.force_login(people["alice"])
    for url in (
        reverse("plans:overview", args=["acme"]),
        reverse("plans:timeline", args=["acme", "always_on"]),
    ):
        page = text_of(client.get(url).content.decode())
        assert f"by {', '.join(approvers)}" in page, url


def test_a_version_legal_reviewed_is_not_named_approved_by_legal_alone(
    client, acme, acme_v1, people, make_member
):
    """New messaging opens a compliance review (planner and legal) beside the A5: the Plans list
    names the planner who approved it too, with each role, not only the last approver."""
    people = {**people, Role.LEGAL: make_member("lena", acme, Role.LEGAL)}
    v2 = draft(acme, people["paul"], changed(WINTER, new_messaging), reason="winter wording")
    v2 = approve(plan_version_submit(version=v2, actor=Actor.for_user(people["paul"])), people)
    roles = set(
        TicketDecision.objects.filter(
            ticket__subject_type="plan_version",
            ticket__subject_id=str(v2.number),
            verdict="approve",
        ).values_list("role", flat=True)
    )
    assert {"planner", "legal"} <= roles
    client.force_login(people["alice"])
    page = text_of(client.get(reverse("plans:overview", args=["acme"])).content.decode())
    assert "pete (planner)" in page and "lena (legal)" in page
