"""The errors of the plan rules (config.errors.DomainError, so every way in shows them alike)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from config.errors import Conflict, DomainError


class PlanError(DomainError):
    """A plan rule the caller broke; `code` names it for the API, the message says why."""

    code = "plan_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        errors: list[str] | None = None,
        fields: Mapping[str, Sequence[str] | str] | None = None,
    ):
        super().__init__(message, code=code, fields=fields)
        self._errors = errors

    @property
    def errors(self) -> list[str]:
        return self._errors or super().errors


class PlanStateError(PlanError, Conflict):
    """The version is not in a status that allows this (e.g. editing an approved version)."""

    code = "invalid_status"
    status = 409
