"""Login, logout and the tenant switcher."""

import pytest
from django.urls import reverse

from tenants.models import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_with_the_right_password_goes_to_the_dashboard(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200


def test_login_with_a_wrong_password_shows_an_error_and_logs_nobody_in(client, alice):
    response = client.post("/accounts/login/", {"username": "alice", "password": "nope"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Please enter a correct username and password" in page
    assert 'value="alice"' in page
    assert "_auth_user_id" not in client.session


def test_login_follows_a_local_next_but_never_an_outside_one(client, alice, acme):
    data = {"username": "alice", "password": PASSWORD}
    local = client.post(f"/accounts/login/?next=/t/{acme.slug}/audit/", data)
    assert local.url == f"/t/{acme.slug}/audit/"
    client.logout()
    outside = client.post("/accounts/login/?next=https://evil.example/", data)
    assert outside.url == reverse("dashboard")


def test_logout_is_a_post_and_ends_the_session(client, alice):
    client.login(username="alice", password=PASSWORD)
    assert client.get("/accounts/logout/").status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response.url == reverse("login")
    assert "_auth_user_id" not in client.session


def test_the_header_shows_the_tenant_the_user_and_a_logout_button(client, alice):
    client.login(username="alice", password=PASSWORD)
    page = client.get(reverse("dashboard")).content.decode()
    assert 'data-testid="tenant-name">Acme Retail<' in page
    assert "alice" in page
    assert 'action="/accounts/logout/"' in page
    assert "tenant-switch" not in page  # one tenant: no switcher


# --- Tenant switcher ----------------------------------------------------------------------------
@pytest.fixture
def two_tenant_planner(acme, globex, alice, make_member):
    make_member("alice", globex, Role.PLANNER)
    return alice


def test_a_person_in_several_tenants_gets_the_switcher(client, two_tenant_planner):
    client.login(username="alice", password=PASSWORD)
    page = client.get(reverse("dashboard")).content.decode()
    assert 'id="tenant-switch"' in page
    assert "Acme Retail · Planner" in page
    assert "Globex Health · Planner" in page


def test_switching_changes_the_current_tenant(client, two_tenant_planner, globex):
    client.login(username="alice", password=PASSWORD)
    response = client.post(reverse("tenant_switch"), {"tenant": "globex", "next": "/"})
    assert response.url == "/"
    assert client.session["tenant_id"] == globex.pk
    page = client.get(reverse("dashboard")).content.decode()
    assert f'href="/t/{globex.slug}/audit/"' in page


def test_switching_to_a_tenant_the_person_is_not_in_is_404(client, acme, globex, alice):
    client.login(username="alice", password=PASSWORD)
    response = client.post(reverse("tenant_switch"), {"tenant": "globex"})
    assert response.status_code == 404
    assert client.session.get("tenant_id") != globex.pk


def test_switching_needs_a_post(client, two_tenant_planner):
    client.login(username="alice", password=PASSWORD)
    assert client.get(reverse("tenant_switch"), {"tenant": "globex"}).status_code == 405


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        pytest.param("/accounts/login/", "/accounts/login/", id="local-path"),
        pytest.param("https://evil.example/", "/", id="other-host"),
        pytest.param("//evil.example/", "/", id="scheme-relative"),
        pytest.param("/\\evil.example/", "/", id="backslash-trick"),
        pytest.param("javascript:alert(1)", "/", id="javascript"),
        pytest.param("/t/acme/audit/", "/", id="a-page-of-the-previous-tenant"),
        pytest.param("", "/", id="none"),
        # Not paths: redirect() once read these as URL names (NoReverseMatch, a 500).
        pytest.param("abc", "/", id="a-word"),
        pytest.param("dashboard", "/", id="a-url-name"),
        pytest.param("audit:log", "/", id="a-namespaced-url-name"),
        pytest.param("accounts/login/", "/", id="a-relative-path"),
        pytest.param("../admin/", "/", id="dot-dot"),
        pytest.param(" /accounts/login/", "/", id="leading-space"),
        pytest.param("/notifications/?unread=1", "/notifications/?unread=1", id="with-a-query"),
    ],
)
def test_the_switcher_never_redirects_off_site(client, two_tenant_planner, next_url, expected):
    client.login(username="alice", password=PASSWORD)
    response = client.post(reverse("tenant_switch"), {"tenant": "globex", "next": next_url})
    assert response.status_code == 302
    assert response.url == expected


def test_switching_to_a_tenant_where_one_is_a_client_goes_to_the_portal(
    client, acme, globex, alice, make_member
):
    make_member("alice", globex, Role.CLIENT)
    client.login(username="alice", password=PASSWORD)
    response = client.post(reverse("tenant_switch"), {"tenant": "globex"})
    assert response.url == reverse("portal:home")
