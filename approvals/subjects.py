"""What approvals needs from the apps that own the things a ticket can be about.

The approvals app never imports plans, optimization or agents. Each app that owns a subject kind
(approvals/types.py `SubjectKind`) implements `TicketSubject` in one module and registers it in
its AppConfig.ready():

    plans/apps.py         PlanVersionSubject      from plans/services/tickets.py
                          TrackSubject            from plans/services/tickets.py
    optimization/apps.py  ChangeSetSubject        from optimization/services/tickets.py
                          RecommendationSubject   from optimization/services/tickets.py
                          ManifestLaunchSubject   from optimization/services/launches.py
                          ManifestEntrySubject    from optimization/services/launches.py
                          CreativeThemeSubject    from optimization/services/themes.py
    agents/apps.py        AgentRunSubject         from agents/services/tickets.py

So a decision reads straight through: `ticket_decide` → `ticket_decide_within` → `ticket_resolve`
(approvals/services/resolve.py) → `subject_for(ticket.subject_type).on_resolved(...)` → the
class registered above. The agents app also registers the `RunStanding` that change sets ask
before acting for a run. A system check (approvals/checks.py) fails at start-up when a kind some
ticket type governs has no subject, when a registered one lacks a method, or when nothing answers
for runs — never a silent None.

How a subject reads on pages (panels, labels, the client's words) is not here: see
approvals/presentation.py.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class TicketSubject(Protocol):
    """One kind of thing tickets are about, as the app that owns it implements it. Only tickets
    that govern their subject (`Ticket.governs_subject`) reach `lock` and `on_resolved`."""

    kind: str  # a SubjectKind value

    def exists(self, tenant: Any, subject_id: str) -> bool:
        """Does the tenant have this subject? (`subject_id` as a ticket stores it, a string)"""
        ...

    def lock(self, ticket: Any) -> None:
        """Called right after the ticket and its siblings are locked, before anything is written:
        lock the subject and whatever its transition would change (config/locks.py)."""
        ...

    def authors(self, ticket: Any) -> dict[int, str]:
        """Who wrote the subject, as {user id: "you drafted v6"}: four eyes keeps them out of its
        approval slots. {} when people don't write this kind."""
        ...

    def on_resolved(self, ticket: Any, outcome: str, actor: Any) -> None:
        """Called inside the transaction that resolves a governing ticket (outcome is a
        TicketStatus value), so the subject's own transition commits or rolls back with it."""
        ...


@runtime_checkable
class RunStanding(Protocol):
    """Whether an agent run may still act: A8/A9 block it and every downstream mutation. The app
    that owns runs implements it; change sets ask it before acting for a run."""

    def blocked_reason(self, tenant: Any, run_id: str) -> str | None:
        """Why the run may not act now (a sentence naming its ticket), or None."""
        ...


_subjects: dict[str, TicketSubject] = {}
_run_standing: list[RunStanding] = []  # at most one; a list keeps the module free of `global`


def register_subject(subject: TicketSubject) -> None:
    _subjects[subject.kind] = subject


def registered_subjects() -> dict[str, TicketSubject]:
    return dict(_subjects)


def subject_for(kind: str) -> TicketSubject:
    """The registered subject of `kind`. A governing ticket's kind always has one (the system
    check makes sure at start-up), so a missing one is a programming error, not a quiet None."""
    try:
        return _subjects[kind]
    except KeyError:
        raise LookupError(f"No ticket subject registered for {kind!r}.") from None


def subject_exists(kind: str, *, tenant, subject_id: str) -> bool:
    """Does the tenant have this subject? A kind nobody registered names nothing it can have."""
    subject = _subjects.get(kind)
    return subject is not None and subject.exists(tenant, str(subject_id))


def register_run_standing(standing: RunStanding) -> None:
    _run_standing[:] = [standing]


def run_standing_registered() -> bool:
    return bool(_run_standing)


def run_block_reason(*, tenant, run_id: str) -> str | None:
    """Why the run may not act now (a sentence naming its ticket), or None."""
    if not run_id:
        return None
    if not _run_standing:
        raise LookupError("No RunStanding registered: the agents app answers for runs.")
    return _run_standing[0].blocked_reason(tenant, run_id)
