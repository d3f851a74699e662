"""The plug-in points between tickets and the things they are about.

The approvals app never imports plans, optimization or agents. A domain app registers, in its
AppConfig.ready(), for each `subject_type` it owns ("plan_version", "change_set", "agent_run", ...):

- `exists(tenant, subject_id)`: does the tenant have this subject? (subject_id as a ticket stores
  it, a string): a ticket about something the tenant doesn't have is refused;
- `on_locked(ticket)`: called right after a ticket about the subject (with its sibling tickets)
  is locked and before anything is written, so the owner locks the subject and whatever its
  transition would change — the product's lock order (config/locks.py) in one place;
- `authors(ticket)`: who wrote the subject, as {user id: "you drafted v6"}: four eyes
  (`approval_policy.separation_of_duties`) keeps them out of its approval slots;
- `on_resolved(ticket, outcome, actor)`: called inside the transaction that resolves the ticket
  (outcome is a TicketStatus value: approved / rejected / changes_requested / cancelled), so the
  subject's own transition (e.g. approve vN+1 and supersede vN) commits or rolls back together
  with the decision and its audit rows.

- `panel(ticket, user, role)` (optional): what the ticket page shows about the subject beside the
  diff preview — a `(template_name, context)` pair the page includes, or None. The owner renders
  its own evidence and links (a recommendation's signal and numbers, a change set's page) without
  approvals knowing what a subject is.
- `label(ticket)` (optional): how buttons name the subject, in full ("change set cs-3f2a9c").
- `outcome(ticket)` (optional): where the subject stands after a decision, in a sentence for the
  message that follows it ("v7 is now the current version of always_on"), or "".
- `client_words(ticket)` (optional): how the client portal names the ticket, in the client's
  words (a ClientWords, or None for the portal's own): the ticket's title and summary are written
  for the team and may carry internal words (track keys, "revise v5", guardrails).

And for each reference a ticket may carry (`plan_version`, `change_set_id`, `run_id`), a check
that the tenant has it (`register_reference`): a ticket naming something the tenant does not have
is refused. A reference nobody registered names nothing the tenant can have.

"Is this subject blocked?" is the other direction: domain apps ask
`approvals.selectors.subject_blocking_tickets(tenant=, subject_type=, subject_id=)` (open tickets
whose type blocks it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OnResolved = Callable[[Any, str, Any], None]
OnLocked = Callable[[Any], None]
Authors = Callable[[Any], dict[int, str]]  # ticket -> {user id: "you drafted v6"}
# (ticket, user, role in the ticket's tenant) -> (template name, context) or None
SubjectExists = Callable[[Any, str], bool]  # (tenant, subject id as stored) -> does it exist?
Panel = Callable[[Any, Any, str], "tuple[str, dict] | None"]
ReferenceExists = Callable[[Any, Any], bool]  # (tenant, value) -> does the tenant have it?


@dataclass(frozen=True)
class ClientWords:
    """A ticket as the client portal names it."""

    title: str  # "Always-on plan, December update"
    kind: str = ""  # "Budget increase", "Proposed replan"; "" -> the portal's own rule
    summary: tuple[str, ...] | None = None  # the changes in sentences; None -> the diff preview's
    # Before/after rows a sentence can't carry ("Messaging": the old and the new wording), as
    # {"field", "before", "after"} in the client's words; the team's field paths are never shown.
    changes: tuple[dict, ...] = ()


@dataclass(frozen=True)
class SubjectHandler:
    subject_type: str
    on_resolved: OnResolved
    on_locked: OnLocked | None = None
    authors: Authors | None = None
    panel: Panel | None = None
    label: Callable[[Any], str] | None = None  # ticket -> how buttons name its subject
    outcome: Callable[[Any], str] | None = None  # ticket -> where its subject stands now
    client_words: Callable[[Any], ClientWords | None] | None = None
    exists: SubjectExists | None = None


_handlers: dict[str, SubjectHandler] = {}
_references: dict[str, ReferenceExists] = {}


def register_subject(
    subject_type: str,
    *,
    on_resolved: OnResolved,
    on_locked: OnLocked | None = None,
    authors: Authors | None = None,
    panel: Panel | None = None,
    label: Callable[[Any], str] | None = None,
    outcome: Callable[[Any], str] | None = None,
    client_words: Callable[[Any], ClientWords | None] | None = None,
    exists: SubjectExists | None = None,
) -> None:
    _handlers[subject_type] = SubjectHandler(
        subject_type,
        on_resolved,
        on_locked,
        authors=authors,
        panel=panel,
        label=label,
        outcome=outcome,
        client_words=client_words,
        exists=exists,
    )


def handler_for(subject_type: str) -> SubjectHandler | None:
    return _handlers.get(subject_type)


def subject_exists(subject_type: str, *, tenant, subject_id: str) -> bool:
    """Does the tenant have this subject? A kind nobody registered names nothing it can have."""
    handler = _handlers.get(subject_type)
    return handler is not None and handler.exists is not None and handler.exists(tenant, subject_id)


def subject_panel(ticket, *, user, role: str) -> tuple[str, dict] | None:
    """The subject owner's panel for the ticket page, or None when it registered none."""
    handler = _handlers.get(ticket.subject_type) if ticket.subject_type else None
    if handler is None or handler.panel is None:
        return None
    return handler.panel(ticket, user, role)


