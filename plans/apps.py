from django.apps import AppConfig


class PlansConfig(AppConfig):
    name = "plans"

    def ready(self) -> None:
        from approvals.presentation import register_dashboard_panel, register_presentation
        from approvals.subjects import register_subject
        from audit.resources import register_resource_resolver
        from plans.services.tickets import PlanVersionSubject, TrackSubject
        from plans.ticket_words import PlanVersionPresentation, TrackPresentation
        from plans.views_queries import outdated_versions_panel, track_resource_names

        register_subject(PlanVersionSubject())
        register_presentation(PlanVersionPresentation())
        register_subject(TrackSubject())
        register_presentation(TrackPresentation())
        register_dashboard_panel(outdated_versions_panel)
        # The audit log names a track by its key ("Track always_on"), not its id.
        register_resource_resolver("track", track_resource_names)
