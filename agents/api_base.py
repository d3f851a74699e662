"""What every API router shares: bearer-key auth, the error shape and the acting agent.

Every error is JSON {"error": "<code>", "detail": "<sentence>"} with a 4xx status (CONTRACT.md).
"""

from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest
from ninja.security import HttpBearer
from pydantic import AfterValidator

from agents.services import agent_key_authenticate
from audit.actors import Actor


def storable_text(value: str) -> str:
    """Text a database can keep. PostgreSQL refuses NUL in any text or jsonb value and no
    engine encodes a lone surrogate (JSON lets a body send both as \\u escapes), so the insert or
    even the lookup would fail: refuse them as input errors instead."""
    if "\x00" in value:
        raise ValueError("may not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("may not contain lone surrogates (not valid UTF-8)") from None
    return value


# For every free-text field and path parameter of the API (ninja answers a failure with 422).
StorableText = Annotated[str, AfterValidator(storable_text)]


class ApiError(Exception):
    """Raise from an endpoint or a service an endpoint calls: becomes {"error", "detail"}."""

    def __init__(self, status: int, error: str, detail: str, **extra):
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail
        self.extra = extra

    def body(self) -> dict:
        return {"error": self.error, "detail": self.detail, **self.extra}


class AgentKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):
        key = agent_key_authenticate(token)
        if key is not None:
            request.agent_key = key
            request.tenant = key.tenant
        return key


def agent_actor(request: HttpRequest, agent_name: str = "") -> Actor:
    """The actor for an API write: the key's agent, named by the body when it says which."""
    return Actor.for_agent(request.agent_key, name=agent_name)
