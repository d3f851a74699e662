"""Who did something. Every write service takes `actor=` and hands it to the audit log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Actor:
    type: str  # user | agent | service | system
    id: str
    label: str = ""
    user: Any = None  # the User, when type == "user"
    agent_key: Any = None  # the AgentKey, when type == "agent"

    @classmethod
    def for_user(cls, user) -> Actor:
        return cls(type="user", id=str(user.pk), label=user.get_username(), user=user)

    @classmethod
    def for_agent(cls, agent_key, name: str = "") -> Actor:
        label = name or agent_key.name
        return cls(type="agent", id=f"key:{agent_key.pk}", label=label, agent_key=agent_key)

    @classmethod
    def service(cls, name: str) -> Actor:
        return cls(type="service", id=name, label=name)

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(type="system", id=name, label=name)

    @property
    def is_person(self) -> bool:
        """A signed-in person (not an agent, a service or the system itself)."""
        return self.type == "user"

    def __str__(self) -> str:
        return self.label or f"{self.type}:{self.id}"
