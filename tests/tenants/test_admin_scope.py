"""Django admin is tenant-scoped (docs/rules.md "Who uses it"): acme's admin — a staff user, not a
superuser — sees and changes only acme's rows, is offered only acme as a tenant, and can neither
see nor create anything of globex's; a platform superuser still sees everything."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from agents.services import agent_key_create
from approvals.models import Ticket
from plans.models import PlanVersion, Track
from tenants.models import Membership, Tenant
from tests.approvals.factories import open_ticket
from tests.conftest import PASSWORD, TEST_ACTOR

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme_admin_client(client, acme, make_member):
    make_member("ada", acme, "admin", is_staff=True)
    client.login(username="ada", password=PASSWORD)
    return client


@pytest.fixture
def both_worlds(acme, globex, acme_v1):
    from plans.services import plan_version_import_approved
    from tests.plans.plan_samples import winter_plan

    globex_v1 = plan_version_import_approved(
        tenant=globex,
        track_key="always_on",
        kind="initial",
        payload=winter_plan(),
        actor=TEST_ACTOR,
        approved_by="tests",
    )
    return {
        "acme": {
            "ticket": open_ticket(acme, "A4", title="Acme access"),
            "key": agent_key_create(tenant=acme, name="acme-agent", actor=TEST_ACTOR)[0],
            "version": acme_v1,
        },
        "globex": {
            "ticket": open_ticket(globex, "A4", title="Globex access"),
            "key": agent_key_create(tenant=globex, name="globex-agent", actor=TEST_ACTOR)[0],
            "version": globex_v1,
        },
    }


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def test_every_admin_list_opens_and_names_no_globex_row(acme_admin_client, both_worlds):
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = acme_admin_client.get(url)
        if model._meta.app_label in ("auth", "django_q", "axes"):
            assert response.status_code == 403, url  # platform pages: not a tenant admin's
            continue
        assert response.status_code == 200, url
        page = response.content.decode()
        assert "Globex" not in page and "globex" not in page, url


@pytest.mark.parametrize("name", ["ticket", "key", "version"])
def test_globex_rows_are_404_and_acme_rows_open(acme_admin_client, both_worlds, name):
    assert acme_admin_client.get(change_url(both_worlds["acme"][name])).status_code == 200
    assert acme_admin_client.get(change_url(both_worlds["globex"][name])).status_code in (302, 404)


def test_other_globex_objects_are_out_of_reach(acme_admin_client, globex, both_worlds):
    for obj in [
        globex,
        globex.policy,
        Track.objects.get(tenant=globex),
        PlanVersion.objects.get(tenant=globex),
    ]:
        response = acme_admin_client.get(change_url(obj))
        assert response.status_code in (302, 404), obj


def test_acme_admin_cannot_grant_itself_a_globex_membership(acme_admin_client, acme, globex):
    from django.contrib.auth import get_user_model

    ada = get_user_model().objects.get(username="ada")
    form = acme_admin_client.get(reverse("admin:tenants_membership_add")).content.decode()
    assert "Acme" in form and "Globex" not in form
    response = acme_admin_client.post(
        reverse("admin:tenants_membership_add"),
        {"user": ada.pk, "tenant": globex.pk, "role": "admin"},
    )
    assert response.status_code == 200  # the form again, with the error
    assert "Select a valid choice" in response.content.decode()
    assert not Membership.objects.filter(tenant=globex, user=ada).exists()


def test_acme_admin_cannot_create_a_tenant(acme_admin_client):
    response = acme_admin_client.get(reverse("admin:tenants_tenant_add"))
    assert response.status_code == 403
    assert not Tenant.objects.filter(slug="initech").exists()


def test_a_staff_user_who_administers_no_tenant_sees_no_admin_page(client, acme, make_member):
    make_member("opal", acme, "operator", is_staff=True)
    client.login(username="opal", password=PASSWORD)
    response = client.get(reverse("admin:approvals_ticket_changelist"))
    assert response.status_code == 403


def test_acme_admin_overrides_only_acme_tickets(acme_admin_client, both_worlds):
    globex_ticket = both_worlds["globex"]["ticket"]
    response = acme_admin_client.post(
        reverse("admin:approvals_ticket_changelist"),
        {
            "action": "manual_override",
            "_selected_action": [globex_ticket.pk],
            "apply": "1",
            "reason": "mine now",
        },
    )
    assert response.status_code in (200, 302)
    assert Ticket.objects.get(pk=globex_ticket.pk).status == "open"
    assert not Ticket.objects.filter(type="A6").exists()


def test_a_platform_superuser_sees_both_tenants(client, acme, make_member, both_worlds):
    make_member("root", acme, "admin", is_superuser=True)
    client.login(username="root", password=PASSWORD)
    page = client.get(reverse("admin:approvals_ticket_changelist")).content.decode()
    assert "Acme access" in page and "Globex access" in page


# --- History pages (issue 14: globex's policy history was a 403, which says it exists) ----------
def test_another_tenants_policy_history_is_404_and_its_own_opens(acme_admin_client, acme, globex):
    from tenants.services import tenant_policy_update

    tenant_policy_update(tenant=globex, actor=TEST_ACTOR, changes={"tool_rounds_max": 4})
    version = globex.policy.history.order_by("-history_id").first()

    own = acme_admin_client.get(
        reverse("admin:tenants_tenantpolicy_history", args=[acme.policy.pk])
    )
    other = acme_admin_client.get(
        reverse("admin:tenants_tenantpolicy_history", args=[globex.policy.pk])
    )
    one_version = acme_admin_client.get(
        reverse(
            "admin:tenants_tenantpolicy_simple_history",
            args=[globex.policy.pk, version.history_id],
        )
    )

    assert own.status_code == 200
    assert (other.status_code, one_version.status_code) == (404, 404)
    assert "Globex" not in other.content.decode() + one_version.content.decode()


@pytest.mark.parametrize("name", ["ticket", "key", "version"])
def test_another_tenants_row_history_is_404(acme_admin_client, both_worlds, name):
    row = both_worlds["globex"][name]
    url = reverse(f"admin:{row._meta.app_label}_{row._meta.model_name}_history", args=[row.pk])
    assert acme_admin_client.get(url).status_code == 404
