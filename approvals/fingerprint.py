"""The exact version of a ticket a person was shown, as one hash (issue 19.5, 19.6).

A Slack message, a bulk confirmation page or any other place that shows a ticket away from its
page carries this hash with the buttons; `ticket_decide(shown_hash=...)` refuses a decision when
the ticket or what its subject's owner says about it no longer hashes the same ("stale"). It
covers what such a place shows: the title, the summary, the diff preview, the approval slots and
the subject as its owner words it now (its label and the client's words, which owners read from
the subject's current figures)."""

from __future__ import annotations

import hashlib
import json

from approvals.models import Ticket
from approvals.presentation import subject_client_words, subject_label
from config.errors import DomainError

SHOWN_HASH_LENGTH = 16


class TicketStale(DomainError):
    """The decision was made on a version of the ticket it no longer holds."""

    code = "stale"
    status = 409


def ticket_shown_hash(ticket: Ticket) -> str:
    words = subject_client_words(ticket)
    shown = {
        "id": ticket.public_id,
        "title": ticket.title,
        "summary": ticket.summary,
        "diff": ticket.diff,
        "required_roles": ticket.required_roles,
        "subject": [ticket.subject_type, ticket.subject_id, subject_label(ticket)],
        "client_words": (
            [words.title, words.kind, list(words.summary or ()), list(words.changes)]
            if words
            else None
        ),
        "red_flag": ticket.red_flag,
    }
    canonical = json.dumps(shown, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:SHOWN_HASH_LENGTH]


def refuse_if_stale(ticket: Ticket, shown_hash: str | None) -> None:
    """Refuse a decision made on a version of the ticket that is no longer the one it holds."""
    if shown_hash is None or shown_hash == ticket_shown_hash(ticket):
        return
    raise TicketStale(
        f"{ticket.public_id} changed since you saw it: open it to see what it asks now, "
        "then decide again."
    )
