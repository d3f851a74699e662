from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from audit.actors import Actor
from audit.models import AuditEvent
from tenants.models import Membership, Role, Tenant, TenantPolicy
from tenants.services import (
    membership_remove,
    membership_set,
    tenant_create,
    tenant_policy_update,
    tenant_update,
)
from tests.conftest import TEST_ACTOR
from tests.tenants.ceilings import LOOSER_VALUES, STRICTER_VALUES

pytestmark = pytest.mark.django_db


# --- tenant_create ------------------------------------------------------------------------------
def test_it_creates_a_tenant_with_the_default_policy_and_audits_it(acme):
    assert acme.policy.tool_rounds_max == 5
    assert acme.policy.trip_multiplier == Decimal("3.00")
    event = AuditEvent.objects.get(tenant=acme, action="tenant.created")
    assert event.actor_id == "tests"
    assert event.data["time_zone"] == "Europe/Berlin"


@pytest.mark.parametrize(("key", "looser", "message"), LOOSER_VALUES)
def test_it_refuses_a_tenant_created_with_a_looser_policy(key, looser, message):
    with pytest.raises(ValidationError) as excinfo:
        tenant_create(
            slug="loose",
            name="Loose",
            vertical="retail",
            country="DE",
            time_zone="UTC",
            actor=TEST_ACTOR,
            policy={key: looser},
        )
    assert message in excinfo.value.message_dict[key][0]
    assert not Tenant.objects.filter(slug="loose").exists()
    assert not AuditEvent.objects.exists()


def test_it_refuses_an_unknown_time_zone_and_an_unknown_policy_key():
    spec = {"slug": "x", "name": "X", "vertical": "retail", "country": "DE", "actor": TEST_ACTOR}
    with pytest.raises(ValidationError, match="not a known time zone"):
        tenant_create(time_zone="Mars/Olympus", **spec)
    with pytest.raises(ValidationError, match="not a policy key"):
        tenant_create(time_zone="UTC", policy={"tool_rounds": 3}, **spec)
    assert not Tenant.objects.exists()


def test_it_refuses_a_tenant_created_with_a_non_number_policy_value():
    with pytest.raises(ValidationError) as excinfo:
        tenant_create(
            slug="vague",
            name="Vague",
            vertical="retail",
            country="DE",
            time_zone="UTC",
            actor=TEST_ACTOR,
            policy={"tool_rounds_max": "many"},
        )
    assert "tool_rounds_max" in excinfo.value.message_dict
    assert not Tenant.objects.filter(slug="vague").exists()
    assert not AuditEvent.objects.exists()


# --- membership_set -----------------------------------------------------------------------------
def test_a_person_has_one_role_per_tenant_and_a_change_is_audited(acme, alice):
    membership_set(tenant=acme, user=alice, role=Role.OPERATOR, actor=TEST_ACTOR)
    assert list(Membership.objects.filter(user=alice).values_list("role", flat=True)) == [
        "operator"
    ]
    event = AuditEvent.objects.filter(tenant=acme, action="membership.set").order_by("seq").last()
    assert event.data == {"user": "alice", "role": "operator", "previous_role": "planner"}


def test_setting_the_same_role_again_writes_nothing(acme, alice):
    events = AuditEvent.objects.count()
    membership_set(tenant=acme, user=alice, role=Role.PLANNER, actor=TEST_ACTOR)
    assert AuditEvent.objects.count() == events


def test_a_person_can_hold_different_roles_in_different_tenants(acme, globex, alice):
    membership_set(tenant=globex, user=alice, role=Role.CLIENT, actor=TEST_ACTOR)
    roles = dict(Membership.objects.filter(user=alice).values_list("tenant__slug", "role"))
    assert roles == {"acme": "planner", "globex": "client"}


def test_it_refuses_an_unknown_role(acme, alice):
    with pytest.raises(ValidationError):
        membership_set(tenant=acme, user=alice, role="superhero", actor=TEST_ACTOR)
    assert Membership.objects.get(user=alice).role == "planner"


# --- tenant_policy_update -----------------------------------------------------------------------
@pytest.mark.parametrize(("key", "looser", "message"), LOOSER_VALUES)
def test_it_refuses_a_looser_value_naming_the_key_and_the_ceiling(acme, key, looser, message):
    events = AuditEvent.objects.count()
    versions = acme.policy.history.count()
    with pytest.raises(ValidationError) as excinfo:
        tenant_policy_update(tenant=acme, actor=TEST_ACTOR, changes={key: looser})
    assert message in excinfo.value.message_dict[key][0]
    policy = TenantPolicy.objects.get(tenant=acme)
    assert policy.values() == acme.policy.values()
    assert AuditEvent.objects.count() == events
    assert policy.history.count() == versions


