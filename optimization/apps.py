from django.apps import AppConfig


class OptimizationConfig(AppConfig):
    name = "optimization"

    def ready(self) -> None:
        from approvals.presentation import (
            register_dashboard_panel,
            register_decision_destination,
            register_presentation,
            register_run_change_sets,
        )
        from approvals.subjects import register_subject
        from optimization.panels import (
            ChangeSetPresentation,
            ManifestEntryPresentation,
            ManifestLaunchPresentation,
            PlatformAccountPresentation,
            RecommendationPresentation,
            ReconciliationPresentation,
            ThemePresentation,
            recommendation_destination,
        )
        from optimization.selectors import change_sets_of_run, manifest_entries_as_dicts
        from optimization.services.alignment import alignment_version_approved
        from optimization.services.launches import ManifestEntrySubject, ManifestLaunchSubject
        from optimization.services.themes import CreativeThemeSubject
        from optimization.services.tickets import (
            ChangeSetSubject,
            PlatformAccountSubject,
            RecommendationSubject,
            ReconciliationSubject,
        )
        from optimization.views_alignment import alignment_panel
        from optimization.views_queries import version_entries_as_dicts
        from plans.live import (
            register_live_entries,
            register_version_approved,
            register_version_entries,
        )

        register_subject(ChangeSetSubject())
        register_subject(RecommendationSubject())
        register_subject(ReconciliationSubject())
        register_subject(PlatformAccountSubject())
        register_subject(ManifestLaunchSubject())
        register_subject(ManifestEntrySubject())
        register_subject(CreativeThemeSubject())
        register_presentation(ChangeSetPresentation())
        register_presentation(RecommendationPresentation())
        register_presentation(ReconciliationPresentation())
        register_presentation(PlatformAccountPresentation())
        register_presentation(ManifestLaunchPresentation())
        register_presentation(ManifestEntryPresentation())
        register_presentation(ThemePresentation())
        # Approving a recommendation opens its draft in the plan editor.
        register_decision_destination(RecommendationPresentation.kind, recommendation_destination)
        # The change sets of an agent run, for its System Ops page.
        register_run_change_sets(change_sets_of_run)
        # The live manifest plans compares versions with.
        register_live_entries(manifest_entries_as_dicts)
        register_version_entries(version_entries_as_dicts)
        # An approved version's remaining delta becomes alignment work.
        register_version_approved(alignment_version_approved)
        register_dashboard_panel(alignment_panel)
