"""The client portal (seed 003 "Client-visible approvals"): approve budget increases and creative
themes, reject proposed replans with a reason, decision history; never internal tickets, never
another tenant's."""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.models import Ticket, TicketDecision, TicketStatus
from approvals.services import ticket_decide
from audit.actors import Actor
from audit.models import AuditEvent
from plans.services import plan_version_create_draft, plan_version_import_approved
from plans.summary import version_client_title
from tenants.models import Role
from tests.conftest import TEST_ACTOR
from tests.plans.plan_samples import changed, winter_plan

BUDGET_DIFF = {
    "summary": ["Search budget up 12% (€40,000 → €44,800) from 1 Dec"],
    "budget_table": {
        "currency": "EUR",
        "columns": ["Channel", "Before", "After"],
        "rows": [["search", 40000, 44800]],
        "totals": ["Total", 40000, 44800],
    },
}


@pytest.fixture
def carol(acme, make_member):
    """Carol is acme's client."""
    return make_member("carol", acme, Role.CLIENT)


def proposed_replan(acme, make_ticket) -> Ticket:
    """A replan draft of acme's always-on plan (TikTok added) and its A5, titled as the portal
    names it: what the client is asked comes from the version's kind, not from a title."""
    plan_version_import_approved(
        tenant=acme,
        track_key="always_on",
        kind="initial",
        payload=winter_plan(),
        actor=TEST_ACTOR,
        approved_by="acme's previous agency",
    )
    draft = plan_version_create_draft(
        tenant=acme,
        track_key="always_on",
        kind="replan",
        payload=changed(winter_plan(), add_tiktok),
        actor=TEST_ACTOR,
    )
    return make_ticket(
        acme,
        "A5",
        title=version_client_title(track_key="always_on", kind="replan", effective="2026-11-01"),
        subject_type="plan_version",
        subject_id=str(draft.number),
        plan_version=draft.number,
        client_visible=True,
    )


def add_tiktok(plan: dict) -> None:
    plan["channels"].append(
        {
            "channel": "tiktok",
            "platform": "tiktok_ads",
            "budget": 5000,
            "flights": [{"start": "2026-11-01", "end": "2026-11-30", "budget": 5000}],
        }
    )


@pytest.fixture
def items(acme, globex, alice, make_ticket):
    return {
        "budget": make_ticket(
            acme,
            "A5",
            title="Budget increase for search",
            plan_version=12,
            required_roles=["planner", "client"],
            diff=BUDGET_DIFF,
        ),
        "creative": make_ticket(
            acme,
            "A7",
            title="Winter creative theme",
            required_roles=["planner", "legal", "client"],
        ),
        "replan": proposed_replan(acme, make_ticket),
        "internal_a4": make_ticket(acme, "A4", title="DNS access", client_visible=False),
        "a6": make_ticket(acme, "A6", title="Manual override"),
        "a8": make_ticket(acme, "A8", title="Loop exhausted", run_id="r-1"),
        "a9": make_ticket(acme, "A9", title="Cost guard tripped", run_id="r-2"),
        "other_tenant": make_ticket(
            globex, "A5", title="Globex budget", required_roles=["planner", "client"]
        ),
    }


def test_the_portal_lists_what_waits_for_the_client_with_its_summary_and_budget_table(
    client, carol, items
):
    client.force_login(carol)

    page = client.get(reverse("portal:home")).content.decode()

    for visible in ("budget", "creative", "replan"):
        assert items[visible].title in page
    assert "Search budget up 12% (€40,000 → €44,800) from 1 Dec" in page
    assert ">€44,800<" in page
    for hidden in ("internal_a4", "a6", "a8", "a9", "other_tenant"):
        assert items[hidden].title not in page
        assert items[hidden].public_id not in page
    assert "Budget increase" in page and "Creative theme" in page and "Proposed replan" in page


@pytest.mark.parametrize("hidden", ["internal_a4", "a6", "a8", "a9", "other_tenant"])
def test_a_client_gets_a_404_for_internal_and_other_tenants_tickets(client, carol, items, hidden):
    client.force_login(carol)
    public_id = items[hidden].public_id

    assert client.get(reverse("portal:item", kwargs={"public_id": public_id})).status_code == 404
    assert client.get(reverse("ticket", kwargs={"public_id": public_id})).status_code == 404
    decide = reverse("portal:item_decide", kwargs={"public_id": public_id})
    assert client.post(decide, {"verdict": "approve"}).status_code == 404
    assert not TicketDecision.objects.exists()


def test_a_client_approves_a_budget_increase(client, carol, alice, items):
    ticket_decide(ticket=items["budget"], actor=Actor.for_user(alice), verdict="approve")
    client.force_login(carol)

    response = client.post(
        reverse("portal:item_decide", kwargs={"public_id": items["budget"].public_id}),
        {"verdict": "approve"},
        follow=True,
    )

    decision = TicketDecision.objects.get(ticket=items["budget"], user=carol)
    assert (decision.role, decision.verdict) == ("client", "approve")
    assert Ticket.objects.get(pk=items["budget"].pk).status == TicketStatus.APPROVED
    page = response.content.decode()
    # The decision quoted back: what was approved, in the words the client was shown.
    assert (
        "Thank you. You approved Budget increase for search — “Search budget up 12% "
        "(€40,000 → €44,800) from 1 Dec”. It is approved." in page
    )
    assert AuditEvent.objects.filter(
        resource_id=items["budget"].public_id, action="ticket.decided", actor_id=str(carol.pk)
    ).exists()


