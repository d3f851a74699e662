"""tenants/access.py: the scoping helper every selector and view uses."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from django.utils import timezone

from tenants.access import (
    get_for_user_or_404,
    membership_or_404,
    require_role,
    scope_to_user,
    tenant_view,
)
from tenants.models import Membership, Role, TenantPolicy

pytestmark = pytest.mark.django_db


def test_scope_to_user_keeps_only_the_rows_of_the_users_tenants(acme, globex, alice):
    rows = scope_to_user(TenantPolicy.objects.all(), alice)
    assert [p.tenant.slug for p in rows] == ["acme"]


def test_scope_to_user_can_narrow_to_roles(acme, globex, alice, make_member):
    make_member("alice", globex, Role.CLIENT)
    everything = scope_to_user(TenantPolicy.objects.all(), alice)
    internal = scope_to_user(TenantPolicy.objects.all(), alice, roles=[Role.PLANNER])
    assert sorted(p.tenant.slug for p in everything) == ["acme", "globex"]
    assert [p.tenant.slug for p in internal] == ["acme"]


def test_scope_to_user_gives_an_anonymous_visitor_nothing(acme):
    assert not scope_to_user(TenantPolicy.objects.all(), AnonymousUser()).exists()


def test_scope_to_user_follows_another_field_name(acme, globex, alice):
    rows = scope_to_user(Membership.objects.all(), alice, field="tenant")
    assert {m.tenant.slug for m in rows} == {"acme"}


def test_get_for_user_or_404_returns_an_own_row(acme, alice):
    assert get_for_user_or_404(TenantPolicy.objects.all(), alice, pk=acme.policy.pk) == acme.policy


def test_get_for_user_or_404_answers_404_for_another_tenants_row(acme, globex, alice):
    with pytest.raises(Http404):
        get_for_user_or_404(TenantPolicy.objects.all(), alice, pk=globex.policy.pk)


def test_membership_or_404_by_slug_or_tenant(acme, globex, alice):
    assert membership_or_404(alice, "acme").role == Role.PLANNER
    assert membership_or_404(alice, acme).tenant == acme
    with pytest.raises(Http404):
        membership_or_404(alice, "globex")
    with pytest.raises(Http404):
        membership_or_404(alice, globex)


def test_require_role_raises_403_for_a_role_that_may_not(acme, alice):
    membership = membership_or_404(alice, acme)
    require_role(membership, [Role.PLANNER, Role.ADMIN])
    with pytest.raises(PermissionDenied, match="needs the admin role; you hold the planner role"):
        require_role(membership, [Role.ADMIN])


@tenant_view(roles=[Role.PLANNER])
def _probe_view(request):
    return HttpResponse(
        f"{request.tenant.slug}:{request.membership.role}:{timezone.get_current_timezone_name()}"
    )


def _request(user):
    request = RequestFactory().get("/t/x/probe/")
    request.user = user
    request.session = {}
    return request


def test_tenant_view_sets_tenant_membership_session_and_time_zone(acme, alice):
    request = _request(alice)
    response = _probe_view(request, tenant_slug="acme")
    assert response.content.decode() == "acme:planner:Europe/Berlin"
    assert request.session["tenant_id"] == acme.pk
    assert timezone.get_current_timezone_name() == "UTC"  # restored after the view


def test_tenant_view_is_404_for_another_tenant_and_403_for_a_wrong_role(
    acme, globex, alice, make_member
):
    with pytest.raises(Http404):
        _probe_view(_request(alice), tenant_slug="globex")
    operator = make_member("olga", acme, Role.OPERATOR)
    with pytest.raises(PermissionDenied):
        _probe_view(_request(operator), tenant_slug="acme")


def test_tenant_view_sends_an_anonymous_visitor_to_the_login(acme):
    response = _probe_view(_request(AnonymousUser()), tenant_slug="acme")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
