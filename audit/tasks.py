"""The audit app's scheduled work (declared by `manage.py setup_schedules`)."""

from django_q.models import Schedule

from audit.checkpoints import audit_checkpoint_all
from audit.partitions import partitions_ensure

SCHEDULES = [
    {
        # A chain that grew is checkpointed within the minute (docs/rules.md "Audit log").
        "name": "audit.checkpoint",
        "func": "audit.tasks.audit_checkpoint",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    {
        # This month's and the next three months' partitions of the tables that grow forever
        # (audit/partitions.py): a month ahead of need, so a missed day or two changes nothing.
        "name": "audit.partitions",
        "func": "audit.tasks.audit_partitions_ensure",
        "schedule_type": Schedule.DAILY,
    },
]


class ChainNotContinued(RuntimeError):
    """A chain no longer contains its last checkpoint: the task fails loudly (django-q2 keeps
    it among its failures) and nothing is signed over the rewritten chain."""


def audit_checkpoint() -> str:
    outcomes = audit_checkpoint_all()
    lines = "; ".join(outcome.line() for outcome in outcomes)
    if any(outcome.status == "refused" for outcome in outcomes):
        raise ChainNotContinued(lines)
    return lines


def audit_partitions_ensure() -> str:
    made = partitions_ensure()
    return "; ".join(f"{table}: {count} partitions made" for table, count in made.items())
