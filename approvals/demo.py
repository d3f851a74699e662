"""Demo tickets that no other demo opens: access requests (A4) and compliance flags (A7) for
`acme`, and client items for `globex` (US time zone and holidays).
Plan tickets (A1, A5, A7) come from plans.demo's real versions, A2/A3 from optimization.demo's real
change sets, the A6 from optimization.demo's real platform observation and the red flags (A8, A9)
from agents.demo's real runs. Idempotent: each demo ticket has a dedupe key and is opened only if
no ticket (of any status) has that key yet."""

from __future__ import annotations

from collections.abc import Callable

from approvals.models import Ticket
from approvals.services import ticket_open
from audit.actors import Actor
from tenants.demo_clock import DemoClock
from tenants.models import Tenant

SEED_ACTOR = Actor.system("seed_demo")


def _budget_table(rows: list[list], totals: list) -> dict:
    return {
        "currency": "EUR",
        "columns": ["Channel", "Before", "After", "Change"],
        "formats": ["text", "money", "money", "percent_change"],
        "rows": rows,
        "totals": totals,
    }


DEMO_TICKETS: list[dict] = [
    {
        "key": "a4-meta-bm-access",
        "type": "A4",
        "title": "Grant our system user access to the Meta Business Manager",
        "summary": "Onboarding is blocked until the Acme Business Manager adds the system user.",
        "platform": "meta",
        "requesting_agent": "onboarding-agent",
        "client_visible": True,
        "opened_at": (1, "17:00"),
        "diff": {
            "summary": ["Add 'Human Touch system user' as admin of Business Manager 55120."],
            "changes": [
                {"field": "bm_access", "before": "none", "after": "admin", "note": "BM 55120"}
            ],
        },
    },
    {
        "key": "a4-dns-verification",
        "type": "A4",
        "title": "DNS TXT record for domain verification of acme-shop.de",
        "summary": "Internal: add the TXT record to verify the domain for conversions API.",
        "platform": "meta",
        "requesting_agent": "onboarding-agent",
        "opened_at": (5, "11:00"),
        "diff": {
            "summary": ["Add TXT record facebook-domain-verification=… on acme-shop.de."],
            "raw": {"record": "TXT", "host": "acme-shop.de"},
        },
    },
    {
        "key": "a7-health-claim",
        "type": "A7",
        "title": "Compliance: 'clinically proven' claim in winter sale copy",
        "summary": "The QC agent flagged a health claim in three ad variants.",
        "platform": "meta",
        "run_id": "run-5521",
        "requesting_agent": "qc-agent",
        "opened_at": (4, "10:30"),
        "diff": {
            "summary": ["Three ad variants say 'clinically proven warmth'."],
            "changes": [
                {
                    "field": "headline",
                    "before": "Clinically proven warmth",
                    "after": "Warmth you can feel",
                    "note": "suggested rewrite",
                }
            ],
        },
    },
    {
        "key": "a7-creative-theme",
        "type": "A7",
        "title": "Approve creative theme 'Cosy winter at home'",
        "summary": "A new creative theme for December: please approve it before the ads are made.",
        "platform": "meta",
        "requesting_agent": "creative-agent",
        "required_roles": ["planner", "legal", "client"],
        "opened_at": (1, "17:20"),
        "diff": {
            "summary": ["Theme 'Cosy winter at home' for all December video and static ads."],
            "changes": [
                {"field": "creative_themes", "before": "winter sale", "after": "cosy winter"}
            ],
        },
    },
]


GLOBEX_TICKETS: list[dict] = [
    {
        "key": "globex-a4-google-access",
        "type": "A4",
        "title": "Give the agency access to the Globex Google Ads account",
        "summary": "Onboarding waits until Globex grants admin access to account 481-220-9931.",
        "platform": "google_ads",
        "requesting_agent": "onboarding-agent",
        "client_visible": True,
        "opened_at": (2, "10:00"),
        "diff": {
            "summary": ["Add the agency's manager account as admin of 481-220-9931."],
            "changes": [{"field": "account_access", "before": "none", "after": "admin"}],
        },
    },
    {
        "key": "globex-a7-clinic-theme",
        "type": "A7",
        "title": "Approve creative theme 'Care, closer to home'",
        "summary": (
            "New theme for the clinic-finder campaign; our compliance team has checked the claims."
        ),
        "platform": "meta",
        "requesting_agent": "creative-agent",
        "required_roles": ["planner", "legal", "client"],
        "opened_at": (1, "11:00"),
        "diff": {
            "summary": ["Theme 'Care, closer to home' for the January clinic-finder ads."],
            "changes": [
                {"field": "creative_themes", "before": "winter wellness", "after": "care nearby"}
            ],
        },
    },
]


# Tickets opened at least this many working days ago are opened before the optimization history
# (seed_older), the others after it (seed): the audit chain follows the story's order.
OLDER_DAYS = 4


def _open(tenant: Tenant, specs: list[dict]) -> int:
    """Each spec opened at its moment (working days back, "HH:MM" in the tenant's zone) by the
    moving clock: created_at, its audit event and its SLA (in the tenant's business days and
    working hours) all run from then, so an old one is overdue now and the next sweep_sla
    escalates it."""
    clock = DemoClock(tenant.time_zone)
    opened = 0
    for spec in specs:
        spec = dict(spec)
        dedupe_key = f"demo:{spec.pop('key')}"
        opened_at = spec.pop("opened_at")
        if Ticket.objects.filter(tenant=tenant, dedupe_key=dedupe_key).exists():
            continue
        with clock.at(*opened_at):
            ticket_open(tenant=tenant, actor=SEED_ACTOR, dedupe_key=dedupe_key, **spec)
        opened += 1
    return opened


def _seed(*, older: bool | None, log: Callable[[str], None]) -> None:
    opened = 0
    for slug, specs in (("acme", DEMO_TICKETS), ("globex", GLOBEX_TICKETS)):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            log(f"no tenant {slug}: skipped")
            continue
        part = [
            spec for spec in specs if older is None or (spec["opened_at"][0] >= OLDER_DAYS) == older
        ]
        opened += _open(tenant, part)
    total = Ticket.objects.filter(dedupe_key__startswith="demo:").count()
    log(f"tickets: {opened} opened, {total} demo tickets (acme A4/A7, globex client items)")


def seed_older(*, log: Callable[[str], None]) -> None:
    """The tickets opened a week ago, before the agent's change sets."""
    _seed(older=True, log=log)


def seed(*, log: Callable[[str], None]) -> None:
    """The demo tickets still missing (all of them when seed_older was not run first)."""
    _seed(older=None, log=log)
