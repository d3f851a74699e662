"""What the ticket services refuse, as errors the pages and the API turn into a message."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from config.errors import Conflict, DomainError


class TicketError(DomainError):
    """Something a person asked that the ticket can't do; the message says why."""

    code = "ticket_error"


class TicketInvalid(TicketError):
    """A ticket's input breaks a rule; `fields` names each field at fault."""

    code = "validation_error"


class TicketNotAllowed(TicketError, PermissionDenied):
    """The actor's role may not do this (uncaught in a view it is a 403)."""

    code = "not_allowed"
    status = 403


class TicketConflict(TicketError, Conflict):
    """The ticket is not in a state that allows it (already decided, already closed)."""

    code = "conflict"
    status = 409


def invalid(fields: dict[str, str]) -> TicketInvalid:
    return TicketInvalid(
        "; ".join(f"{name}: {problem}" for name, problem in fields.items()), fields=fields
    )
