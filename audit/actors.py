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


# The system's own workers, as people read them where a page names who asked or who acted
# (the inbox's "Requested by", a ticket's facts). Agents and people keep their own names.
SYSTEM_ACTOR_WORDS = {
    "optimization.scan_triggers": "Revise-trigger scan",
    "optimization.lapse": "Lapse scan",
    "optimization.safe_apply": "Safe-apply check",
    "seed_demo": "Demo set-up",
    "qc": "QC checks",
    "cost_guard": "Cost Guard",
    "gate": "Loop gate",
    "sweep_sla": "SLA sweep",
    "webhooks": "Webhooks",
    "login-throttle": "Sign-in throttle",
    "manage.py agent_key_create": "Agent key command",
    "system": "System",
}


def actor_words(name: str) -> str:
    """A system worker's name in words ("optimization.scan_triggers" → "Revise-trigger scan");
    any other name (an agent's, a person's) as it is."""
    return SYSTEM_ACTOR_WORDS.get(name, name)
