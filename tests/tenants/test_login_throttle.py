"""The login throttle (django-axes, tenants/throttle.py): a username is locked from an address
after repeated failures, an address after failures across many usernames, a pair that has
logged in before keeps working, a spoofed X-Forwarded-For gains nothing, lockouts are audited,
shown to the tenant's admins and liftable."""

from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from audit.models import AuditEvent
from tenants.models import KnownLoginAddress, LockoutKind, LoginLockout, Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LIMIT = 5  # settings.AXES_FAILURE_LIMIT's default
OFFICE = "203.0.113.7"
ELSEWHERE = "198.51.100.9"


def attempt(client, username, password, address=OFFICE, path="/accounts/login/", **headers):
    return client.post(
        path, {"username": username, "password": password}, REMOTE_ADDR=address, **headers
    )


def fail(client, username, times, address=OFFICE, **headers):
    for _ in range(times):
        response = attempt(client, username, "wrong-password", address, **headers)
        assert response.status_code in (200, 429)
    return response


def logs_in(client, username, address=OFFICE, path="/accounts/login/", **headers):
    client.logout()
    response = attempt(client, username, PASSWORD, address, path=path, **headers)
    return response.status_code == 302 and "_auth_user_id" in client.session


@pytest.fixture
def carol(acme, make_member):
    """Carol plans for acme too and works from the same office."""
    return make_member("carol", acme, Role.PLANNER)


@pytest.fixture
def acme_admin(acme, make_member):
    return make_member("ada", acme, Role.ADMIN)


