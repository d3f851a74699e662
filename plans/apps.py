from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "plans"

    def ready(self) -> None:
        from approvals.registry import register_subject
        from plans.services import SUBJECT_TYPE, describe_subject, on_ticket_resolved

        register_subject(SUBJECT_TYPE, on_resolved=on_ticket_resolved, describe=describe_subject)
