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
