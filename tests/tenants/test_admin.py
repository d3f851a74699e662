"""The Django admin refuses on the policy what the service refuses, and audits what it saves."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from audit.models import AuditEvent
from tenants.models import Membership, Tenant, TenantPolicy
from tests.conftest import PASSWORD
from tests.tenants.ceilings import LOOSER_VALUES, form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client, acme, make_member):
    make_member("root", acme, "admin", is_superuser=True)
    client.login(username="root", password=PASSWORD)
    return client


def change_url(policy):
    return reverse("admin:tenants_tenantpolicy_change", args=[policy.pk])


@pytest.mark.parametrize(("key", "looser", "message"), LOOSER_VALUES)
def test_the_admin_refuses_a_looser_value_with_the_ceiling_message(
    superuser_client, acme, key, looser, message
):
    policy = acme.policy
    response = superuser_client.post(change_url(policy), form_data(policy, **{key: looser}))
    assert response.status_code == 200  # the form again, not a redirect
    assert message in response.content.decode()
    assert TenantPolicy.objects.get(pk=policy.pk).values() == policy.values()
    assert not AuditEvent.objects.filter(action="policy.updated").exists()


def test_the_admin_saves_a_stricter_value_through_the_service(superuser_client, acme):
    policy = acme.policy
    response = superuser_client.post(change_url(policy), form_data(policy, tool_rounds_max=4))
    assert response.status_code == 302
    assert TenantPolicy.objects.get(pk=policy.pk).tool_rounds_max == 4
    event = AuditEvent.objects.get(action="policy.updated")
    assert event.actor_label == "root"
    assert event.data["changes"] == {"tool_rounds_max": {"from": 5, "to": 4}}
    latest = policy.history.order_by("-history_id").first()
    assert latest.history_user.username == "root"


def test_the_admin_shows_the_policy_history(superuser_client, acme):
    superuser_client.post(change_url(acme.policy), form_data(acme.policy, tool_rounds_max=4))
    response = superuser_client.get(
        reverse("admin:tenants_tenantpolicy_history", args=[acme.policy.pk])
    )
    assert response.status_code == 200
    assert "root" in response.content.decode()


# --- Tenants and memberships --------------------------------------------------------------------
def members_inline(tenant=None) -> dict:
    """The read-only memberships inline's management form, as the admin page posts it."""
    existing = list(Membership.objects.filter(tenant=tenant)) if tenant else []
    data = {
        "memberships-TOTAL_FORMS": str(len(existing)),
        "memberships-INITIAL_FORMS": str(len(existing)),
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "0",
    }
    for i, membership in enumerate(existing):
        data[f"memberships-{i}-id"] = str(membership.pk)
        data[f"memberships-{i}-tenant"] = str(tenant.pk)
    return data


def test_adding_a_tenant_in_the_admin_creates_its_policy_and_audits_it(superuser_client):
    response = superuser_client.post(
        reverse("admin:tenants_tenant_add"),
        {
            "slug": "initech",
            "name": "Initech",
            "vertical": "finance",
            "country": "us",
            "time_zone": "America/Chicago",
            **members_inline(),
        },
    )
    assert response.status_code == 302
    tenant = Tenant.objects.get(slug="initech")
    assert tenant.country == "US"
    assert tenant.policy.tool_rounds_max == 5
    event = AuditEvent.objects.get(tenant=tenant, action="tenant.created")
    assert event.actor_label == "root"


def test_editing_a_tenant_in_the_admin_is_audited_and_keeps_the_slug(superuser_client, acme):
    data = {"name": "Acme Retail GmbH", "vertical": "retail", "country": "DE"}
    response = superuser_client.post(
        reverse("admin:tenants_tenant_change", args=[acme.pk]),
        {**data, "time_zone": "Europe/Vienna", "slug": "changed", **members_inline(acme)},
    )
    assert response.status_code == 302
    acme.refresh_from_db()
    assert (acme.slug, acme.name, acme.time_zone) == ("acme", "Acme Retail GmbH", "Europe/Vienna")
    event = AuditEvent.objects.get(tenant=acme, action="tenant.updated")
    assert event.data["changes"]["time_zone"] == {"from": "Europe/Berlin", "to": "Europe/Vienna"}


def test_an_unknown_time_zone_is_refused_in_the_admin(superuser_client, acme):
    response = superuser_client.post(
        reverse("admin:tenants_tenant_change", args=[acme.pk]),
        {
            "name": "Acme",
            "vertical": "retail",
            "country": "DE",
            "time_zone": "Mars/Olympus",
            **members_inline(acme),
        },
    )
    assert response.status_code == 200
    assert "is not a known time zone" in response.content.decode()
    assert not AuditEvent.objects.filter(action="tenant.updated").exists()


def test_memberships_given_changed_and_removed_in_the_admin_are_audited(
    superuser_client, acme, make_member
):
    User = get_user_model()
    dora = User.objects.create_user("dora")
    response = superuser_client.post(
        reverse("admin:tenants_membership_add"),
        {"user": dora.pk, "tenant": acme.pk, "role": "legal"},
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user=dora, tenant=acme)
    superuser_client.post(
        reverse("admin:tenants_membership_change", args=[membership.pk]), {"role": "operator"}
    )
    assert Membership.objects.get(pk=membership.pk).role == "operator"
    superuser_client.post(
        reverse("admin:tenants_membership_delete", args=[membership.pk]), {"post": "yes"}
    )
    assert not Membership.objects.filter(pk=membership.pk).exists()
    events = AuditEvent.objects.filter(tenant=acme, resource_type="membership").order_by("seq")
    trail = [(e.action, e.data.get("role"), e.actor_label) for e in events if "dora" in str(e.data)]
    assert trail == [
        ("membership.set", "legal", "root"),
        ("membership.set", "operator", "root"),
        ("membership.removed", "operator", "root"),
    ]


def test_the_admin_shows_times_in_the_tenants_zone(superuser_client, acme):
    # acme is in Europe/Berlin: in December its times read CET, never UTC.
    page = superuser_client.get(reverse("admin:tenants_tenant_change", args=[acme.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert " CET" in text or " CEST" in text
    assert " UTC" not in text