def test_a_client_approves_a_creative_theme_while_legal_still_has_to(client, carol, items):
    client.force_login(carol)

    client.post(
        reverse("portal:item_decide", kwargs={"public_id": items["creative"].public_id}),
        {"verdict": "approve"},
    )

    ticket = Ticket.objects.get(pk=items["creative"].pk)
    assert ticket.status == TicketStatus.OPEN
    assert ticket.decisions.get().role == "client"


def test_a_proposed_replan_can_only_be_rejected_and_only_with_a_reason(client, carol, items):
    client.force_login(carol)
    item_url = reverse("portal:item", kwargs={"public_id": items["replan"].public_id})
    decide = reverse("portal:item_decide", kwargs={"public_id": items["replan"].public_id})

    page = client.get(item_url).content.decode()
    first_press = client.post(decide, {"verdict": "reject", "reason": ""})
    without_reason = client.post(decide, {"verdict": "reject", "reason": "  ", "confirm": "1"})
    assert not TicketDecision.objects.exists()  # nothing is written before a confirmed reason
    with_reason = client.post(
        decide, {"verdict": "reject", "reason": "TikTok is not for us.", "confirm": "1"}
    )

    assert "Reject proposed replan" in page and "Approve proposed replan" not in page
    assert first_press.status_code == 200
    assert "Confirm: reject proposed replan" in first_press.content.decode()
    assert without_reason.status_code == 422
    assert "Please tell us why you reject it." in without_reason.content.decode()
    assert with_reason.status_code == 302
    ticket = Ticket.objects.get(pk=items["replan"].pk)
    assert ticket.status == TicketStatus.REJECTED
    assert ticket.decisions.get().comment == "TikTok is not for us."


def test_a_client_cannot_approve_what_only_the_team_approves(client, carol, items):
    client.force_login(carol)

    response = client.post(
        reverse("portal:item_decide", kwargs={"public_id": items["replan"].public_id}),
        {"verdict": "approve"},
    )

    assert response.status_code == 403
    assert "Nothing was changed." in response.content.decode()
    assert not TicketDecision.objects.exists()


def test_the_history_lists_the_clients_own_decisions(client, carol, items):
    client.force_login(carol)
    client.post(
        reverse("portal:item_decide", kwargs={"public_id": items["replan"].public_id}),
        {"verdict": "reject", "reason": "Not now.", "confirm": "1"},
    )

    page = client.get(reverse("portal:history")).content.decode()

    assert items["replan"].title in page
    assert "Not now." in page
    assert "Rejected" in page


def test_a_client_opening_a_visible_ticket_on_the_dashboard_is_sent_to_the_portal(
    client, carol, items
):
    client.force_login(carol)

    response = client.get(reverse("ticket", kwargs={"public_id": items["budget"].public_id}))

    assert response["Location"] == reverse(
        "portal:item", kwargs={"public_id": items["budget"].public_id}
    )


def test_an_item_leaves_waiting_for_you_the_moment_the_client_has_decided(client, carol, items):
    client.force_login(carol)
    creative = items["creative"]  # planner, legal and client

    client.post(
        reverse("portal:item_decide", kwargs={"public_id": creative.public_id}),
        {"verdict": "approve"},
    )

    assert Ticket.objects.get(pk=creative.pk).status == TicketStatus.OPEN  # the team still has to
    home = client.get(reverse("portal:home")).content.decode()
    waiting, with_team = home.split("<h1>Waiting for you</h1>")[1].split("With your team")
    assert creative.title not in waiting
    assert creative.title in with_team and "you approved it" in with_team
    page = client.get(reverse("portal:item", kwargs={"public_id": creative.public_id}))
    text = page.content.decode()
    assert 'value="reject"' not in text and 'value="approve"' not in text
    assert "You have decided; your account team is finishing this one." in text


# Committed for real: the message says the team was told only once the decision committed and
# the team was told (notifications' outbox, after commit).
@pytest.mark.django_db(transaction=True)
def test_a_rejection_is_confirmed_and_quoted_back_with_its_reason(client, carol, items):
    client.force_login(carol)
    decide = reverse("portal:item_decide", kwargs={"public_id": items["budget"].public_id})

    step = client.post(decide, {"verdict": "reject"}).content.decode()
    done = client.post(
        decide, {"verdict": "reject", "reason": "Too much before Christmas.", "confirm": "1"}
    )
    home = client.get(done["Location"]).content.decode()

    assert "You are about to reject <strong>Budget increase for search</strong>" in step
    assert "Confirm: reject budget increase" in step
    assert (
        "Thank you. You rejected Budget increase for search — “Search budget up 12% "
        "(€40,000 → €44,800) from 1 Dec”. Your reason: “Too much before Christmas.” Your account "
        "team has been told." in home
    )
    assert Ticket.objects.get(pk=items["budget"].pk).status == TicketStatus.REJECTED
