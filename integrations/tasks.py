"""django-q2 tasks of integrations (declared by `setup_schedules`). Tasks stay thin."""

from django_q.models import Schedule

from integrations import slack, webhooks
from integrations.checkpoints import checkpoint_deliveries_create
from integrations.services import slack_requests_forget

SCHEDULES = [
    {
        "name": "integrations.deliver_due",
        "func": "integrations.tasks.deliver_due",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    {
        # Each new signed checkpoint to the endpoints that chose `audit.checkpoint`.
        "name": "integrations.post_checkpoints",
        "func": "integrations.tasks.post_checkpoints",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    {
        "name": "integrations.forget_slack_requests",
        "func": "integrations.tasks.forget_slack_requests",
        "schedule_type": Schedule.MINUTES,
        "minutes": 10,
    },
]


def deliver_endpoint(endpoint_id: int) -> str:
    return f"{webhooks.endpoint_deliver(endpoint_id)} try(s)"


def deliver_due() -> str:
    return f"{webhooks.deliveries_due()} try(s)"


def post_checkpoints() -> str:
    return f"posted {checkpoint_deliveries_create()} checkpoint(s)"


def slack_post(ticket_id: int) -> bool:
    return slack.slack_post(ticket_id)


def slack_refresh(ticket_id: int) -> bool:
    return slack.slack_refresh(ticket_id)


def slack_respond(response_url: str, text: str) -> bool:
    return slack.slack_respond(response_url, text)


def forget_slack_requests() -> str:
    return f"forgot {slack_requests_forget()} Slack request signature(s)"