def test_the_right_password_is_refused_after_five_wrong_ones_from_one_address(client, alice):
    fail(client, "alice", LIMIT - 1)
    assert logs_in(client, "alice")  # four typos, then the right one: fine (and forgotten)
    client.logout()
    fail(client, "alice", LIMIT)
    response = attempt(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert "Too many attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_lockout_is_recorded_once_and_audited_in_the_persons_tenant(client, alice, acme):
    fail(client, "alice", LIMIT + 3)
    attempt(client, "alice", PASSWORD)
    lockout = LoginLockout.objects.get()
    assert (lockout.kind, lockout.username, lockout.ip_address) == (
        LockoutKind.USERNAME,
        "alice",
        OFFICE,
    )
    assert lockout.failures == LIMIT
    events = AuditEvent.objects.filter(tenant=acme, action="login.locked_out")
    assert [(e.actor_id, e.data["username"], e.data["address"]) for e in events] == [
        ("login-throttle", "alice", OFFICE)
    ]


def test_one_persons_lockout_leaves_colleagues_and_other_addresses_alone(client, alice, carol):
    fail(client, "alice", LIMIT)
    assert logs_in(client, "carol")  # same office address, other username
    assert logs_in(client, "alice", address=ELSEWHERE)  # same username, other address
    assert not logs_in(client, "alice")


def test_an_address_spraying_many_usernames_is_locked_for_new_usernames(client, alice, carol):
    for n in range(10):  # settings.LOGIN_USERNAMES_PER_ADDRESS
        fail(client, f"guess{n}", 1, address=ELSEWHERE)
    assert not logs_in(client, "alice", address=ELSEWHERE)
    lockout = LoginLockout.objects.get(username="alice")
    assert lockout.kind == LockoutKind.ADDRESS
    assert LoginLockout.objects.filter(username="", kind=LockoutKind.ADDRESS).count() == 1
    assert not LoginLockout.objects.filter(username__startswith="guess").exists()
    assert logs_in(client, "carol", address=OFFICE)  # the office address is not affected


def test_a_pair_that_logged_in_before_keeps_working_while_its_address_is_locked(
    client, alice, carol
):
    assert logs_in(client, "alice")
    assert KnownLoginAddress.objects.filter(username="alice", ip_address=OFFICE).exists()
    client.logout()
    for n in range(12):
        fail(client, f"guess{n}", 1)
    assert logs_in(client, "alice")
    assert not logs_in(client, "carol")  # never logged in from here: locked with the address


def test_a_known_pair_is_still_locked_by_its_own_failures(client, alice):
    assert logs_in(client, "alice")
    client.logout()
    fail(client, "alice", LIMIT)
    assert not logs_in(client, "alice")


def test_a_spoofed_forwarded_for_gains_nothing_without_a_proxy(client, alice):
    for n in range(LIMIT):
        attempt(client, "alice", "wrong", HTTP_X_FORWARDED_FOR=f"10.9.9.{n}")
    assert not logs_in(client, "alice", HTTP_X_FORWARDED_FOR="10.8.8.8")
    assert set(LoginLockout.objects.values_list("ip_address", flat=True)) == {OFFICE}


@override_settings(PROXY_COUNT=1)
def test_a_spoofed_forwarded_for_gains_nothing_behind_one_proxy(client, alice):
    proxy = "10.0.0.2"  # the load balancer: REMOTE_ADDR, appending the client it saw
    for n in range(LIMIT):
        attempt(
            client, "alice", "wrong", address=proxy, HTTP_X_FORWARDED_FOR=f"1.1.1.{n}, {OFFICE}"
        )
    assert not logs_in(client, "alice", address=proxy, HTTP_X_FORWARDED_FOR=f"7.7.7.7, {OFFICE}")
    assert LoginLockout.objects.get().ip_address == OFFICE
    # Someone else behind the same proxy is someone else.
    assert logs_in(client, "alice", address=proxy, HTTP_X_FORWARDED_FOR=ELSEWHERE)


def test_django_admin_login_is_throttled_too(client, acme, make_member):
    make_member("ada", acme, Role.ADMIN, is_staff=True)
    for _ in range(LIMIT):
        attempt(client, "ada", "wrong", path="/admin/login/")
    response = attempt(client, "ada", PASSWORD, path="/admin/login/")
    assert response.status_code == 429
    assert LoginLockout.objects.get().username == "ada"


def test_a_lockout_ends_by_itself_after_the_cool_off(client, alice):
    fail(client, "alice", LIMIT)
    assert not logs_in(client, "alice")
    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        assert logs_in(client, "alice")


def test_the_tenants_admin_sees_the_lockout_and_lifts_it(client, alice, acme, acme_admin):
    fail(client, "alice", LIMIT)
    lockout = LoginLockout.objects.get()
    admin_client = client.__class__()
    admin_client.force_login(acme_admin)
    page = admin_client.get(f"/t/{acme.slug}/settings/lockouts/").content.decode()
    assert "alice" in page and OFFICE in page and "Locked until" in page
    assert f"Let alice log in from {OFFICE}" in page
    response = admin_client.post(f"/t/{acme.slug}/settings/lockouts/{lockout.pk}/lift/")
    assert response.status_code == 302
    lockout.refresh_from_db()
    assert lockout.lifted_by == acme_admin
    assert logs_in(client, "alice")
    lifted = AuditEvent.objects.get(tenant=acme, action="login.lockout_lifted")
    assert (lifted.actor_label, lifted.data["username"]) == ("ada", "alice")
    page = admin_client.get(f"/t/{acme.slug}/settings/lockouts/").content.decode()
    assert "Lifted by ada" in page


def test_lifting_an_address_lockout_lets_only_that_person_in(
    client, alice, carol, acme_admin, acme
):
    for n in range(10):
        fail(client, f"guess{n}", 1)
    assert not logs_in(client, "alice")
    assert not logs_in(client, "carol")
    admin_client = client.__class__()
    admin_client.force_login(acme_admin)
    lockout = LoginLockout.objects.get(username="alice")
    admin_client.post(f"/t/{acme.slug}/settings/lockouts/{lockout.pk}/lift/")
    assert logs_in(client, "alice")
    assert not logs_in(client, "carol")


def test_another_tenants_admin_neither_sees_nor_lifts_the_lockout(
    client, alice, globex, make_member
):
    fail(client, "alice", LIMIT)
    lockout = LoginLockout.objects.get()
    gadmin = make_member("gus", globex, Role.ADMIN)
    other = client.__class__()
    other.force_login(gadmin)
    assert "alice" not in other.get(f"/t/{globex.slug}/settings/lockouts/").content.decode()
    assert other.post(f"/t/{globex.slug}/settings/lockouts/{lockout.pk}/lift/").status_code == 404
    assert LoginLockout.objects.get().lifted_at is None


def test_only_admins_see_the_lockouts_page(client, alice, acme):
    client.force_login(alice)
    assert client.get(f"/t/{acme.slug}/settings/lockouts/").status_code == 403