@pytest.mark.parametrize(("key", "stricter"), STRICTER_VALUES)
def test_it_accepts_a_stricter_value(acme, key, stricter):
    policy = tenant_policy_update(tenant=acme, actor=TEST_ACTOR, changes={key: stricter})
    policy.refresh_from_db()
    assert getattr(policy, key) == stricter


def test_the_cost_guard_multiplier_may_go_down_but_never_above_the_ceiling(acme):
    tenant_policy_update(tenant=acme, actor=TEST_ACTOR, changes={"trip_multiplier": "2.0"})
    with pytest.raises(ValidationError, match="may not exceed 3.0"):
        tenant_policy_update(tenant=acme, actor=TEST_ACTOR, changes={"trip_multiplier": "3.01"})
    assert TenantPolicy.objects.get(tenant=acme).trip_multiplier == Decimal("2.00")


def test_a_change_keeps_a_history_row_with_the_user_and_an_audit_event(acme, alice):
    actor = Actor.for_user(alice)
    tenant_policy_update(
        tenant=acme, actor=actor, changes={"tool_rounds_max": 3, "drift_pct": Decimal("12")}
    )
    latest = acme.policy.history.order_by("-history_date", "-history_id").first()
    assert latest.history_user == alice
    assert latest.tool_rounds_max == 3
    assert latest.history_change_reason == "changed by alice"
    event = AuditEvent.objects.get(tenant=acme, action="policy.updated")
    assert (event.actor_type, event.actor_id) == ("user", str(alice.pk))
    assert event.data["changes"] == {
        "tool_rounds_max": {"from": 5, "to": 3},
        "drift_pct": {"from": "15.00", "to": "12"},
    }


def test_saving_unchanged_values_writes_no_history_and_no_event(acme):
    versions = acme.policy.history.count()
    tenant_policy_update(tenant=acme, actor=TEST_ACTOR, changes={"tool_rounds_max": 5})
    assert acme.policy.history.count() == versions
    assert not AuditEvent.objects.filter(action="policy.updated").exists()


def test_it_refuses_a_key_that_is_not_a_policy_key(acme):
    with pytest.raises(ValidationError, match="tenant is not a policy key"):
        tenant_policy_update(tenant=acme, actor=TEST_ACTOR, changes={"tenant": 3})


def test_a_non_number_is_refused_with_a_field_error(acme):
    with pytest.raises(ValidationError) as excinfo:
        tenant_policy_update(tenant=acme, actor=TEST_ACTOR, changes={"tool_rounds_max": "many"})
    assert "tool_rounds_max" in excinfo.value.message_dict


# --- membership_remove and tenant_update --------------------------------------------------------
def test_removing_a_membership_is_audited_with_the_role_it_had(acme, alice):
    membership = Membership.objects.get(user=alice, tenant=acme)
    membership_remove(membership=membership, actor=TEST_ACTOR)
    membership_remove(membership=membership, actor=TEST_ACTOR)  # again: nothing more happens
    assert not Membership.objects.filter(user=alice).exists()
    removed = AuditEvent.objects.filter(tenant=acme, action="membership.removed")
    assert [e.data for e in removed] == [{"user": "alice", "role": "planner"}]


def test_updating_a_tenant_audits_what_changed_and_nothing_when_nothing_did(acme):
    tenant_update(tenant=acme, actor=TEST_ACTOR, changes={"name": "Acme", "country": "at"})
    tenant_update(tenant=acme, actor=TEST_ACTOR, changes={"name": "Acme"})
    acme.refresh_from_db()
    assert (acme.name, acme.country) == ("Acme", "AT")
    event = AuditEvent.objects.get(tenant=acme, action="tenant.updated")
    assert event.data["changes"] == {
        "name": {"from": "Acme Retail", "to": "Acme"},
        "country": {"from": "DE", "to": "AT"},
    }


def test_a_tenants_slug_cannot_be_changed(acme):
    with pytest.raises(ValidationError, match="slug can't be changed"):
        tenant_update(tenant=acme, actor=TEST_ACTOR, changes={"slug": "acme2"})
    acme.refresh_from_db()
    assert acme.slug == "acme"
