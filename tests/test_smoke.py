"""seed_demo builds the demo world of docs/agent-api.md and is safe to run twice."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from audit.models import AuditEvent
from tenants.models import Membership, Tenant

DEMO_PEOPLE = [
    ("planner", "acme", "planner"),
    ("planner2", "acme", "planner"),
    ("operator", "acme", "operator"),
    ("admin", "acme", "admin"),
    ("legal", "acme", "legal"),
    ("client", "acme", "client"),
    ("globex-client", "globex", "client"),
]


@pytest.fixture
def seeded(db):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_the_two_demo_tenants(seeded):
    acme = Tenant.objects.get(slug="acme")
    globex = Tenant.objects.get(slug="globex")
    assert (acme.vertical, acme.country, acme.time_zone) == ("retail", "DE", "Europe/Berlin")
    assert (globex.vertical, globex.country) == ("health", "US")
    assert globex.policy.vertical_compliance_profile == "health_strict"
    assert "demo world ready" in seeded


@pytest.mark.parametrize(("username", "tenant", "role"), DEMO_PEOPLE, ids=lambda v: str(v))
def test_every_demo_person_logs_in_with_the_demo_password_and_has_their_role(
    seeded, username, tenant, role
):
    user = authenticate(username=username, password="demo-pass-2026")
    assert user is not None
    memberships = list(Membership.objects.filter(user=user).values_list("tenant__slug", "role"))
    assert memberships == [(tenant, role)]
    # No superuser in the demo: `admin` is a staff user whose Django admin covers acme only.
    assert (user.is_staff, user.is_superuser) == (username == "admin", False)


def test_seed_demo_run_twice_changes_nothing(seeded):
    counts = (Tenant.objects.count(), Membership.objects.count(), AuditEvent.objects.count())
    call_command("seed_demo", stdout=StringIO())
    assert (
        Tenant.objects.count(),
        Membership.objects.count(),
        AuditEvent.objects.count(),
    ) == counts
