from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"

    def ready(self) -> None:
        from agents.services.tickets import AgentRunStanding, AgentRunSubject
        from agents.ticket_words import AgentRunPresentation
        from agents.views_queries import qc_alerts_panel
        from approvals.presentation import register_dashboard_panel, register_presentation
        from approvals.subjects import register_run_standing, register_subject

        register_subject(AgentRunSubject())
        register_presentation(AgentRunPresentation())
        register_run_standing(AgentRunStanding())
        register_dashboard_panel(qc_alerts_panel)
