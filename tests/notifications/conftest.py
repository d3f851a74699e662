"""acme's team for the notification tests, each with an e-mail address:

alice, peter   planners         paul, pia   operators        olga   admin
lena           legal            carol       client
"""

from __future__ import annotations

import pytest

from notifications.models import Notification
from notifications.outbox import outbox_process
from tenants.models import Role


@pytest.fixture
def team(acme, alice, make_member):
    alice.email = "alice@acme.test"
    alice.save(update_fields=["email"])
    people = {"alice": alice}
    for name, role in [
        ("peter", Role.PLANNER),
        ("paul", Role.OPERATOR),
        ("pia", Role.OPERATOR),
        ("olga", Role.ADMIN),
        ("lena", Role.LEGAL),
        ("carol", Role.CLIENT),
    ]:
        people[name] = make_member(name, acme, role, email=f"{name}@acme.test")
    return people


def told() -> dict[str, str]:
    """Fan the outbox out (after commit, as production does) and return {username: kind} of
    every notification so far."""
    outbox_process()
    return {
        n.user.get_username(): n.kind
        for n in Notification.objects.select_related("user").order_by("id")
    }


@pytest.fixture
def fan_out():
    return told


@pytest.fixture
def make_ticket(db):
    from tests.approvals.factories import open_ticket

    return open_ticket
