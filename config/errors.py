"""The one error type of the product's rules, and how each way in shows it.

A service that refuses something a person or an agent asked raises a `DomainError` (or one of
its app's subclasses): a code the API answers with, the HTTP status that fits, a sentence that
says why and, for bad input, the fields at fault. The agent API turns it into
`{"error", "detail", "fields"?}` (config/api.py, one handler); a page shows it as a message
(`page_error`). Nothing keeps its own exception → status map.

Imports no app of the project: every app may import it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.contrib import messages
from django.http import HttpRequest


class DomainError(Exception):
    """Something the caller asked that the rules refuse; nothing was written."""

    code = "invalid"
    status = 422

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        fields: Mapping[str, Sequence[str] | str] | None = None,
    ):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.fields = {
            name: [problems] if isinstance(problems, str) else list(problems)
            for name, problems in (fields or {}).items()
        }

    @property
    def errors(self) -> list[str]:
        """Each problem as a sentence (a form shows them one per line)."""
        if not self.fields:
            return [self.message]
        return [
            f"{name}: {problem}" if name != "__all__" else problem
            for name, problems in self.fields.items()
            for problem in problems
        ]

    def body(self) -> dict:
        body = {"error": self.code, "detail": self.message}
        if self.fields:
            body["fields"] = self.fields
        return body


class NotAllowed(DomainError):
    """The actor's role may not do this."""

    code = "forbidden"
    status = 403


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    """The thing is not in a state that allows it (already decided, changed meanwhile)."""

    code = "conflict"
    status = 409


class TryAgain(Conflict):
    """A concurrent write got in the way (deadlock, serialization failure): nothing was written,
    and the same request a moment later will go through."""

    code = "try_again"

    def __init__(self, message: str = "", **kwargs):
        super().__init__(
            message
            or "Someone else changed this at the same moment; nothing was saved. Please try again.",
            **kwargs,
        )


class Blocked(DomainError):
    """What the caller acts for is blocked until a person resolves a ticket (423 Locked); the
    answer names the ticket when the caller knows it."""

    code = "blocked"
    status = 423

    def __init__(self, message: str, *, ticket: str = "", **kwargs):
        super().__init__(message, **kwargs)
        self.ticket = ticket

    def body(self) -> dict:
        body = super().body()
        if self.ticket:
            body["ticket"] = self.ticket
        return body


def page_error(request: HttpRequest, error: DomainError) -> int:
    """Show a refusal on the next page as a message; returns the status that fits it."""
    messages.error(request, error.message)
    return error.status
