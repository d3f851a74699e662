from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"

    def ready(self) -> None:
        from agents.services import runs, tickets
        from agents.views_queries import qc_alerts_panel
        from approvals.registry import (
            register_dashboard_panel,
            register_reference,
            register_run_gate,
            register_subject,
        )

        register_subject(
            runs.SUBJECT_TYPE,
            on_resolved=tickets.on_run_ticket_resolved,
            on_locked=tickets.on_run_ticket_locked,
            exists=runs.run_exists,
        )
        register_run_gate(runs.run_blocked_reason)
        register_reference("run_id", runs.run_exists)
        register_dashboard_panel(qc_alerts_panel)
