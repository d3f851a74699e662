"""django-q2 tasks of the optimization app (declared by `setup_schedules`). Tasks stay thin."""

from django_q.models import Schedule

from optimization.services import triggers_scan
from optimization.services.reconcile import reconcile as reconcile_run

SCHEDULES = [
    {
        "name": "optimization.scan_triggers",
        "func": "optimization.tasks.scan_triggers",
        "schedule_type": Schedule.MINUTES,
        "minutes": 15,
    },
    {
        "name": "optimization.reconcile",
        "func": "optimization.tasks.reconcile",
        "schedule_type": Schedule.MINUTES,
        "minutes": 15,
    },
]


def scan_triggers() -> str:
    return "; ".join(triggers_scan().lines())


def reconcile() -> str:
    return "; ".join(reconcile_run().lines())
