"""A lighter SLA for revise approvals (issue 16 item 8; seed: "approval workflow identical to
initial planning, lighter SLA for revise"): a revise's A5 is due after the policy's revise
approval days (default 1), a first plan's A1 after its approval days (1–3, the tenant's choice)."""

from datetime import datetime

import pytest
import time_machine
from django.urls import reverse

from approvals.models import Ticket
from approvals.sla import days_for_kind, tenant_due_at
from audit.actors import Actor
from plans.services import plan_version_create_draft, plan_version_submit
from tenants.models import Role, TenantPolicy
from tenants.policy import DEFAULTS, policy_errors
from tenants.services import tenant_policy_update
from tests.conftest import TEST_ACTOR
from tests.plans.plan_samples import changed, search_up_12_pct, winter_plan

pytestmark = pytest.mark.django_db
MONDAY_10 = datetime.fromisoformat("2026-11-23T10:00:00+01:00")


def submit(tenant, user, *, kind, track_key="always_on", payload=None):
    draft = plan_version_create_draft(
        tenant=tenant,
        track_key=track_key,
        kind=kind,
        payload=payload or winter_plan(),
        actor=Actor.for_user(user),
        reason="for the SLA",
    )
    version = plan_version_submit(version=draft, actor=Actor.for_user(user))
    return Ticket.objects.get(subject_id=str(version.number), type__in=["A1", "A5"])


def due(tenant, days):
    return tenant_due_at(
        opened_at=MONDAY_10,
        business_days=days,
        tenant=tenant,
        policy=TenantPolicy.objects.get(tenant=tenant),
    )


def test_the_policy_has_a_revise_approval_sla_of_one_business_day_by_default():
    assert DEFAULTS["sla"]["sla_revise_approval_days"] == 1
    assert (
        days_for_kind(
            "revise_approval", approval_days=3, revise_days=1, replan_days=2, revise_approval_days=1
        )
        == 1
    )


@pytest.mark.parametrize("days", [0, 4])
def test_a_revise_approval_sla_outside_one_to_three_days_is_refused(days):
    assert "sla_revise_approval_days" in policy_errors({"sla_revise_approval_days": days})


@time_machine.travel(MONDAY_10, tick=False)
def test_a_revises_a5_is_due_sooner_than_a_first_plans_a1(acme, alice):
    tenant_policy_update(tenant=acme, actor=TEST_ACTOR, changes={"sla_approval_days": 3})
    a1 = submit(acme, alice, kind="initial")
    assert a1.type == "A1"
    assert a1.sla_kind == "approval"
    assert a1.sla_due_at == due(acme, 3)


@time_machine.travel(MONDAY_10, tick=False)
def test_a_revises_a5_gets_the_revise_approval_sla(acme, acme_v1, alice):
    tenant_policy_update(tenant=acme, actor=TEST_ACTOR, changes={"sla_approval_days": 3})
    a5 = submit(acme, alice, kind="revise", payload=changed(winter_plan(), search_up_12_pct))
    assert a5.type == "A5"
    assert a5.sla_kind == "revise_approval"
    assert a5.sla_due_at == due(acme, 1)
    assert a5.sla_due_at < due(acme, 3)


def test_the_policy_page_shows_both_approval_slas(client, acme, make_member):
    client.force_login(make_member("ada", acme, Role.ADMIN))
    page = client.get(reverse("tenant_policy", args=["acme"])).content.decode()
    assert "Approvals of a first plan due in (business days)" in page
    assert "Approvals of a revise due in (business days)" in page
