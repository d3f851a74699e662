import pytest

from audit.models import AuditEvent
from tenants.models import Membership, Tenant


@pytest.mark.django_db
def test_seed_demo_creates_the_demo_world_and_is_idempotent():
    from django.core.management import call_command

    call_command("seed_demo")
    events = AuditEvent.objects.count()
    call_command("seed_demo")
    assert set(Tenant.objects.values_list("slug", flat=True)) == {"acme", "globex"}
    assert Membership.objects.filter(tenant__slug="acme").count() == 5
    assert AuditEvent.objects.count() == events
