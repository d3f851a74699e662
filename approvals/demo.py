"""Demo tickets for `acme`, beside the plan tickets plans.demo opens: every type A1–A9, some
overdue, and two red flags (an A8 loop and an A9 Cost Guard trip), with realistic titles,
summaries and diff previews. Idempotent: each demo ticket has a dedupe key and is opened only if
no ticket (of any status) has that key yet, so a demo ticket someone already decided is not
opened again. They name no plan version number: those belong to plans.demo's real versions."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone

from approvals.models import Ticket
from approvals.services import ticket_open
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
        "key": "a2-meta-golive",
        "type": "A2",
        "title": "Confirm first go-live of Meta prospecting ad set",
        "summary": "The optimizer wants to set ad set 2384 (winter sale prospecting) to active.",
        "platform": "meta",
        "change_set_id": "cs-golive-2384",
        "requesting_agent": "launch-agent",
        "overdue_hours": 5,
        "diff": {
            "summary": ["Ad set 'Winter sale – prospecting' goes live at €250 a day."],
            "changes": [
                {"field": "status", "before": "paused", "after": "active", "note": "first launch"}
            ],
        },
    },
    {
        "key": "a3-search-budget",
        "type": "A3",
        "title": "Search daily budget +18% on always_on (guardrail 10%)",
        "summary": "Google Ads search campaign 'Brand + generic': daily budget €400 → €472.",
        "platform": "google_ads",
        "change_set_id": "cs-7f3a9c",
        "requesting_agent": "bid-optimizer",
        "required_roles": ["operator", "client"],
        "overdue_hours": 26,
        "diff": {
            "summary": ["Search budget up 18% (€400 → €472 a day) from tomorrow."],
            "changes": [
                {
                    "field": "daily_budget",
                    "before": "400.00",
                    "after": "472.00",
                    "note": "over the 10% auto-approve guardrail",
                }
            ],
            "budget_table": _budget_table(
                [["Search", "400", "472", "18.0"]], ["Total per day", "400", "472", "18.0"]
            ),
            "kpi_impact": ["CPA expected to hold near €38 as impression share rises."],
        },
    },
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
        "overdue_hours": 50,
        "diff": {
            "summary": ["Add TXT record facebook-domain-verification=… on acme-shop.de."],
            "raw": {"record": "TXT", "host": "acme-shop.de"},
        },
    },
    {
        "key": "a6-reconcile-drift",
        "type": "A6",
        "title": "Manual override: reconcile Meta ad set 2291 with the approved plan",
        "summary": "The manifest shows a budget set by hand in Ads Manager; an admin decides.",
        "platform": "meta",
        "requesting_agent": "manifest-sync",
        "diff": {
            "summary": ["Accept the live daily budget of €310 (plan says €280)."],
            "changes": [{"field": "daily_budget", "before": "280.00", "after": "310.00"}],
        },
    },
    {
        "key": "a7-health-claim",
        "type": "A7",
        "title": "Compliance: 'clinically proven' claim in winter sale copy",
        "summary": "The QC agent flagged a health claim in three ad variants.",
        "platform": "meta",
        "run_id": "run-qc-5521",
        "requesting_agent": "qc-agent",
        "overdue_hours": 30,
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
        "summary": "New creative theme for December; the client approves, legal keeps its veto.",
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
    {
        "key": "a8-qc-loop",
        "type": "A8",
        "title": "Agent loop exhausted: QC corrections on run-7c1e",
        "summary": "The copywriter agent failed QC twice more after two corrections; run blocked.",
        "run_id": "run-7c1e",
        "requesting_agent": "orchestrator",
        "red_flag": {"loop_type": "qc_correction", "attempt_count": 3},
        "overdue_hours": 2,
        "diff": {
            "summary": ["qc_correction_max is 2; attempt 3 was refused."],
            "raw": {"failure_codes": ["claim_unverified", "tone_off_brand"]},
        },
    },
    {
        "key": "a9-cost-guard",
        "type": "A9",
        "title": "Cost Guard tripped on run-93ab (3.1× estimate)",
        "summary": "LLM spend on the report run reached 3.1× its estimate; all calls blocked.",
        "run_id": "run-93ab",
        "requesting_agent": "cost-guard",
        "red_flag": {"estimated_usd": "0.84", "actual_usd": "2.61"},
        "diff": {
            "summary": ["Estimated $0.84, actual $2.61 (trip line $2.52 at 3.0×)."],
            "raw": {"input_tokens": 412_000, "output_tokens": 38_500},
        },
    },
]


def seed(*, log: Callable[[str], None]) -> None:
    tenant = Tenant.objects.filter(slug="acme").first()
    if tenant is None:
        log("no tenant acme: skipped")
        return
    opened = 0
    for spec in DEMO_TICKETS:
        spec = dict(spec)
        dedupe_key = f"demo:{spec.pop('key')}"
        overdue_hours = spec.pop("overdue_hours", None)
        if Ticket.objects.filter(tenant=tenant, dedupe_key=dedupe_key).exists():
            continue
        ticket = ticket_open(tenant=tenant, actor=SEED_ACTOR, dedupe_key=dedupe_key, **spec)
        if overdue_hours:
            # Demo only: move the due time into the past so the dashboard shows overdue tickets
            # and the next sweep_sla escalates them.
            Ticket.objects.filter(pk=ticket.pk).update(
                sla_due_at=timezone.now() - timedelta(hours=overdue_hours)
            )
        opened += 1
    total = Ticket.objects.filter(tenant=tenant, dedupe_key__startswith="demo:").count()
    log(f"tickets: {opened} opened, {total} demo tickets for acme (A1–A9, 2 red flags)")
