"""Where a transaction starts, and the helpers that must never start one.

A service a view, an API endpoint, a task, a command or the demo calls is an **entry point**: it
is decorated `@transaction.atomic(durable=True)`, so it is the whole transaction — Django refuses
it inside another atomic block, and everything it writes is committed when it returns.

The pieces entry points share — opening a ticket inside a change set's submission, deciding a
ticket inside an approval with an edit, applying a change set inside a ticket decision — are
**helpers**, decorated `@within_transaction`: they write in their caller's transaction and
refuse to run outside one. Where an entry point and another entry point need the same work, both
call one helper; a helper that is also something people do on its own has an entry point beside
it, named the same with the helper's `_within` left off (`ticket_decide` is the transaction,
`ticket_decide_within` the step).

Django admin's change form and delete page run inside the admin's own transaction, so their
`save_model` / `delete_model` call the helpers; so does the agent API's `api.idempotency.
idempotent`, the transaction of every idempotent write (the key and the work commit together).
tests/test_transaction_boundaries.py keeps views, API endpoints, tasks and commands to entry
points.

Imports no app of the project.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import connection

P = ParamSpec("P")
R = TypeVar("R")


class OutsideTransaction(RuntimeError):
    """A helper was called with no transaction of the caller's around it: what it writes would
    be committed piecemeal, and a failure half way would leave half of it behind."""


def in_caller_transaction() -> bool:
    """Whether an atomic block of the program (not one of Django's TestCase, which wraps every
    database test in one) is open: a test that calls a helper bare fails as production would."""
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def within_transaction(helper: Callable[P, R]) -> Callable[P, R]:
    """Mark `helper` as a step of its caller's transaction: called outside one, it raises
    OutsideTransaction before doing anything."""

    @functools.wraps(helper)
    def inside(*args: P.args, **kwargs: P.kwargs) -> R:
        if not in_caller_transaction():
            raise OutsideTransaction(
                f"{helper.__module__}.{helper.__qualname__} runs inside its caller's transaction; "
                "call its entry point (the service without `_within`), or open the transaction "
                "first."
            )
        return helper(*args, **kwargs)

    inside.within_transaction = True  # type: ignore[attr-defined]
    return inside


def is_helper(obj: object) -> bool:
    """Whether `obj` is a function marked @within_transaction."""
    return getattr(obj, "within_transaction", False) is True
