"""The cluster's heartbeat: a schedule every minute, so /healthz sees the scheduler and a worker
both at work (declared by `manage.py setup_schedules`)."""

from django.utils import timezone
from django_q.models import Schedule

from ops.models import Heartbeat

CLUSTER = "cluster"

SCHEDULES = [
    {
        "name": "ops.heartbeat",
        "func": "ops.tasks.heartbeat",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
]


def heartbeat() -> str:
    now = timezone.now()
    Heartbeat.objects.update_or_create(name=CLUSTER, defaults={"beat_at": now})
    return now.isoformat()
