"""How tickets about an agent run read on pages (approvals/presentation.py; registered in
agents/apps.py): the run's own page is the drill-down, so the ticket page needs no panel, and runs
never reach the client."""

from __future__ import annotations

from agents.services.runs import SUBJECT_TYPE
from approvals.presentation import ClientWords


class AgentRunPresentation:
    kind = SUBJECT_TYPE

    def panel(self, ticket, user, role: str) -> None:
        return None  # the facts carry the run's figures and link its page

    def label(self, ticket) -> str:
        return ""  # "run-93ab", from the ticket's run_id

    def outcome(self, ticket) -> str:
        return ""

    def client_words(self, ticket) -> ClientWords | None:
        return None  # A8 and A9 are internal