def subject_outcome(ticket) -> str:
    """Where the ticket's subject stands now, as its owner says it, or "" (a ticket attached for
    information decided nothing about its subject)."""
    handler = _handlers.get(ticket.subject_type) if ticket.governs_subject else None
    if handler is None or handler.outcome is None:
        return ""
    return handler.outcome(ticket)


def subject_client_words(ticket) -> ClientWords | None:
    """The ticket in the client's words, as its subject's owner says it, or None (a ticket
    attached for information is not its subject: the portal names it by its own words)."""
    handler = _handlers.get(ticket.subject_type) if ticket.governs_subject else None
    if handler is None or handler.client_words is None:
        return None
    return handler.client_words(ticket)


def register_reference(field: str, exists: ReferenceExists) -> None:
    _references[field] = exists


def reference_exists(field: str, *, tenant, value) -> bool:
    exists = _references.get(field)
    return exists is not None and exists(tenant, value)


# --- Runs ------------------------------------------------------------------------------------
# Whether an agent run may still act (A8/A9 block it and every downstream mutation): the app
# that owns runs registers the check; until one does, no run is blocked.
RunBlockReason = Callable[[Any, str], "str | None"]  # (tenant, run_id) -> why it is blocked
_run_gate: RunBlockReason | None = None


def register_run_gate(check: RunBlockReason) -> None:
    global _run_gate
    _run_gate = check


def run_block_reason(*, tenant, run_id: str) -> str | None:
    """Why the run may not act now (a sentence naming its ticket), or None."""
    if not run_id or _run_gate is None:
        return None
    return _run_gate(tenant, run_id)


# --- The dashboard and a run's change sets ---------------------------------------------------
# A domain app may show a panel on the dashboard beside the red-flag lane (agents: its QC
# alerts): `panel(user, memberships)` gets the person's internal memberships (tenant ids and
# roles, already loaded) and returns a `(template name, context)` pair the dashboard includes,
# or None. Registered once per app in AppConfig.ready(), shown in registration order.
DashboardPanel = Callable[[Any, list], "tuple[str, dict] | None"]
_dashboard_panels: list[DashboardPanel] = []


def register_dashboard_panel(panel: DashboardPanel) -> None:
    if panel not in _dashboard_panels:
        _dashboard_panels.append(panel)


def dashboard_panels(*, user, memberships: list) -> list[tuple[str, dict]]:
    panels = (panel(user, memberships) for panel in _dashboard_panels)
    return [panel for panel in panels if panel is not None]


# The change sets that carry a run's id, for the run's page: the app that owns change sets
# registers the read (agents and optimization import neither the other), each change set as a
# plain dict. None when no app registered one.
RunChangeSets = Callable[[Any, str], list[dict]]  # (tenant, run_id) -> change sets, newest first
_run_change_sets: RunChangeSets | None = None


def register_run_change_sets(reader: RunChangeSets) -> None:
    global _run_change_sets
    _run_change_sets = reader


def run_change_sets(*, tenant, run_id: str) -> list[dict] | None:
    if _run_change_sets is None:
        return None
    return _run_change_sets(tenant, run_id)
