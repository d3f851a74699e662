"""What can go wrong, as exceptions an agent can catch by meaning.

Every answer of the API that is not a success becomes an `ApiError` subclass carrying the
server's `error` code, its `detail` sentence and the `fields` at fault (as sent). A 423 is
`Blocked`: stop the run, a person has to resolve `ticket` first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any


class HumanTouchError(Exception):
    """Anything this client raises."""


class TransportError(HumanTouchError):
    """The server could not be reached, or its answer was lost and the call was not safe to send
    again (it counts each time it arrives: a gate call, a QC result, a spend report without a
    reservation)."""


class IncompatibleServer(HumanTouchError):
    """The server speaks another version of the agent API than this client."""


class ApiError(HumanTouchError):
    """An answer with an error status: `error` is the code, `detail` the server's sentence."""

    def __init__(
        self,
        *,
        status: int,
        error: str,
        detail: str,
        fields: dict[str, list[str]] | None = None,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(f"{status} {error}: {detail}")
        self.status = status
        self.error = error
        self.detail = detail
        self.fields = fields or {}
        self.body = body or {}
        self.headers = headers or {}


class Unauthorized(ApiError):
    """401: no key, or not a valid active key."""


class Forbidden(ApiError):
    """403: the key may not do this."""


class NotFound(ApiError):
    """404: no such thing for this key's tenant."""


class Conflict(ApiError):
    """409: the id was used for another body, the thing is in a state that does not allow it,
    the live state moved (`stale_before`), or a concurrent write got in the way (`try_again`,
    which the client retries by itself)."""

    @property
    def try_again(self) -> bool:
        return self.error == "try_again"


class PayloadTooLarge(ApiError):
    """413: send fewer items per call."""


class Invalid(ApiError):
    """422: the input breaks a rule; `fields` names the fields at fault as sent."""


class Blocked(ApiError):
    """423: the run (or the track, the entity) is blocked until a person resolves `ticket`.

    Stop: retrying cannot help. `reason` says why (`loop_limit:<counter>`, `cost_guard`,
    `run_ended`, or the error code of another block)."""

    def __init__(self, *, ticket: str | None = None, reason: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.ticket = ticket or None
        self.reason = reason or self.error

    def __str__(self) -> str:
        waits = f" (waits for {self.ticket})" if self.ticket else ""
        return f"{self.status} {self.error}{waits}: {self.detail}"


class RateLimited(ApiError):
    """429: too many calls for this key; `retry_after` says how long to wait (seconds)."""

    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers.get("retry-after"))


class ServerError(ApiError):
    """5xx: the server failed (a 500 is a bug the server logged)."""


class Unavailable(ServerError):
    """503: the server is up but cannot serve now (its database is down): nothing was done."""

    @property
    def retry_after(self) -> float | None:
        return retry_after_seconds(self.headers.get("retry-after"))


class WaitTimeout(HumanTouchError, TimeoutError):
    """Nobody decided the ticket in time; `ticket` is how it stood at the last look."""

    def __init__(self, message: str, *, ticket: Any):
        super().__init__(message)
        self.ticket = ticket


def retry_after_seconds(value: str | None) -> float | None:
    """A Retry-After header as seconds: delta-seconds or an HTTP date; None when absent or not
    understood."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: Invalid,
    423: Blocked,
    429: RateLimited,
    503: Unavailable,
}


def error_from_answer(status: int, body: Any, headers: dict[str, str], text: str) -> ApiError:
    """The exception for an error answer: the server's `{"error", "detail", "fields"?}`, or what
    a proxy in between said when it is not that shape."""
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        error, detail = body["error"], str(body.get("detail", ""))
        fields = body.get("fields") if isinstance(body.get("fields"), dict) else None
    else:
        body, fields = {}, None
        error = {429: "rate_limited", 503: "unavailable"}.get(status, f"http_{status}")
        detail = " ".join(text.split())[:300] or f"HTTP {status} with no body"
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else ApiError)
    kwargs: dict[str, Any] = {
        "status": status,
        "error": error,
        "detail": detail,
        "fields": fields,
        "body": body,
        "headers": headers,
    }
    if cls is Blocked:
        return Blocked(ticket=body.get("ticket"), reason=body.get("reason"), **kwargs)
    return cls(**kwargs)
