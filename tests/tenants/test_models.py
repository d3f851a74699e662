"""The database itself refuses a looser policy, in case anything writes around the service."""

import pytest
from django.db import IntegrityError, transaction

from tenants.models import Membership, Role, TenantPolicy
from tests.tenants.ceilings import LOOSER_VALUES

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(("key", "looser", "message"), LOOSER_VALUES)
def test_the_database_refuses_a_looser_value_written_around_the_service(acme, key, looser, message):
    with pytest.raises(IntegrityError), transaction.atomic():
        TenantPolicy.objects.filter(tenant=acme).update(**{key: looser})
    assert getattr(TenantPolicy.objects.get(tenant=acme), key) == getattr(acme.policy, key)


def test_the_database_refuses_a_second_membership_in_the_same_tenant(acme, alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(tenant=acme, user=alice, role=Role.ADMIN)
    assert Membership.objects.filter(user=alice).count() == 1


def test_the_database_refuses_an_unknown_role(acme, alice):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.filter(user=alice).update(role="superhero")


@pytest.mark.parametrize("role", Role.values)
def test_only_an_admin_membership_is_an_admin(role):
    # base.html shows the Policy link from this, never from a role string.
    assert Membership(role=role).is_admin is (role == Role.ADMIN)
