"""Bulk decisions (issue 19.6): one person approves, rejects (with one reason) or asks for changes
on many tickets of one type at once. Nothing is decided in bulk: each ticket goes through
`ticket_decide` alone — its own transaction, lock, permission and four-eyes checks, stale check
(the version the person confirmed) and audit event — and the result lists what was done and what
was refused and why. Red flags are never cleared in bulk: each is looked at on its own page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import DatabaseError

from approvals.events import lifecycle_batch
from approvals.models import Ticket
from approvals.services import ticket_decide
from approvals.types import RED_FLAG_TYPES, Verdict
from audit.actors import Actor
from config.errors import DomainError

BULK_MAX = 500


class BulkRefused(DomainError):
    code = "bulk_refused"


@dataclass(frozen=True)
class BulkOutcome:
    public_id: str
    title: str
    done: bool
    why: str = ""  # a refusal's reason, or where the ticket stands after the decision


def bulk_check(*, tickets: Sequence[Ticket], verdict: str, comment: str) -> None:
    """What refuses the whole request before any ticket is decided."""
    if verdict not in Verdict.values:
        raise BulkRefused("Choose approve, reject or request changes.")
    if not tickets:
        raise BulkRefused("Select at least one ticket.")
    if len(tickets) > BULK_MAX:
        raise BulkRefused(f"At most {BULK_MAX} tickets at once; narrow the filter.")
    types = {ticket.type for ticket in tickets}
    if len(types) > 1:
        raise BulkRefused(
            f"Select tickets of one type at a time (these are {', '.join(sorted(types))})."
        )
    if types & set(RED_FLAG_TYPES):
        raise BulkRefused(
            "Red flags (A8, A9) are never cleared in bulk: open each one and look at its run."
        )
    if verdict == Verdict.REJECT and not comment.strip():
        raise BulkRefused("Say why you reject them: each requester sees your reason.")


def tickets_decide_bulk(
    *,
    tickets: Sequence[Ticket],
    actor: Actor,
    verdict: str,
    comment: str = "",
    shown: dict[str, str] | None = None,
) -> list[BulkOutcome]:
    """Decide each ticket alone; returns one outcome per ticket, in the order given. `shown` maps
    a ticket's public id to the hash of the version the person confirmed (stale check)."""
    bulk_check(tickets=tickets, verdict=verdict, comment=comment)
    shown = shown or {}
    outcomes = []
    # One fan-out of notifications and webhooks at the end instead of one per ticket.
    with lifecycle_batch():
        for ticket in tickets:
            try:
                decided = ticket_decide(
                    ticket=ticket,
                    actor=actor,
                    verdict=verdict,
                    comment=comment,
                    shown_hash=shown.get(ticket.public_id),
                )
            except DomainError as refused:
                outcomes.append(BulkOutcome(ticket.public_id, ticket.title, False, refused.message))
            except DatabaseError:
                outcomes.append(
                    BulkOutcome(
                        ticket.public_id,
                        ticket.title,
                        False,
                        "Someone else was changing it at that moment: try it again.",
                    )
                )
            else:
                decided.refresh_from_db(fields=["status"])
                outcomes.append(
                    BulkOutcome(ticket.public_id, ticket.title, True, decided.status_label)
                )
    return outcomes
