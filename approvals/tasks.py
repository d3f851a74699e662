"""django-q2 tasks of the approvals app (declared by `setup_schedules`). Tasks stay thin."""

from django_q.models import Schedule

from approvals.services.rollups import ticket_rollups_refresh
from approvals.sweep import ticket_sla_sweep

SCHEDULES = [
    {
        "name": "approvals.sweep_sla",
        "func": "approvals.tasks.sweep_sla",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
    },
    {
        # The ticket rollups the ops metrics read (approvals/services/rollups.py), every 5
        # minutes like the other rollups.
        "name": "approvals.ticket_rollups",
        "func": "approvals.tasks.ticket_rollups",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
    },
]


def sweep_sla() -> str:
    result = ticket_sla_sweep()
    return f"escalated {result.escalated} ticket(s) in {result.tenants} tenant(s)"


def ticket_rollups() -> str:
    return ticket_rollups_refresh().line()
