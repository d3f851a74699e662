from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "plans"

    def ready(self) -> None:
        from approvals.presentation import register_dashboard_panel, register_presentation
        from approvals.subjects import register_subject
        from plans.services.tickets import PlanVersionSubject, TrackSubject
        from plans.ticket_words import PlanVersionPresentation, TrackPresentation
        from plans.views_queries import outdated_versions_panel

        register_subject(PlanVersionSubject())
        register_presentation(PlanVersionPresentation())
        register_subject(TrackSubject())
        register_presentation(TrackPresentation())
        register_dashboard_panel(outdated_versions_panel)
