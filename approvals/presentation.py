"""How a ticket's subject reads on the pages that show tickets: the panel beside the diff preview,
how buttons name it, where it stands after a decision, and the client's words for it. The views
compose pages from these; the domain (approvals/subjects.py) never needs them.

Each app that owns a subject kind implements `SubjectPresentation` in one module and registers it
in its AppConfig.ready(), beside its TicketSubject:

    plans/apps.py         PlanVersionPresentation      from plans/ticket_words.py
                          TrackPresentation            from plans/ticket_words.py
    optimization/apps.py  ChangeSetPresentation        from optimization/panels.py
                          RecommendationPresentation   from optimization/panels.py
                          ManifestLaunchPresentation   from optimization/panels.py
                          ManifestEntryPresentation    from optimization/panels.py
                          ThemePresentation            from optimization/panels.py
    agents/apps.py        AgentRunPresentation         from agents/ticket_words.py

Two page pieces cross apps the same way: dashboard panels (an app's box beside the red-flag
lane; agents shows its QC alerts) and the change sets of a run (optimization owns change sets,
agents shows them on a run's page). The system check (approvals/checks.py) fails at start-up when
a registered subject has no presentation or nobody reads a run's change sets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from approvals.types import TicketType


@dataclass(frozen=True)
class ClientWords:
    """A ticket as the client portal names it."""

    title: str  # "Always-on plan, December update"
    kind: str = ""  # "Budget increase", "Proposed replan"; "" -> the portal's own rule
    summary: tuple[str, ...] | None = None  # the changes in sentences; None -> the diff preview's
    # Before/after rows a sentence can't carry ("Messaging": the old and the new wording), as
    # {"field", "before", "after"} in the client's words; the team's field paths are never shown.
    changes: tuple[dict, ...] = ()
    # Where a closed item stands, in the client's words, when the subject says more than the
    # ticket's status: status "Replaced", note "Replaced by the plan you approved on 6 Dec".
    status: str = ""
    note: str = ""


@runtime_checkable
class SubjectPresentation(Protocol):
    kind: str  # a SubjectKind value

    def panel(self, ticket: Any, user: Any, role: str) -> tuple[str, dict] | None:
        """What the ticket page shows about the subject beside the diff preview: a
        `(template name, context)` pair the page includes, or None."""
        ...

    def label(self, ticket: Any) -> str:
        """How buttons name the subject, in full ("change set cs-3f2a9c"), or "" for the
        ticket's own words."""
        ...

    def outcome(self, ticket: Any) -> str:
        """Where the subject stands after a decision, in a sentence ("v7 is now the current
        version of always_on"), or ""."""
        ...

    def client_words(self, ticket: Any) -> ClientWords | None:
        """How the client portal names the ticket, or None for the portal's own rule (the
        ticket's title and summary are written for the team)."""
        ...


_presentations: dict[str, SubjectPresentation] = {}


def register_presentation(presentation: SubjectPresentation) -> None:
    _presentations[presentation.kind] = presentation


def registered_presentations() -> dict[str, SubjectPresentation]:
    return dict(_presentations)


def _presentation(ticket) -> SubjectPresentation | None:
    return _presentations.get(ticket.subject_type) if ticket.subject_type else None


def subject_panel(ticket, *, user, role: str) -> tuple[str, dict] | None:
    presentation = _presentation(ticket)
    return presentation.panel(ticket, user, role) if presentation else None


def subject_label(ticket) -> str:
    presentation = _presentation(ticket)
    return presentation.label(ticket) if presentation else ""


def subject_outcome(ticket) -> str:
    """Where the ticket's subject stands now, or "" (a ticket attached for information decided
    nothing about its subject)."""
    presentation = _presentation(ticket) if ticket.governs_subject else None
    return presentation.outcome(ticket) if presentation else ""


def subject_client_words(ticket) -> ClientWords | None:
    """The ticket in the client's words, or None (a ticket attached for information is not its
    subject: the portal names it by its own words)."""
    presentation = _presentation(ticket) if ticket.governs_subject else None
    return presentation.client_words(ticket) if presentation else None


