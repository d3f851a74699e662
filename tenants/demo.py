"""The demo world (docs/README.md): tenants, people and roles. Other apps add their data in
their own demo.py; `seed_demo` calls them in order. Everything here is idempotent."""

from __future__ import annotations

from collections.abc import Callable

from audit.actors import Actor
from tenants.demo_clock import DemoClock
from tenants.models import Role, Tenant
from tenants.services import membership_set, tenant_create, user_ensure

DEMO_PASSWORD = "demo-pass-2026"
SEED_ACTOR = Actor.system("seed_demo")

TENANTS = [
    {
        "slug": "acme",
        "name": "Acme Retail",
        "vertical": "retail",
        "country": "DE",
        "time_zone": "Europe/Berlin",
        "policy": {},
    },
    {
        "slug": "globex",
        "name": "Globex Health",
        "vertical": "health",
        "country": "US",
        "time_zone": "America/New_York",
        "policy": {"vertical_compliance_profile": "health_strict"},
    },
]
USERS = [
    ("planner", "acme", Role.PLANNER),
    # Nobody approves their own work (four eyes): a second planner approves the first one's.
    ("planner2", "acme", Role.PLANNER),
    ("operator", "acme", Role.OPERATOR),
    ("admin", "acme", Role.ADMIN),
    ("legal", "acme", Role.LEGAL),
    ("client", "acme", Role.CLIENT),
    ("globex-client", "globex", Role.CLIENT),
]
# A tenant admin who is also staff: their Django admin covers only their tenant (no superuser in
# the demo; platform operators create theirs with createsuperuser).
STAFF_USERS = {"admin"}


# Onboarding: eight weeks ago (working days back, tenants.demo_clock), the start of the story.
ONBOARDED_AT = 40


def seed(*, log: Callable[[str], None]) -> None:
    tenants = {}
    for spec in TENANTS:
        tenant = Tenant.objects.filter(slug=spec["slug"]).first()
        if tenant is None:
            with DemoClock(spec["time_zone"]).at(ONBOARDED_AT, "09:00"):
                tenant = tenant_create(actor=SEED_ACTOR, **spec)
            log(f"tenant {tenant.slug}: created")
        else:
            log(f"tenant {tenant.slug}: exists")
        tenants[tenant.slug] = tenant
    for minute, (username, slug, role) in enumerate(USERS, start=10):
        with DemoClock(tenants[slug].time_zone).at(ONBOARDED_AT, f"09:{minute}"):
            user = user_ensure(
                username=username,
                password=DEMO_PASSWORD,
                email=f"{username}@example.com",
                is_staff=username in STAFF_USERS,
            )
            membership_set(tenant=tenants[slug], user=user, role=role, actor=SEED_ACTOR)
    log(f"users: {', '.join(u for u, _, _ in USERS)} (password {DEMO_PASSWORD})")
