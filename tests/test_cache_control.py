"""What a person sees signed in, and every export, is never kept by a browser or a proxy cache:
`Cache-Control: no-store` (issue 14)."""

from __future__ import annotations

import pytest

from approvals.models import Ticket
from tenants.models import Role
from tests.approvals.factories import open_ticket

pytestmark = pytest.mark.django_db

TRACK = "/t/acme/plans/tracks/always_on"


@pytest.fixture
def operator(client, acme, acme_v1, make_member):
    client.force_login(make_member("otto", acme, Role.OPERATOR))
    return client


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/t/acme/audit/",
        f"{TRACK}/",
        f"{TRACK}/optimization/",
        f"{TRACK}/weekly/",
        "/t/acme/metrics/",
        "/t/acme/runs/",
        "/t/acme/plans/",
    ],
)
def test_an_authenticated_page_is_not_stored(operator, url):
    response = operator.get(url)
    assert response.status_code == 200, url
    assert no_store(response), url


def test_a_ticket_page_and_a_refusal_are_not_stored(operator, acme):
    ticket: Ticket = open_ticket(acme, "A3")
    assert no_store(operator.get(f"/tickets/{ticket.public_id}/"))
    assert no_store(operator.get("/t/acme/settings/policy/"))  # a 403 in the layout


@pytest.mark.parametrize(
    "url",
    [
        "/t/acme/audit/export.csv",
        "/t/acme/audit/export.jsonl",
        f"{TRACK}/optimization/export.csv",
        f"{TRACK}/weekly.csv",
        "/t/acme/runs/export.csv",
        "/t/acme/metrics/rollbacks.csv",
        "/metrics/rollbacks.csv",
        "/exports/inbox.csv",
    ],
)
def test_every_export_is_not_stored(operator, url):
    response = operator.get(url)
    assert response.status_code == 200, url
    assert no_store(response), url


def test_the_portal_is_not_stored(client, acme, acme_v1, make_member):
    client.force_login(make_member("carla", acme, Role.CLIENT))
    for url in ["/portal/", "/portal/reports/", "/portal/reports/acme/always_on/"]:
        response = client.get(url)
        assert (response.status_code, no_store(response)) == (200, True), url


def test_django_admin_is_not_stored(client, acme, make_member):
    client.force_login(make_member("ada", acme, Role.ADMIN, is_staff=True))
    response = client.get("/admin/")
    assert (response.status_code, no_store(response)) == (200, True)
