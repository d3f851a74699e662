"""Tickets for tests, opened through the real service."""

from __future__ import annotations

from approvals.services import ticket_open
from audit.actors import Actor

SYSTEM = Actor.system("tests")


def open_ticket(tenant, type: str = "A1", **kwargs):
    kwargs.setdefault("title", f"{type} ticket for tests")
    if type == "A8":
        kwargs.setdefault("red_flag", {"loop_type": "tool_rounds", "attempt_count": 6})
    if type == "A9":
        kwargs.setdefault("red_flag", {"estimated_usd": "1.20", "actual_usd": "3.60"})
    return ticket_open(tenant=tenant, type=type, actor=kwargs.pop("actor", SYSTEM), **kwargs)


class _StandIn:
    """A subject owner for tests: every id exists, no authors, it hears each outcome."""

    def __init__(self, kind: str, on_resolved):
        self.kind = kind
        self._on_resolved = on_resolved

    def exists(self, tenant, subject_id: str) -> bool:
        return True

    def lock(self, ticket) -> None:
        pass

    def authors(self, ticket) -> dict[int, str]:
        return {}

    def on_resolved(self, ticket, outcome: str, actor) -> None:
        self._on_resolved(ticket, outcome, actor)


def stand_in_subject(monkeypatch, kind: str, on_resolved) -> None:
    """Put a stand-in owner in place for subject kind `kind` (e.g. "widget"): every id exists,
    `on_resolved` hears each outcome, and the system's tickets of every type govern it."""
    from approvals import subjects, types

    monkeypatch.setitem(subjects._subjects, kind, _StandIn(kind, on_resolved))
    for type_id in types.TICKET_TYPES:
        rules = {**types.SUBJECT_RULES[type_id], kind: {types.Opener.SYSTEM: types._G}}
        monkeypatch.setitem(types.SUBJECT_RULES, type_id, rules)
