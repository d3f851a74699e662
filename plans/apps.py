from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "plans"

    def ready(self) -> None:
        from approvals.registry import register_reference, register_subject
        from plans.models import SUBJECT_TYPE
        from plans.selectors import version_exists
        from plans.services import on_ticket_locked, on_ticket_resolved, ticket_authors
        from plans.ticket_words import ticket_client_words, ticket_outcome

        register_subject(
            SUBJECT_TYPE,
            on_resolved=on_ticket_resolved,
            on_locked=on_ticket_locked,
            authors=ticket_authors,
            outcome=ticket_outcome,
            client_words=ticket_client_words,
            exists=lambda tenant, subject_id: (
                subject_id.isdigit() and version_exists(tenant, int(subject_id))
            ),
        )
        register_reference("plan_version", version_exists)
