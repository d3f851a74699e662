"""Every dashboard and portal URL × every role × own or other tenant.

Another tenant's ticket is a 404 (never a 403: that would say it exists); a client sees the portal
and only client-visible items; internal people see the dashboard and not the portal.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from approvals.models import TicketComment, TicketDecision
from tenants.models import Role

ROLES = [Role.PLANNER, Role.OPERATOR, Role.ADMIN, Role.LEGAL, Role.CLIENT]
INTERNAL = [Role.PLANNER, Role.OPERATOR, Role.ADMIN, Role.LEGAL]


@pytest.fixture
def world(acme, globex, make_member, make_ticket):
    """acme's tickets, and one person per role in acme ("own") and in globex ("other")."""
    people = {}
    for role in ROLES:
        people[("own", role)] = make_member(f"acme-{role}", acme, role)
        people[("other", role)] = make_member(f"globex-{role}", globex, role)
    tickets = {
        # Internal: an operator's spend guardrail breach.
        "internal": make_ticket(acme, "A3", title="Search over guardrail", change_set_id="cs-1"),
        # Client-visible: a budget increase the client must approve too.
        "client_visible": make_ticket(
            acme, "A5", title="Budget up 12%", plan_version=12, required_roles=["planner", "client"]
        ),
    }
    return people, tickets


def _url(name: str, ticket) -> str:
    if ticket is None:
        return reverse(name)
    return reverse(name, kwargs={"public_id": ticket.public_id})


# (url name, ticket, method, POST data, {role: status for a member of the ticket's tenant})
# A member of another tenant gets a 404 on every ticket URL.
TICKET_URLS = [
    ("ticket", "internal", "get", None, {**dict.fromkeys(INTERNAL, 200), Role.CLIENT: 404}),
    (
        "ticket",
        "client_visible",
        "get",
        None,
        {**dict.fromkeys(INTERNAL, 200), Role.CLIENT: 302},  # the client is sent to the portal
    ),
    (
        "ticket_decide",
        "internal",
        "post",
        {"verdict": "approve"},
        {
            Role.OPERATOR: 302,  # A3 needs the operator: approved, back to the ticket
            Role.PLANNER: 403,
            Role.ADMIN: 403,
            Role.LEGAL: 403,
            Role.CLIENT: 404,
        },
    ),
    (
        "ticket_comment",
        "internal",
        "post",
        {"body": "Looks fine"},
        {**dict.fromkeys(INTERNAL, 302), Role.CLIENT: 404},
    ),
    (
        "portal:item",
        "client_visible",
        "get",
        None,
        {**dict.fromkeys(INTERNAL, 404), Role.CLIENT: 200},
    ),
    ("portal:item", "internal", "get", None, dict.fromkeys(ROLES, 404)),
    (
        "portal:item_decide",
        "client_visible",
        "post",
        {"verdict": "approve"},
        {**dict.fromkeys(INTERNAL, 404), Role.CLIENT: 302},
    ),
    (
        "portal:item_decide",
        "internal",
        "post",
        {"verdict": "reject", "reason": "No"},
        dict.fromkeys(ROLES, 404),
    ),
]

TICKET_CASES = [
    pytest.param(
        name,
        which,
        method,
        data,
        role,
        tenant,
        expected.get(role) if tenant == "own" else 404,
        id=f"{method}-{name}-{which}-{role}-{tenant}",
    )
    for name, which, method, data, expected in TICKET_URLS
    for role in ROLES
    for tenant in ("own", "other")
]


@pytest.mark.parametrize(
    ("name", "which", "method", "data", "role", "tenant", "expected"), TICKET_CASES
)
def test_ticket_urls_answer_each_role_of_each_tenant(
    client, world, name, which, method, data, role, tenant, expected
):
    people, tickets = world
    ticket = tickets[which]
    client.force_login(people[(tenant, role)])
    decisions, comments = TicketDecision.objects.count(), TicketComment.objects.count()

    response = getattr(client, method)(_url(name, ticket), data or {})

    assert response.status_code == expected
    if expected != 302:
        # Whatever was refused wrote nothing.
        assert TicketDecision.objects.count() == decisions
        assert TicketComment.objects.count() == comments
    if expected == 404:
        assert ticket.title not in response.content.decode()


# List pages: (url name, {role: status}); "other" people must not see acme's tickets there.
LIST_URLS = [
    ("dashboard", {**dict.fromkeys(INTERNAL, 200), Role.CLIENT: 302}),
    ("portal:home", {**dict.fromkeys(INTERNAL, 404), Role.CLIENT: 200}),
    ("portal:history", {**dict.fromkeys(INTERNAL, 404), Role.CLIENT: 200}),
]


@pytest.mark.parametrize(
    ("name", "role", "tenant", "expected"),
    [
        pytest.param(name, role, tenant, expected[role], id=f"{name}-{role}-{tenant}")
        for name, expected in LIST_URLS
        for role in ROLES
        for tenant in ("own", "other")
    ],
)
def test_list_pages_answer_each_role_and_show_only_their_tenants_tickets(
    client, world, name, role, tenant, expected
):
    people, tickets = world
    client.force_login(people[(tenant, role)])

    response = client.get(reverse(name))

    assert response.status_code == expected
    page = response.content.decode()
    if tenant == "other":
        assert all(t.public_id not in page and t.title not in page for t in tickets.values())
    elif expected == 200 and name == "dashboard":
        assert all(t.public_id in page for t in tickets.values())
    elif expected == 200 and name == "portal:home":
        assert tickets["client_visible"].title in page
        assert tickets["internal"].title not in page


@pytest.mark.parametrize("name", ["dashboard", "portal:home", "portal:history"])
def test_anonymous_people_are_sent_to_log_in(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
