"""A new track's first version reads as new (issue 18 item 6): its diff and its A1 ticket never
say "removed → added", every amount carries its currency, every date is in words."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils.html import strip_tags

from approvals.models import Ticket
from audit.actors import Actor
from plans.services import plan_version_create_draft, plan_version_submit
from tests.plans.plan_samples import winter_plan

pytestmark = pytest.mark.django_db


def words(html: str) -> str:
    return " ".join(strip_tags(html).split())


@pytest.fixture
def first_version(acme, alice):
    version = plan_version_create_draft(
        tenant=acme,
        track_key="branding",
        kind="track_draft",
        payload=winter_plan(),
        actor=Actor.for_user(alice),
        reason="a branding track for the winter",
    )
    return plan_version_submit(version=version, actor=Actor.for_user(alice))


def test_a_first_version_and_its_ticket_read_as_new_with_currency_and_dates_in_words(
    client, acme, alice, first_version, make_member
):
    client.force_login(make_member("pete", acme, "planner"))
    tickets = Ticket.objects.filter(subject_id=str(first_version.number), status="open")
    assert tickets.exists()
    for url in [
        reverse("plans:version", args=["acme", first_version.number]),
        *[reverse("ticket", args=[t.public_id]) for t in tickets],
    ]:
        html = client.get(url).content.decode()
        raw_free = re.sub(r"<details class=\"raw\">.*?</details>", "", html, flags=re.S)
        text = words(raw_free)
        assert "€" in text, url
        assert "removed" not in text.lower(), url
        assert not re.search(r"(?<![€\d.,])\b\d{1,3}(,\d{3})+(\.\d+)?\b(?!\s*%)", text), (
            url,
            re.findall(r".{30}(?<![€\d.,])\b\d{1,3},\d{3}.{10}", text),
        )
        assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text), (
            url,
            re.findall(r".{40}\b20\d\d-\d\d-\d\d\b.{10}", text),
        )
