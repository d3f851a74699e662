"""The audit app's scheduled work (declared by `manage.py setup_schedules`)."""

from django_q.models import Schedule

from audit.checkpoints import audit_checkpoint_all

SCHEDULES = [
    {
        # A chain that grew is checkpointed within the minute (docs/rules.md "Audit log").
        "name": "audit.checkpoint",
        "func": "audit.tasks.audit_checkpoint",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
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
