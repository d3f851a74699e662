"""django-q2 tasks of the optimization app (declared by `setup_schedules`). Tasks stay thin."""

from django_q.models import Schedule

from optimization.services import triggers_scan

SCHEDULES = [
    {
        "name": "optimization.scan_triggers",
        "func": "optimization.tasks.scan_triggers",
        "schedule_type": Schedule.MINUTES,
        "minutes": 15,
    }
]


def scan_triggers() -> str:
    return "; ".join(triggers_scan().lines())
