"""Issue 16 items 2 and 3: the client approves what will be applied, and a hold holds.

The defects of the demo, written first: an operator approves €330 instead of €345 and the portal
still asks for (and thanks for) €345; *Pause all spend* with no reason pauses everything at one
click; a client's approval applies a change set during the hold; a rollback applies during the
hold."""

from __future__ import annotations

import uuid

import pytest
from django.urls import reverse

from approvals.models import Ticket, TicketStatus
from approvals.services import ticket_decide
from audit.actors import Actor
from config.errors import Conflict, DomainError
from optimization.models import AppliedChange, ChangeSet, ExecutionManifestEntry
from optimization.services import (
    ChangeSetRequest,
    change_set_approve_with_edit,
    change_set_rollback,
    change_set_submit,
    rollback_preview,
    track_hold_end,
    track_hold_start,
)
from plans.models import Track
from tenants.models import Role, TenantPolicy

pytestmark = pytest.mark.django_db
AGENT = Actor.service("optimizer")


@pytest.fixture
def strict(live):
    """Moves above 5% of a channel's live daily budget need an operator (and, as they raise
    spend, the client): search-brand €300 → €345 is +9% of search's €500."""
    TenantPolicy.objects.filter(tenant=live).update(auto_approve_optimization_under_pct=5)
    return live


def submit(tenant, *items):
    return change_set_submit(
        tenant=tenant,
        request=ChangeSetRequest(
            change_set_id=f"cs-{uuid.uuid4().hex[:10]}",
            track="always_on",
            items=list(items),
            agent="optimizer",
            reason="CPA is good",
        ),
        actor=AGENT,
    )


def budget(entity_id, before, after):
    return {"entity_id": entity_id, "field": "daily_budget", "before": before, "after": after}


def live_budget(entity_id) -> str:
    return ExecutionManifestEntry.objects.get(entity_id=entity_id).state["daily_budget"]


def ticket_of(change_set) -> Ticket:
    return Ticket.objects.get(public_id=change_set.ticket)


def track(tenant) -> Track:
    return Track.objects.get(tenant=tenant, key="always_on")


def actor(people, role) -> Actor:
    return Actor.for_user(people[role])


# --- Item 2: the client approves what will be applied ----------------------------------------
def test_the_portal_asks_for_the_smaller_move_the_operator_approved(strict, people, client):
    change_set = submit(strict, budget("search-brand", "300.00", "345.00"))
    ticket = ticket_of(change_set)
    assert ticket.required_roles == ["operator", "client"]
    change_set_approve_with_edit(
        change_set=change_set, actor=actor(people, Role.OPERATOR), approved={0: "330.00"}
    )
    client.force_login(people[Role.CLIENT])
    page = client.get(reverse("portal:item", args=[ticket.public_id])).content.decode()
    assert "+€30" in page and "€500 → €530" in page
    assert "€345" not in page and "+€45" not in page and "€545" not in page
    home = client.get(reverse("portal:home")).content.decode()
    assert "€530" in home and "€545" not in home

    answer = client.post(
        reverse("portal:item_decide", args=[ticket.public_id]), {"verdict": "approve"}, follow=True
    )
    thanks = answer.content.decode()
    assert "Thank you. You approved" in thanks
    assert "€530" in thanks and "€545" not in thanks
    assert live_budget("search-brand") == "330.00"
    history = client.get(reverse("portal:history")).content.decode()
    assert "€530" in history and "€545" not in history


def test_a_smaller_move_after_the_client_approved_keeps_their_approval_and_says_so(
    strict, people, client
):
    change_set = submit(strict, budget("search-brand", "300.00", "345.00"))
    ticket = ticket_of(change_set)
    ticket_decide(ticket=ticket, actor=actor(people, Role.CLIENT), verdict="approve")
    change_set_approve_with_edit(
        change_set=change_set, actor=actor(people, Role.OPERATOR), approved={0: "330.00"}
    )
    change_set.refresh_from_db()
    ticket.refresh_from_db()
    assert (change_set.status, ticket.status) == ("applied", TicketStatus.APPROVED)
    assert live_budget("search-brand") == "330.00"
    client.force_login(people[Role.CLIENT])
    page = client.get(reverse("portal:item", args=[ticket.public_id])).content.decode()
    assert "Your team approved a smaller move: +€30 instead of +€45" in page


