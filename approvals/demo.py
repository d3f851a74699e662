"""Demo tickets that no other demo opens: access requests (A4) and compliance flags (A7) for
`acme`, and client items for `globex` (US time zone and holidays).
Plan tickets (A1, A5, A7) come from plans.demo's real versions, A2/A3 from optimization.demo's real
change sets, the A6 from optimization.demo's real platform observation and the red flags (A8, A9)
from agents.demo's real runs. Idempotent: each demo ticket has a dedupe key and is opened only if
no ticket (of any status) has that key yet."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from approvals.models import Ticket
from approvals.services import ticket_open, ticket_sla_due_at
from audit.actors import Actor
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
        "opened_days_ago": 6,
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
        "opened_days_ago": 4,
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
        "diff": {
            "summary": ["Theme 'Care, closer to home' for the January clinic-finder ads."],
            "changes": [
                {"field": "creative_themes", "before": "winter wellness", "after": "care nearby"}
            ],
        },
    },
]


def _open(tenant: Tenant, specs: list[dict]) -> int:
    opened = 0
    for spec in specs:
        spec = dict(spec)
        dedupe_key = f"demo:{spec.pop('key')}"
        opened_days_ago = spec.pop("opened_days_ago", None)
        if Ticket.objects.filter(tenant=tenant, dedupe_key=dedupe_key).exists():
            continue
        ticket = ticket_open(tenant=tenant, actor=SEED_ACTOR, dedupe_key=dedupe_key, **spec)
        if opened_days_ago:
            # Demo only: the ticket was opened days ago, so its SLA (in the tenant's business
            # days and working hours) has run out — the dashboard shows it overdue and the next
            # sweep_sla escalates it. Opened before it fell due, due on a working day.
            opened_at = timezone.now() - timedelta(days=opened_days_ago)
            Ticket.objects.filter(pk=ticket.pk).update(
                created_at=opened_at,
                sla_due_at=ticket_sla_due_at(
                    tenant=tenant, sla_kind=ticket.sla_kind, opened_at=opened_at
                ),
            )
        opened += 1
    return opened


def seed(*, log: Callable[[str], None]) -> None:
    opened = 0
    for slug, specs in (("acme", DEMO_TICKETS), ("globex", GLOBEX_TICKETS)):
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None:
            log(f"no tenant {slug}: skipped")
            continue
        opened += _open(tenant, specs)
    total = Ticket.objects.filter(dedupe_key__startswith="demo:").count()
    log(f"tickets: {opened} opened, {total} demo tickets (acme A4/A7, globex client items)")
