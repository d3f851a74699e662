"""What every API router shares: bearer-key auth, the error shape and the acting agent.

Every error is JSON {"error": "<code>", "detail": "<sentence>"} with a 4xx status (CONTRACT.md).
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from agents.services import agent_key_authenticate
from audit.actors import Actor


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
