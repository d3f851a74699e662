from django.apps import AppConfig


class OptimizationConfig(AppConfig):
    name = "optimization"

    def ready(self) -> None:
        from approvals.registry import register_reference, register_subject
        from optimization.panels import change_set_panel, recommendation_panel
        from optimization.selectors import (
            change_set_exists,
            manifest_entries_as_dicts,
            recommendation_exists,
        )
        from optimization.services import tickets
        from optimization.services.change_sets import SUBJECT_TYPE
        from optimization.services.recommendations import RECOMMENDATION_SUBJECT
        from optimization.views_queries import version_entries_as_dicts
        from plans.live import register_live_entries, register_version_entries

        register_live_entries(manifest_entries_as_dicts)
        register_version_entries(version_entries_as_dicts)
        register_subject(
            SUBJECT_TYPE,
            on_resolved=tickets.on_change_set_ticket_resolved,
            on_locked=tickets.on_change_set_ticket_locked,
            panel=change_set_panel,
            client_words=tickets.change_set_client_words,
            exists=change_set_exists,
        )
        register_subject(
            RECOMMENDATION_SUBJECT,
            on_resolved=tickets.on_recommendation_ticket_resolved,
            on_locked=tickets.on_recommendation_ticket_locked,
            panel=recommendation_panel,
            label=tickets.recommendation_label,
            exists=recommendation_exists,
        )
        register_reference("change_set_id", change_set_exists)

        # The change sets of an agent run, for its System Ops page.
        from approvals.registry import register_run_change_sets
        from optimization.selectors import change_sets_of_run

        register_run_change_sets(change_sets_of_run)
