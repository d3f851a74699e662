"""django-q2 tasks of the metrics app (declared by `setup_schedules`). Tasks stay thin.

The weekly reports go out at Monday 08:00 on each tenant's own wall clock, so one schedule looks
every 15 minutes and sends what has come due (metrics.periods.report_week_due): a single cron
time in one zone could not follow tenants across zones and their DST changes."""

from django_q.models import Schedule

from metrics.services import weekly_reports_send

SCHEDULES = [
    {
        "name": "metrics.weekly_reports",
        "func": "metrics.tasks.weekly_reports",
        "schedule_type": Schedule.MINUTES,
        "minutes": 15,
    }
]


def weekly_reports() -> str:
    return weekly_reports_send().line()
