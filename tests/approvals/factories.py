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


def stand_in_subject(monkeypatch, kind: str, on_resolved) -> None:
    """Put a stand-in owner in place for subject kind `kind` (e.g. "widget"): every id exists,
    `on_resolved` hears each outcome, and the system's tickets of every type govern it."""
    from approvals import registry, types

    monkeypatch.setitem(
        registry._handlers,
        kind,
        registry.SubjectHandler(kind, on_resolved, exists=lambda tenant, subject_id: True),
    )
    for type_id in types.TICKET_TYPES:
        rules = {**types.SUBJECT_RULES[type_id], kind: {types.Opener.SYSTEM: types._G}}
        monkeypatch.setitem(types.SUBJECT_RULES, type_id, rules)
