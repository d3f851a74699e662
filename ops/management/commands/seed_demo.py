from collections.abc import Callable

from django.core.management.base import BaseCommand

from agents import demo as agents_demo
from approvals import demo as approvals_demo
from optimization import demo as optimization_demo
from plans import demo as plans_demo
from tenants import demo as tenants_demo

# Each app's demo part, by app, in the order of the story (eight weeks of it, each step at its
# moment under a moving clock: tenants.demo_clock). Order matters: later parts build on what
# earlier ones created, and each tenant's audit chain follows the story's time as far as the
# parts allow (a part's steps are in time order; see the report in tests/ops/…walk).
DEMO_PARTS: list[tuple[str, Callable[..., None]]] = [
    ("tenants", tenants_demo.seed),
    ("plans", plans_demo.seed),
    ("optimization", optimization_demo.seed_setup),
    ("agents", agents_demo.seed),
    ("approvals", approvals_demo.seed_older),
    ("optimization", optimization_demo.seed_history),
    ("plans", plans_demo.seed_waiting),
    # The platform runs the brand film otherwise than the manifest: the demo's A6.
    ("optimization", optimization_demo.seed_reconciliation),
    ("approvals", approvals_demo.seed),
    ("optimization", optimization_demo.seed_performance),
]


class Command(BaseCommand):
    help = "Create the demo world of docs/agent-api.md (idempotent: safe to run twice)."

    def handle(self, *args, **options):
        for app, seed in DEMO_PARTS:
            seed(log=lambda line, app=app: self.stdout.write(f"{app}: {line}"))
        self.stdout.write(self.style.SUCCESS("demo world ready"))
