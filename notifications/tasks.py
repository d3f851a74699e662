"""django-q2 tasks of notifications (declared by `setup_schedules`). Tasks stay thin."""

from django_q.models import Schedule

from notifications.mail import digests_send_due, mail_send_due
from notifications.outbox import outbox_process
from notifications.services import sla_warnings_scan

SCHEDULES = [
    {
        "name": "notifications.process_outbox",
        "func": "notifications.tasks.process_outbox",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    {
        "name": "notifications.send_mail",
        "func": "notifications.tasks.send_mail",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    {
        "name": "notifications.send_digests",
        "func": "notifications.tasks.send_digests",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
    },
    {
        "name": "notifications.sla_warnings",
        "func": "notifications.tasks.sla_warnings",
        "schedule_type": Schedule.MINUTES,
        "minutes": 5,
    },
]


def process_outbox() -> str:
    return f"fanned out {outbox_process()} event(s)"


def send_mail() -> str:
    return f"sent {mail_send_due()} e-mail(s)"


def send_digests() -> str:
    return f"sent {digests_send_due()} digest(s)"


def sla_warnings() -> str:
    return f"told {sla_warnings_scan()} person(s) of tickets due soon"