# What the client is asked by a ticket whose subject's owner does not say, by type.
CLIENT_KIND_OF_TYPE = {
    TicketType.A7: "Creative theme",
    TicketType.A4: "Access request",
    TicketType.A3: "Budget increase",
    TicketType.A5: "Budget increase",
}


def ticket_client_kind(ticket) -> str:
    """What the client is asked, in their words ("Proposed replan", "Budget increase"): the
    subject's owner says, from the subject itself (a plan version's kind, a change set's
    direction); otherwise the ticket's type."""
    return client_kind(ticket, subject_client_words(ticket))


def client_kind(ticket, words: ClientWords | None) -> str:
    """ticket_client_kind, given the subject's client words already read."""
    if words is not None and words.kind:
        return words.kind
    return CLIENT_KIND_OF_TYPE.get(ticket.type) or ticket.ticket_type.name


# --- The dashboard -----------------------------------------------------------------------------
# `panel(user, memberships)` gets the person's internal memberships (tenant ids and roles, already
# loaded) and returns a `(template name, context)` pair the dashboard includes, or None. Shown in
# registration order; having none is fine.
DashboardPanel = Callable[[Any, list], "tuple[str, dict] | None"]
_dashboard_panels: list[DashboardPanel] = []


def register_dashboard_panel(panel: DashboardPanel) -> None:
    if panel not in _dashboard_panels:
        _dashboard_panels.append(panel)


def dashboard_panels(*, user, memberships: list) -> list[tuple[str, dict]]:
    panels = (panel(user, memberships) for panel in _dashboard_panels)
    return [panel for panel in panels if panel is not None]


# --- A run's change sets -----------------------------------------------------------------------
RunChangeSets = Callable[[Any, str], list[dict]]  # (tenant, run_id) -> change sets, newest first
_run_change_sets: list[RunChangeSets] = []


def register_run_change_sets(reader: RunChangeSets) -> None:
    _run_change_sets[:] = [reader]


def run_change_sets_registered() -> bool:
    return bool(_run_change_sets)


def run_change_sets(*, tenant, run_id: str) -> list[dict]:
    """The change sets that carry a run's id, for the run's page (each a plain dict)."""
    if not _run_change_sets:
        raise LookupError("No reader of a run's change sets: the optimization app registers it.")
    return _run_change_sets[0](tenant, run_id)


# --- The ticket page's side panels ---------------------------------------------------------------
# `panel(ticket, user)` returns a `(template name, context)` pair the ticket page includes in its
# side column (notifications: follow and mute), or None. Shown in registration order.
TicketPanel = Callable[[Any, Any], "tuple[str, dict] | None"]
_ticket_panels: list[TicketPanel] = []


def register_ticket_panel(panel: TicketPanel) -> None:
    if panel not in _ticket_panels:
        _ticket_panels.append(panel)


def ticket_panels(*, ticket, user) -> list[tuple[str, dict]]:
    panels = (panel(ticket, user) for panel in _ticket_panels)
    return [panel for panel in panels if panel is not None]


# --- Where a decision leads ----------------------------------------------------------------------
# `destination(ticket, verdict, user)` returns the page the person who just decided goes on to
# (approving a recommendation opens its draft in the plan editor), or "" to stay on the ticket.
# One per subject kind; kinds without one stay on the ticket.
DecisionDestination = Callable[[Any, str, Any], str]
_destinations: dict[str, DecisionDestination] = {}


def register_decision_destination(kind: str, destination: DecisionDestination) -> None:
    _destinations[kind] = destination


def decision_destination(ticket, *, verdict: str, user) -> str:
    """Where the decider goes after `verdict` on `ticket`, or "" (stay on the ticket)."""
    destination = _destinations.get(ticket.subject_type) if ticket.governs_subject else None
    return destination(ticket, verdict, user) if destination else ""
