from importlib import import_module

from django.core.management.base import BaseCommand
from django_q.models import Schedule

# Each app that runs something on a schedule lists it in its tasks.py as SCHEDULES:
# [{"name": ..., "func": "app.tasks.function", "schedule_type": Schedule.MINUTES, "minutes": 5}]
SCHEDULE_MODULES = [
    "approvals.tasks",
    "optimization.tasks",
    "agents.tasks",
    "metrics.tasks",
    "audit.tasks",
    "ops.tasks",
]


def declared_schedules() -> list[dict]:
    """Every app's SCHEDULES. An app without a tasks module has none; a tasks module that exists
    but fails to import fails the command loudly (a schedule would otherwise silently vanish)."""
    schedules = []
    for name in SCHEDULE_MODULES:
        try:
            module = import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        schedules.extend(getattr(module, "SCHEDULES", []))
    return schedules


class Command(BaseCommand):
    help = "Declare every django-q2 schedule (updates existing ones by name, never duplicates)."

    def handle(self, *args, **options):
        for spec in declared_schedules():
            spec = dict(spec)
            name = spec.pop("name")
            schedule, created = Schedule.objects.update_or_create(name=name, defaults=spec)
            verb = "created" if created else "updated"
            self.stdout.write(
                f"{name}: {schedule.func} every {schedule.minutes or ''} "
                f"{schedule.get_schedule_type_display()} ({verb})"
            )
        if not declared_schedules():
            self.stdout.write("no schedules declared")