def test_the_client_notification_names_the_amount_that_will_apply(strict, people):
    from approvals.presentation import subject_client_words

    change_set = submit(strict, budget("search-brand", "300.00", "345.00"))
    ticket = ticket_of(change_set)
    assert "€545" in subject_client_words(ticket).title
    change_set_approve_with_edit(
        change_set=change_set, actor=actor(people, Role.OPERATOR), approved={0: "330.00"}
    )
    words = subject_client_words(ticket)
    assert "€530" in words.title and "€545" not in words.title
    assert any("+€30" in sentence for sentence in words.summary)


def test_the_clients_weekly_report_names_the_move_that_will_apply(strict, people):
    from datetime import date

    from metrics.report import weekly_report

    change_set = submit(strict, budget("search-brand", "300.00", "345.00"))
    change_set_approve_with_edit(
        change_set=change_set, actor=actor(people, Role.OPERATOR), approved={0: "330.00"}
    )
    report = weekly_report(track=track(strict), week_start=date(2026, 11, 9), client_safe=True)
    (line,) = report.pending
    assert line.title == "Always-on plan: Search daily budget €500 → €530"
    internal = weekly_report(track=track(strict), week_start=date(2026, 11, 9), client_safe=False)
    assert internal.pending[0].title.startswith("Spend guardrail:")


# --- Item 3: a hold holds ----------------------------------------------------------------------
def test_pause_all_spend_needs_a_reason(live):
    with pytest.raises(DomainError) as refused:
        track_hold_start(track=track(live), actor=AGENT, reason="  ")
    assert refused.value.status == 422
    assert (
        not ExecutionManifestEntry.objects.filter(state__status="paused")
        .exclude(entity_id="search-new")
        .exists()
    )


def test_the_pause_page_asks_for_a_reason_and_a_confirmation(live, people, client):
    client.force_login(people[Role.OPERATOR])
    url = reverse("optimization:hold_start", args=[live.slug, "always_on"])
    empty = client.post(url, {"reason": ""})
    assert empty.status_code == 422
    assert "reason" in empty.content.decode().lower()
    first = client.post(url, {"reason": "Client asked to stop"})
    page = first.content.decode()
    assert first.status_code == 200
    # search-brand €300 + search-generic €200 + social €333.33 are live
    assert "3 entities" in page and "€833.33 a day" in page
    assert (
        not ExecutionManifestEntry.objects.filter(entity_id="search-brand")
        .filter(state__status="paused")
        .exists()
    )
    client.post(url, {"reason": "Client asked to stop", "confirm": "1"})
    assert ExecutionManifestEntry.objects.get(entity_id="search-brand").state["status"] == (
        "paused"
    )


def test_a_client_approval_during_the_hold_applies_nothing_until_resume(strict, people):
    change_set = submit(strict, budget("search-brand", "300.00", "345.00"))
    ticket = ticket_of(change_set)
    ticket_decide(ticket=ticket, actor=actor(people, Role.OPERATOR), verdict="approve")
    track_hold_start(track=track(strict), actor=actor(people, Role.OPERATOR), reason="stop")
    ticket_decide(ticket=ticket, actor=actor(people, Role.CLIENT), verdict="approve")
    change_set.refresh_from_db()
    assert change_set.status == "approved_waiting"
    assert "waiting for the hold to end" in change_set.get_status_display()
    assert live_budget("search-brand") == "300.00"
    assert not AppliedChange.objects.filter(change_set=change_set).exists()

    track_hold_end(track=track(strict), actor=actor(people, Role.OPERATOR))
    change_set.refresh_from_db()
    assert change_set.status == "applied"
    assert live_budget("search-brand") == "345.00"
    entry = ExecutionManifestEntry.objects.get(entity_id="search-brand")
    assert entry.state["status"] == "active"


