"""The plug-in point between tickets and the things they are about.

The approvals app never imports plans, optimization or agents. A domain app registers, for each
`subject_type` it owns ("plan_version", "change_set", "agent_run", ...):

- `on_resolved(ticket, outcome, actor)`: called inside the transaction that resolves the ticket
  (outcome is a TicketStatus value: approved / rejected / changes_requested / cancelled), so the
  subject's own transition (e.g. approve vN+1 and supersede vN) commits or rolls back together
  with the decision and its audit rows.

"Is this subject blocked?" is the other direction: domain apps ask
`approvals.selectors.subject_blocking_tickets(tenant=, subject_type=, subject_id=)` (open tickets
whose type blocks it). Apps register in their AppConfig.ready().
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OnResolved = Callable[[Any, str, Any], None]


@dataclass(frozen=True)
class SubjectHandler:
    subject_type: str
    on_resolved: OnResolved
    describe: Callable[[Any, str], str] | None = None  # (tenant, subject_id) -> short label


_handlers: dict[str, SubjectHandler] = {}


def register_subject(
    subject_type: str,
    *,
    on_resolved: OnResolved,
    describe: Callable[[Any, str], str] | None = None,
) -> None:
    _handlers[subject_type] = SubjectHandler(subject_type, on_resolved, describe)


def handler_for(subject_type: str) -> SubjectHandler | None:
    return _handlers.get(subject_type)
