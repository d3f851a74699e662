"""The client portal speaks the client's language (issue #10, item 3): every portal page of the
demo world, as each client sees it, is free of the team's internal words — track keys, version
numbers, "revise v5", guardrails and thresholds, field paths, agent names, ticket ids."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from approvals.models import Ticket
from tenants.models import Membership, Role

# Words and shapes a client should never read: each is how the team or the code names something.
INTERNAL_WORDS = [
    "always_on",
    "event_",
    "revise v",
    "replan v",
    "guardrail",
    "threshold",
    "channels.",
    "daily_budget",
    "creative_themes",
    "bm_access",
    "agent",
    "manifest-sync",
    "change set",
    "demo-",
    "run-",
    "veto",
    "legal",
    "planner",
    "operator",
    "Raw diff",
    "Open",
]
INTERNAL_SHAPES = {
    "a snake_case key": re.compile(r"\b[a-z]+_[a-z_]+\b"),
    "a version number": re.compile(r"\bv\d+\b"),
    "a ticket id": re.compile(r"\bA[1-9]-[0-9A-Z]{8}\b"),
    "a ticket type": re.compile(r"\bA[1-9]\b"),
}


def visible_text(html: str) -> str:
    """What a person reads: no markup, scripts, styles or attribute values."""
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    return re.sub(r"\s+", " ", unescape(re.sub(r"(?s)<[^>]+>", " ", html)))


def internal_words_in(text: str) -> list[str]:
    found = [word for word in INTERNAL_WORDS if word in text]
    found += [
        f"{name}: {match.group(0)}"
        for name, pattern in INTERNAL_SHAPES.items()
        for match in pattern.finditer(text)
    ]
    return found


@pytest.fixture
def demo_world(db):
    call_command("seed_demo")


def portal_pages(client, user) -> dict[str, str]:
    """Every portal page the client can reach, by path: home, history, each item and, where
    they may reject, the confirmation step of a rejection."""
    client.force_login(user)
    tenants = Membership.objects.filter(user=user, role=Role.CLIENT).values("tenant")
    pages = {}
    for path in (reverse("portal:home"), reverse("portal:history")):
        pages[path] = client.get(path).content.decode()
    for ticket in Ticket.objects.filter(tenant__in=tenants, client_visible=True):
        path = reverse("portal:item", kwargs={"public_id": ticket.public_id})
        pages[path] = client.get(path).content.decode()
        if 'value="reject"' in pages[path]:
            decide = reverse("portal:item_decide", kwargs={"public_id": ticket.public_id})
            pages[f"{decide} (confirm)"] = client.post(
                decide, {"verdict": "reject"}
            ).content.decode()
    return pages


@pytest.mark.parametrize("username", ["client", "globex-client"])
def test_no_portal_page_of_the_demo_world_shows_an_internal_word(client, demo_world, username):
    user = get_user_model().objects.get(username=username)

    pages = portal_pages(client, user)

    assert len(pages) >= 4
    problems = {
        path: found
        for path, html in pages.items()
        if (found := internal_words_in(visible_text(html)))
    }
    assert problems == {}


def test_the_scan_would_catch_the_words_the_portal_used_to_show():
    for old in (
        "Approve revise v5 for always_on",
        "Spend guardrail: demo-10-social-up on always_on",
        "above the client threshold of 0.00%",
        "channels.social.budget",
        "Requested by optimizer-agent",
        "Status: Open",
    ):
        assert internal_words_in(old), old


def test_the_demo_portal_names_tracks_changes_and_money_as_the_client_knows_them(
    client, demo_world
):
    client.force_login(get_user_model().objects.get(username="client"))

    home = visible_text(client.get(reverse("portal:home")).content.decode())

    assert "Always-on plan, December update" in home
    assert "Social budget up 12% (€30,000 → €33,600) from 1 Dec." in home
    assert "Always-on plan: Social daily budget €300 → €345" in home


def test_a_version_shows_the_client_its_new_wording_beside_the_old(
    client, acme, acme_v1, make_member
):
    from audit.actors import Actor
    from plans.services import plan_version_create_draft, plan_version_submit
    from tests.plans.plan_samples import changed, search_up_12_pct, winter_plan

    alice = make_member("alice", acme, Role.PLANNER)
    carol = make_member("carol", acme, Role.CLIENT)

    def search_up_and_new_words(plan):
        search_up_12_pct(plan)
        plan["messaging"] = "Warmer than ever: the winter sale goes on."

    draft = plan_version_create_draft(
        tenant=acme,
        track_key="always_on",
        kind="revise",
        payload=changed(winter_plan(), search_up_and_new_words),
        actor=Actor.for_user(alice),
        reason="search converts well",
    )
    plan_version_submit(version=draft, actor=Actor.for_user(alice))
    a5 = Ticket.objects.get(plan_version=draft.number, type="A5")
    client.force_login(carol)

    html = client.get(reverse("portal:item", kwargs={"public_id": a5.public_id})).content.decode()

    text = visible_text(html)
    assert "Always-on plan, December update" in text
    assert "Messaging Warm up for less: the winter sale is on. " in text
    assert "Warmer than ever: the winter sale goes on." in text
    assert internal_words_in(text) == []
