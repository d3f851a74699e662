from django.apps import AppConfig


class AgentsConfig(AppConfig):
    name = "agents"

    def ready(self) -> None:
        from agents.services import runs, tickets
        from approvals.registry import register_reference, register_run_gate, register_subject

        register_subject(
            runs.SUBJECT_TYPE,
            on_resolved=tickets.on_run_ticket_resolved,
            on_locked=tickets.on_run_ticket_locked,
        )
        register_run_gate(runs.run_blocked_reason)
        register_reference("run_id", runs.run_exists)
