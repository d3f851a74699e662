from django.core.management.base import BaseCommand
from django_q.models import Schedule

from agents import tasks as agents_tasks
from approvals import tasks as approvals_tasks
from audit import tasks as audit_tasks
from integrations import tasks as integrations_tasks
from metrics import tasks as metrics_tasks
from notifications import tasks as notifications_tasks
from ops import tasks as ops_tasks
from optimization import tasks as optimization_tasks

# Each app that runs something on a schedule lists it in its tasks.py as SCHEDULES:
# [{"name": ..., "func": "app.tasks.function", "schedule_type": Schedule.MINUTES, "minutes": 5}]
SCHEDULES: list[dict] = [
    *agents_tasks.SCHEDULES,
    *approvals_tasks.SCHEDULES,
    *optimization_tasks.SCHEDULES,
    *metrics_tasks.SCHEDULES,
    *audit_tasks.SCHEDULES,
    *ops_tasks.SCHEDULES,
    *notifications_tasks.SCHEDULES,
    *integrations_tasks.SCHEDULES,
]


class Command(BaseCommand):
    help = "Declare every django-q2 schedule (updates existing ones by name, never duplicates)."

    def handle(self, *args, **options):
        for spec in SCHEDULES:
            spec = dict(spec)
            name = spec.pop("name")
            schedule, created = Schedule.objects.update_or_create(name=name, defaults=spec)
            verb = "created" if created else "updated"
            self.stdout.write(
                f"{name}: {schedule.func} every {schedule.minutes or ''} "
                f"{schedule.get_schedule_type_display()} ({verb})"
            )
        if not SCHEDULES:
            self.stdout.write("no schedules declared")
