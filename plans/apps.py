from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "plans"

    def ready(self) -> None:
        from approvals.presentation import register_presentation
        from approvals.subjects import register_subject
        from plans.services.tickets import PlanVersionSubject, TrackSubject
        from plans.ticket_words import PlanVersionPresentation, TrackPresentation

        register_subject(PlanVersionSubject())
        register_presentation(PlanVersionPresentation())
        register_subject(TrackSubject())
        register_presentation(TrackPresentation())
