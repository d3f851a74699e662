"""django-q2 tasks of the optimization app (declared by `setup_schedules`). Tasks stay thin."""

from django_q.models import Schedule

from optimization.services import triggers_scan
from optimization.services.reconcile import reconcile as reconcile_run
from optimization.services.rollups import change_set_rollups_refresh

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
    {
        # The change-set rollups the ops metrics read (optimization/services/rollups.py): every
        # 5 minutes, like the QC ones, so a past day's figure lags its log by one interval at most.
        "name": "optimization.change_set_rollups",
        "func": "optimization.tasks.change_set_rollups",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
    },
]


def scan_triggers() -> str:
    return "; ".join(triggers_scan().lines())


def reconcile() -> str:
    return "; ".join(reconcile_run().lines())


def change_set_rollups() -> str:
    return change_set_rollups_refresh().line()