def test_a_waiting_change_set_whose_entity_moved_is_refused_on_resume(strict, people):
    change_set = submit(strict, budget("search-brand", "300.00", "345.00"))
    ticket = ticket_of(change_set)
    hold = track_hold_start(track=track(strict), actor=actor(people, Role.OPERATOR), reason="x")
    for role in (Role.OPERATOR, Role.CLIENT):
        ticket_decide(ticket=ticket, actor=actor(people, role), verdict="approve")
    # Someone changes search-brand on the platform record while the hold lasts (a manifest sync).
    entry = ExecutionManifestEntry.objects.get(entity_id="search-brand")
    entry.state = {**entry.state, "daily_budget": "280.00"}
    entry.save()
    track_hold_end(track=track(strict), actor=actor(people, Role.OPERATOR))
    change_set.refresh_from_db()
    assert change_set.status == "stale"
    assert "search-brand" in change_set.status_reason
    assert live_budget("search-brand") == "280.00"
    assert hold.pk


def test_a_waiting_change_set_the_guardrails_now_refuse_is_refused_on_resume(strict, people):
    """Approved by the operator alone (the client's approval was not needed then); on resume
    today's policy asks the client too, so it is refused with the reason."""
    TenantPolicy.objects.filter(tenant=strict).update(client_must_approve_budget_increase=False)
    change_set = submit(strict, budget("search-brand", "300.00", "345.00"))
    track_hold_start(track=track(strict), actor=actor(people, Role.OPERATOR), reason="x")
    ticket_decide(
        ticket=ticket_of(change_set), actor=actor(people, Role.OPERATOR), verdict="approve"
    )
    change_set.refresh_from_db()
    assert change_set.status == "approved_waiting"
    TenantPolicy.objects.filter(tenant=strict).update(client_must_approve_budget_increase=True)
    track_hold_end(track=track(strict), actor=actor(people, Role.OPERATOR))
    change_set.refresh_from_db()
    assert change_set.status == "refused"
    assert "client" in change_set.status_reason
    assert live_budget("search-brand") == "300.00"


def test_a_rollback_during_the_hold_waits_for_the_resume(live, people):
    applied = submit(live, budget("search-brand", "300.00", "320.00"))
    assert applied.status == "applied"
    track_hold_start(track=track(live), actor=actor(people, Role.OPERATOR), reason="stop")
    rollback = change_set_rollback(change_set=applied, actor=actor(people, Role.OPERATOR))
    assert rollback.status == "approved_waiting"
    assert live_budget("search-brand") == "320.00"
    track_hold_end(track=track(live), actor=actor(people, Role.OPERATOR))
    rollback.refresh_from_db()
    assert rollback.status == "applied"
    assert live_budget("search-brand") == "300.00"


def test_the_rollback_preview_during_a_hold_reads_in_plain_words(live, people, client):
    applied = submit(live, budget("search-brand", "300.00", "320.00"))
    track_hold_start(track=track(live), actor=actor(people, Role.OPERATOR), reason="stop")
    preview = rollback_preview(change_set=applied)
    assert preview.possible and preview.verdict.status == "applied"  # judged as spend resumes
    assert preview.held.startswith("All spend on always_on is paused.")
    client.force_login(people[Role.OPERATOR])
    page = client.get(reverse("optimization:change_set", args=[live.slug, applied.change_set_id]))
    text = page.content.decode()
    assert "changes nothing on the platforms until spend resumes" in text
    assert "within them, it waits for the hold to end." in text


def test_a_second_hold_is_still_refused(live, people):
    track_hold_start(track=track(live), actor=actor(people, Role.OPERATOR), reason="stop")
    with pytest.raises(Conflict):
        track_hold_start(track=track(live), actor=actor(people, Role.OPERATOR), reason="again")
    assert ChangeSet.objects.filter(kind="hold").count() == 1
