"""The metrics page, and the strict Content Security Policy every page is sent with."""

import pytest
from django.urls import reverse

from tenants.models import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def planner_client(client, alice):
    client.login(username="alice", password=PASSWORD)
    return client


def test_the_metrics_page_is_the_tenants_ops_metrics(planner_client, acme):
    page = planner_client.get(reverse("metrics:tenant", args=[acme.slug])).content.decode()
    assert "<title>Metrics · Acme Retail · Human Touch</title>" in page
    assert "Time to approve" in page
    assert 'aria-current="page">Metrics' in page


def test_the_nav_links_every_section_of_the_current_tenant(planner_client, acme):
    page = planner_client.get(reverse("dashboard")).content.decode()
    for href in ["/t/acme/plans/", "/t/acme/runs/", "/t/acme/metrics/", "/t/acme/audit/"]:
        assert f'href="{href}"' in page


@pytest.mark.parametrize(
    "url",
    ["/accounts/login/", "/", "/t/acme/metrics/", "/t/acme/runs/", "/t/acme/settings/policy/"],
)
def test_every_page_carries_a_strict_content_security_policy(client, acme, make_member, url):
    make_member("root", acme, Role.ADMIN)
    if url != "/accounts/login/":
        client.login(username="root", password=PASSWORD)
    response = client.get(url)
    assert response.status_code == 200
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response["Content-Security-Policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    page = response.content.decode()
    # No inline script or style: the policy would block them.
    assert "<script>" not in page
    assert " style=" not in page
    assert 'hx-headers=\'{"X-CSRFToken": "' in page
