from importlib import import_module

from django.core.management.base import BaseCommand

# Order matters: later apps build on what earlier ones created.
DEMO_MODULES = [
    "tenants.demo",
    "agents.demo",
    "plans.demo",
    "optimization.demo",
    "approvals.demo",
]


class Command(BaseCommand):
    help = "Create the demo world of docs/agent-api.md (idempotent: safe to run twice)."

    def handle(self, *args, **options):
        for name in DEMO_MODULES:
            try:
                module = import_module(name)
            except ModuleNotFoundError:
                continue
            module.seed(
                log=lambda line, name=name: self.stdout.write(f"{name.split('.')[0]}: {line}")
            )
        self.stdout.write(self.style.SUCCESS("demo world ready"))
