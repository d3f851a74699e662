"""The Django admin refuses on the policy what the service refuses, and audits what it saves."""

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from tenants.models import TenantPolicy
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
