"""django-q2 tasks of the agents app (declared by `setup_schedules`). Tasks stay thin."""

from django_q.models import Schedule

from agents.services.rollups import qc_rollups_refresh, run_rollups_refresh

SCHEDULES = [
    {
        # The QC result rollups the ops metrics read (agents/services/rollups.py): every 5
        # minutes, so the raw tail the metrics read besides them stays short.
        "name": "agents.qc_rollups",
        "func": "agents.tasks.qc_rollups",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
    },
    {
        # The run rollups (failure codes, loop depth, A8 by QC pattern), likewise.
        "name": "agents.run_rollups",
        "func": "agents.tasks.run_rollups",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
    },
]


def qc_rollups() -> str:
    return qc_rollups_refresh().line()


def run_rollups() -> str:
    return run_rollups_refresh().line()
